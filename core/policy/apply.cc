#include "core/policy/apply.h"

#include <algorithm>
#include <utility>

#include <fmt/format.h>

#include "core/base/log.h"

namespace siq::policy {
namespace {

using barbican::Acl;

// One object of a VPS whose ACL is checked.
struct Target {
  std::string resource;
  std::string ref;
  bool container = false;
  std::string name;  // the Barbican name, from the record
};

std::vector<Target> TargetsOf(const records::Deployment& deployment) {
  std::vector<Target> targets;
  if (!deployment.container_ref.empty()) {
    targets.push_back({"container", deployment.container_ref, true,
                       deployment.container_name});
  }
  for (const auto& [kind, slot] : deployment.secrets) {
    for (const auto& [version, label] :
         {std::pair{&slot.current, ""}, std::pair{&slot.pending, " (pending)"},
          std::pair{&slot.previous, " (previous)"}}) {
      if (version->has_value() && !(*version)->ref.empty()) {
        targets.push_back({kind + label, (*version)->ref, false, slot.name});
      }
    }
  }
  return targets;
}

// What must change to turn `acl` into the private ACL with `reader` alone.
std::vector<std::string> Differences(const Acl& acl,
                                     const std::string& reader) {
  std::vector<std::string> changes;
  if (acl.project_access) {
    changes.emplace_back("project-access was true");
  }
  for (const std::string& user : acl.read_users) {
    if (user != reader) {
      changes.push_back(fmt::format("user {} removed", user));
    }
  }
  if (std::find(acl.read_users.begin(), acl.read_users.end(), reader) ==
      acl.read_users.end()) {
    changes.push_back(fmt::format("reader {} added", reader));
  }
  return changes;
}

bool IsPolicyDenial(const Status& status) {
  return status.code() == StatusCode::kPermissionDenied &&
         status.http_status() == 0;
}

// Checks one object; a drift or failure to report, or nothing when its ACL
// is right. A policy denial is returned as the error.
Result<std::optional<AclDrift>> CheckOne(barbican::Client& client,
                                         const std::string& vps,
                                         const std::string& reader,
                                         const Target& target,
                                         DryRun dry_run) {
  AclDrift drift{.vps = vps, .resource = target.resource, .ref = target.ref};
  if (target.container) {
    client.NoteName(barbican::ContainerRef(target.ref).id(), target.name);
  } else {
    client.NoteName(barbican::SecretRef(target.ref).id(), target.name);
  }
  auto acl = target.container
                 ? client.GetContainerAcl(barbican::ContainerRef(target.ref))
                 : client.GetSecretAcl(barbican::SecretRef(target.ref));
  if (!acl.ok()) {
    if (IsPolicyDenial(acl.status())) {
      return acl.status();
    }
    drift.outcome = AclDrift::Outcome::kFailed;
    drift.status = acl.status();
    return {std::move(drift)};
  }

  drift.changes = Differences(*acl, reader);
  if (drift.changes.empty()) {
    return {std::nullopt};
  }
  if (dry_run == DryRun::kYes) {
    drift.outcome = AclDrift::Outcome::kWouldFix;
    return {std::move(drift)};
  }

  Acl wanted{.read_users = {reader}, .project_access = false};
  Status set =
      target.container
          ? client.SetContainerAcl(barbican::ContainerRef(target.ref), wanted)
          : client.SetSecretAcl(barbican::SecretRef(target.ref), wanted);
  if (IsPolicyDenial(set)) {
    return set;
  }
  if (!set.ok()) {
    drift.outcome = AclDrift::Outcome::kFailed;
    drift.status = set;
  }
  return {std::move(drift)};
}

}  // namespace

std::string_view OutcomeName(AclDrift::Outcome outcome) {
  switch (outcome) {
    case AclDrift::Outcome::kFixed:
      return "fixed";
    case AclDrift::Outcome::kWouldFix:
      return "would fix";
    case AclDrift::Outcome::kFailed:
      return "failed";
  }
  return "failed";
}

int ApplyReport::failed() const {
  return static_cast<int>(
      std::count_if(drifts.begin(), drifts.end(), [](const AclDrift& drift) {
        return drift.outcome == AclDrift::Outcome::kFailed;
      }));
}

Result<ApplyReport> ApplyAcls(
    barbican::Client& client,
    const std::vector<records::Deployment>& deployments,
    DryRun dry_run) {
  ApplyReport report{.dry_run = dry_run};
  for (const records::Deployment& deployment : deployments) {
    const std::string& vps = deployment.vps.str();
    if (deployment.state != records::kStateComplete) {
      report.skipped.push_back(vps);
      continue;
    }
    ++report.vps_checked;
    if (deployment.reader_user_id.empty()) {
      report.drifts.push_back(
          {.vps = vps,
           .resource = "reader",
           .outcome = AclDrift::Outcome::kFailed,
           .status = Status(StatusCode::kCorrupt,
                            fmt::format("{}: the record names no reader; "
                                        "re-run siq provision",
                                        vps))});
      continue;
    }

    for (const Target& target : TargetsOf(deployment)) {
      ++report.acls_checked;
      auto drift =
          CheckOne(client, vps, deployment.reader_user_id, target, dry_run);
      if (!drift.ok()) {
        return drift.status().WithContext(
            fmt::format("applying the policies to {}", vps));
      }
      if (*drift) {
        log::Get("policy")->info("{} {}: {} ({})", vps, target.resource,
                                 OutcomeName((*drift)->outcome),
                                 fmt::join((*drift)->changes, ", "));
        report.drifts.push_back(std::move(**drift));
      }
    }
  }
  return report;
}

}  // namespace siq::policy
