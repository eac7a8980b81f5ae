#include "core/recover/ladder.h"

#include <algorithm>
#include <set>
#include <utility>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/base/failpoint.h"
#include "core/base/iso_time.h"
#include "core/base/log.h"
#include "core/provision/container_steps.h"
#include "core/provision/provisioner.h"
#include "core/rotate/plan.h"

namespace siq::recover {
namespace {

using barbican::Acl;
using barbican::ContainerEntry;
using barbican::ContainerRef;
using barbican::SecretRef;
using records::Deployment;
using records::SecretSlot;

std::shared_ptr<spdlog::logger> Logger() {
  static auto logger = log::Get("recover");
  return logger;
}

bool SameEntries(std::vector<ContainerEntry> a, std::vector<ContainerEntry> b) {
  auto order = [](const ContainerEntry& x, const ContainerEntry& y) {
    return std::tie(x.name, x.ref) < std::tie(y.name, y.ref);
  };
  std::sort(a.begin(), a.end(), order);
  std::sort(b.begin(), b.end(), order);
  return a == b;
}

// The entries a VPS's container holds for `record`: each kind's current
// secret, and while a rotation runs its pending secret (told to the VPS,
// not yet promoted) or its previous one (promoted, in its grace period).
// Recover must keep those: taking them out would cut a rotation short.
std::vector<ContainerEntry> ContainerEntries(const Deployment& record) {
  std::vector<ContainerEntry> entries;
  for (const auto& [kind, slot] : record.secrets) {
    if (slot.current && !slot.current->ref.empty()) {
      entries.push_back({kind, SecretRef(slot.current->ref)});
    }
    std::string_view state = slot.rotation_state;
    if (slot.pending &&
        (state == rotate::state::kTold || state == rotate::state::kConfirmed)) {
      entries.push_back({kind, SecretRef(slot.pending->ref)});
    }
    if (slot.previous && state == rotate::state::kPromoted) {
      entries.push_back({kind, SecretRef(slot.previous->ref)});
    }
  }
  return entries;
}

// Whether `held` is what the container should hold for `record`. A retiring
// rotation takes the previous secret out first: with or without it fits.
bool ContainerFits(std::vector<ContainerEntry> held, const Deployment& record) {
  for (const auto& [kind, slot] : record.secrets) {
    if (slot.previous && slot.rotation_state == rotate::state::kRetiring) {
      ContainerEntry retiring{kind, SecretRef(slot.previous->ref)};
      held.erase(std::remove(held.begin(), held.end(), retiring), held.end());
    }
  }
  return SameEntries(std::move(held), ContainerEntries(record));
}

// The record as it is once recovered, for comparing with the stored one.
Deployment Settled(Deployment record) {
  record.state = std::string(records::kStateComplete);
  record.updated_at = {};
  return record;
}

}  // namespace

std::string_view RungName(Rung rung) {
  switch (rung) {
    case Rung::kNothingToDo:
      return "nothing to do";
    case Rung::kRebuild:
      return "rebuild";
    case Rung::kReprovision:
      return "re-provision";
  }
  return "unknown";
}

// One diagnosis: reads the record, the bundle and Barbican, and fills in
// the Diagnosis step by step.
class Recoverer::Check {
 public:
  Check(Recoverer& owner, Diagnosis& out) : owner_(owner), out_(out) {}

  [[nodiscard]] Status Records(const backup::Bundle* bundle) {
    auto stored = owner_.store_.Load(out_.vps);
    if (!stored.ok()) {
      return stored.status();
    }
    stored_ = std::move(*stored);
    if (bundle != nullptr) {
      bundled_ = bundle->Find(out_.vps);
      out_.backup_created_at = bundle->created_at;
    }
    if (!stored_ && bundled_ == nullptr) {
      return Status(StatusCode::kNotFound,
                    fmt::format("no record of {} in the record file{}; "
                                "recover it from a backup with "
                                "--from-backup FILE",
                                out_.vps.str(),
                                bundle != nullptr ? " nor in the backup" : ""));
    }
    out_.target = stored_ ? *stored_ : *bundled_;
    if (!stored_) {
      out_.record_from_backup = true;
      Find(
          fmt::format("the record file has no record of {}; the backup of "
                      "{} has one",
                      out_.vps.str(), out_.backup_created_at));
    } else if (stored_->state != records::kStateComplete) {
      Find(fmt::format("the record of {} is in state '{}'", out_.vps.str(),
                       stored_->state));
    }
    return OkStatus();
  }

  // For each kind, the first candidate ref that Barbican still holds under
  // the kind's name: the record's, the backup's, then a lookup by name.
  [[nodiscard]] Status Secrets() {
    for (const config::SecretKind& kind : owner_.kinds_) {
      SIQ_RETURN_IF_ERROR(Secret(kind));
    }
    return OkStatus();
  }

  [[nodiscard]] Status Container() {
    std::vector<std::string> candidates;
    if (stored_ && !stored_->container_ref.empty()) {
      candidates.push_back(stored_->container_ref);
    }
    if (bundled_ != nullptr && !bundled_->container_ref.empty()) {
      candidates.push_back(bundled_->container_ref);
    }
    for (const std::string& ref : candidates) {
      auto got = owner_.barbican_.GetContainer(ContainerRef(ref));
      if (got.ok()) {
        container_ = std::move(*got);
        break;
      }
      if (got.status().code() != StatusCode::kNotFound) {
        return got.status();
      }
    }
    if (!container_) {
      // The deployment account may list containers (a reader may not).
      auto found = owner_.barbican_.ListContainers(out_.target.container_name);
      if (!found.ok()) {
        return found.status();
      }
      if (!found->empty()) {
        container_ = found->front();
      }
    }
    if (!container_) {
      Find(fmt::format("the container {} is gone", out_.target.container_name));
      out_.target.container_ref.clear();
      return OkStatus();
    }
    out_.container_ref = container_->ref.url();
    if (out_.target.container_ref != out_.container_ref) {
      Find(fmt::format("the record names container {}, Barbican holds {}",
                       out_.target.container_ref.empty()
                           ? "none"
                           : out_.target.container_ref,
                       out_.container_ref));
      out_.target.container_ref = out_.container_ref;
    }
    if (!ContainerFits(container_->secrets, out_.target)) {
      container_ok_ = false;
      Find(
          fmt::format("the container {} does not hold exactly the {} "
                      "secret refs of the record",
                      out_.container_ref, owner_.kinds_.size()));
    }
    return OkStatus();
  }

  [[nodiscard]] Status Acls() {
    Acl wanted{.read_users = {out_.target.reader_user_id},
               .project_access = false};
    for (const auto& [kind, slot] : out_.target.secrets) {
      if (!slot.current || slot.current->ref.empty()) {
        continue;
      }
      auto acl = owner_.barbican_.GetSecretAcl(SecretRef(slot.current->ref));
      if (!acl.ok()) {
        return acl.status();
      }
      if (*acl != wanted) {
        acls_ok_ = false;
        Find(
            fmt::format("{}: the read ACL is not the reader alone", slot.name));
      }
    }
    if (container_) {
      auto acl = owner_.barbican_.GetContainerAcl(container_->ref);
      if (!acl.ok()) {
        return acl.status();
      }
      if (*acl != wanted) {
        acls_ok_ = false;
        Find(fmt::format("the container's read ACL is not the reader alone"));
      }
    }
    return OkStatus();
  }

  void Decide() {
    bool interrupted = stored_ &&
                       stored_->state == records::kStateProvisioning &&
                       stored_->recovered_at.has_value();
    bool record_ok = stored_ && Settled(*stored_) == Settled(out_.target) &&
                     stored_->state == records::kStateComplete;
    if (!out_.lost.empty() || interrupted) {
      out_.rung = Rung::kReprovision;
      out_.resumed = interrupted;
      if (interrupted && out_.lost.empty()) {
        Find("an earlier re-provisioning was interrupted");
      }
    } else if (record_ok && container_ && container_ok_ && acls_ok_) {
      out_.rung = Rung::kNothingToDo;
    } else {
      out_.rung = Rung::kRebuild;
    }
    Plan();
  }

 private:
  void Find(std::string finding) {
    Logger()->info("{}: {}", out_.vps.str(), finding);
    out_.findings.push_back(std::move(finding));
  }

  void Call(std::string_view method,
            std::string_view path,
            std::string_view what) {
    out_.plan.push_back(fmt::format("{} {}  {}", method, path, what));
  }

  // Whether Barbican holds `ref` as the secret named `name`.
  Result<bool> Holds(const std::string& ref, const std::string& name) {
    auto meta = owner_.barbican_.GetSecret(SecretRef(ref));
    if (meta.ok()) {
      return meta->name == name;
    }
    if (meta.status().code() == StatusCode::kNotFound) {
      return false;
    }
    return meta.status();
  }

  [[nodiscard]] Status Secret(const config::SecretKind& kind) {
    std::string name = config::SecretName(out_.vps.str(), kind.kind);
    SecretSlot& slot = out_.target.secrets[kind.kind];
    if (slot.kind.empty()) {
      slot = SecretSlot{.kind = kind.kind,
                        .name = name,
                        .due_at = owner_.clock_.Now() + kind.rotate_every};
    }
    std::vector<std::string> candidates;
    const Deployment* stored = stored_ ? &*stored_ : nullptr;
    for (const Deployment* record : {stored, bundled_}) {
      if (record == nullptr) {
        continue;
      }
      auto it = record->secrets.find(kind.kind);
      if (it != record->secrets.end() && it->second.current &&
          !it->second.current->ref.empty()) {
        candidates.push_back(it->second.current->ref);
      }
    }

    std::string recorded = candidates.empty() ? "" : candidates.front();
    std::optional<std::string> chosen;
    for (const std::string& ref : candidates) {
      auto holds = Holds(ref, name);
      if (!holds.ok()) {
        return holds.status();
      }
      if (*holds) {
        chosen = ref;
        break;
      }
    }
    if (!chosen) {
      auto found = owner_.barbican_.FindSecretsNamed(name);
      if (!found.ok()) {
        return found.status();
      }
      if (!found->empty()) {
        chosen = found->front().ref.url();  // the oldest, as provision keeps
      }
    }

    if (!chosen) {
      out_.lost.push_back(kind.kind);
      slot.current.reset();
      Find(recorded.empty()
               ? fmt::format("{}: no secret in Barbican", name)
               : fmt::format("{}: the secret {} is gone", name, recorded));
      return OkStatus();
    }
    bool recorded_in_file =
        stored_ && stored_->secrets.count(kind.kind) != 0 &&
        stored_->secrets.at(kind.kind).current &&
        stored_->secrets.at(kind.kind).current->ref == *chosen;
    if (stored_ && !recorded_in_file) {
      Find(fmt::format("{}: the record names {}, Barbican holds {}", name,
                       recorded.empty() ? "no secret" : recorded, *chosen));
    }
    if (!slot.current || slot.current->ref != *chosen) {
      slot.current = records::SecretVersion{.ref = *chosen,
                                            .created_at = owner_.clock_.Now()};
    }
    return OkStatus();
  }

  void Plan() {
    const std::string& vps = out_.vps.str();
    const std::string& name = out_.target.container_name;
    if (out_.rung == Rung::kNothingToDo) {
      return;
    }
    Call("write", "record",
         out_.record_from_backup
             ? fmt::format("restore {} from the backup of {}", vps,
                           out_.backup_created_at)
             : fmt::format("{} with the refs Barbican holds", vps));
    if (out_.rung == Rung::kReprovision) {
      for (const std::string& kind : out_.lost) {
        Call("POST", "/v1/orders",
             "key order " + config::SecretName(vps, kind));
      }
    }
    if (!container_) {
      Call("POST", "/v1/containers",
           fmt::format("container {} with the same {} secret refs", name,
                       ContainerEntries(out_.target).size()));
    } else if (!container_ok_ || out_.rung == Rung::kReprovision) {
      Call("POST|DELETE", "/v1/containers/{id}/secrets",
           fmt::format("entries of {} made to match the record", name));
    }
    for (const auto& [kind, slot] : out_.target.secrets) {
      Call("PUT", "/v1/secrets/{id}/acl", slot.name);
    }
    Call("PUT", "/v1/containers/{id}/acl", name);
    if (out_.rung == Rung::kReprovision) {
      Call("write", "record", "recovered_at, state complete");
      Call("notify", "customer",
           fmt::format("{}: all users must re-authenticate", vps));
    } else {
      Call("write", "record", "state complete");
    }
  }

  Recoverer& owner_;
  Diagnosis& out_;
  std::optional<Deployment> stored_;
  const Deployment* bundled_ = nullptr;
  std::optional<barbican::Container> container_;
  bool container_ok_ = true;
  bool acls_ok_ = true;
};

Recoverer::Recoverer(barbican::Client& barbican,
                     records::RecordStore& store,
                     provision::Readers& readers,
                     std::vector<config::SecretKind> kinds,
                     notify::Notifier& notifier,
                     Clock& clock)
    : barbican_(barbican),
      store_(store),
      readers_(readers),
      kinds_(std::move(kinds)),
      notifier_(notifier),
      clock_(clock) {}

Result<Diagnosis> Recoverer::Diagnose(const records::VpsId& vps,
                                      const backup::Bundle* bundle) {
  Diagnosis diagnosis{.vps = vps, .target = Deployment{.vps = vps}};
  Check check(*this, diagnosis);
  SIQ_RETURN_IF_ERROR(check.Records(bundle));
  SIQ_RETURN_IF_ERROR(check.Secrets());
  SIQ_RETURN_IF_ERROR(check.Container());
  SIQ_RETURN_IF_ERROR(check.Acls());
  check.Decide();
  Logger()->info("{}: rung {} ({}), {} findings", vps.str(),
                 static_cast<int>(diagnosis.rung), RungName(diagnosis.rung),
                 diagnosis.findings.size());
  return diagnosis;
}

Status Recoverer::SaveRecord(const Deployment& record) {
  Deployment saved = record;
  saved.updated_at = clock_.Now();
  return store_.Update(record.vps, [&saved](std::optional<Deployment>& stored) {
    stored = saved;
    return OkStatus();
  });
}

// Rung 2: the record first (so a crash leaves it naming the refs), then the
// container and ACLs, then the record marked complete.
Status Recoverer::Rebuild(const Diagnosis& diagnosis, Report& report) {
  Deployment& record = report.record;
  record = diagnosis.target;
  record.state = std::string(records::kStateProvisioning);
  SIQ_RETURN_IF_ERROR(SaveRecord(record));
  report.calls.push_back("write record  " + record.vps.str());
  Failpoint("recover.after-record");

  std::vector<ContainerEntry> entries = ContainerEntries(record);
  std::vector<std::pair<std::string, SecretRef>> secrets;
  for (const auto& [kind, slot] : record.secrets) {
    secrets.emplace_back(slot.name, SecretRef(slot.current->ref));
  }
  auto container = provision::EnsureContainer(
      barbican_, record.container_name, diagnosis.container_ref, entries,
      provision::ExtraEntries::kRemove, report.calls);
  if (!container.ok()) {
    return container.status();
  }
  record.container_ref = container->url();
  SIQ_RETURN_IF_ERROR(SaveRecord(record));
  Failpoint("recover.after-container");

  SIQ_RETURN_IF_ERROR(provision::EnsureReadAcls(
      barbican_, secrets, record.container_name, *container,
      record.reader_user_id, report.calls));
  record.state = std::string(records::kStateComplete);
  return SaveRecord(record);
}

// Rung 3: the lost kinds emptied in the record (marked as a recovery in
// progress), the provisioner run for them, the container made exact, the
// record stamped, the customer told.
Status Recoverer::Reprovision(const Diagnosis& diagnosis, Report& report) {
  Deployment record = diagnosis.target;
  for (const std::string& kind : diagnosis.lost) {
    SecretSlot& slot = record.secrets[kind];
    slot = SecretSlot{.kind = slot.kind, .name = slot.name};
  }
  record.container_ref = diagnosis.container_ref;
  record.state = std::string(records::kStateProvisioning);
  // A resumed run keeps the time its first attempt began; a new loss is a
  // new recovery.
  if (!diagnosis.resumed || !record.recovered_at) {
    record.recovered_at = clock_.Now();
  }
  SIQ_RETURN_IF_ERROR(SaveRecord(record));
  report.calls.push_back("write record  " + record.vps.str() +
                         " (re-provisioning)");
  Failpoint("recover.before-provision");

  provision::Provisioner provisioner(barbican_, store_, readers_, kinds_,
                                     clock_);
  provision::Request request{
      .vps = record.vps,
      .organization = record.organization,
      .environment = record.environment,
      .region = record.region,
      .reader = {.mode = provision::ReaderChoice::Mode::kExisting,
                 .user = record.reader_user_id}};
  auto provisioned = provisioner.Run(request, provision::DryRun::kNo);
  if (!provisioned.ok()) {
    return provisioned.status();
  }
  report.calls.insert(report.calls.end(), provisioned->calls.begin(),
                      provisioned->calls.end());
  record = provisioned->deployment;

  // Entries of deleted secrets that Barbican kept would confuse the VPS.
  std::vector<ContainerEntry> entries = ContainerEntries(record);
  auto container = provision::EnsureContainer(
      barbican_, record.container_name, record.container_ref, entries,
      provision::ExtraEntries::kRemove, report.calls);
  if (!container.ok()) {
    return container.status();
  }
  record.container_ref = container->url();
  SIQ_RETURN_IF_ERROR(SaveRecord(record));
  report.record = record;
  NotifyCustomer(diagnosis, report);
  return OkStatus();
}

void Recoverer::NotifyCustomer(const Diagnosis& diagnosis, Report& report) {
  const Deployment& record = report.record;
  std::vector<std::string> names;
  for (const std::string& kind : diagnosis.lost) {
    names.push_back(config::SecretName(record.vps.str(), kind));
  }
  notify::Event event{
      .type = notify::EventType::kCustomerReauth,
      .audience = "customer",
      .vps = record.vps.str(),
      .subject = fmt::format("{}: secrets re-created; all users must sign "
                             "in again",
                             record.vps.str()),
      .text = fmt::format(
          "The secrets of {} (organisation {}) were lost and have been "
          "re-created on {}: {}.\nSessions and tokens signed with the old "
          "secrets are no longer valid: all users must re-authenticate.\n",
          record.vps.str(), record.organization,
          record.recovered_at ? FormatIso8601(*record.recovered_at) : "",
          names.empty() ? "resumed re-provisioning"
                        : fmt::format("{}", fmt::join(names, ", "))),
      .fields = {
          {"kinds", diagnosis.lost},
          {"organization", record.organization},
          {"container_ref", record.container_ref},
          {"recovered_at",
           record.recovered_at ? FormatIso8601(*record.recovered_at) : ""}}};
  for (const notify::Delivery& delivery : notifier_.Send(event)) {
    report.notice.push_back({.channel = delivery.channel,
                             .ok = delivery.status.ok(),
                             .error = delivery.status.message()});
    if (!delivery.status.ok()) {
      Logger()->warn("{}: customer notice through {} failed: {}",
                     record.vps.str(), delivery.channel,
                     delivery.status.message());
    }
  }
  if (report.notice.empty()) {
    report.notice_unsent = true;
    Logger()->warn(
        "{}: no notification channel serves the audience "
        "'customer': tell organisation {} yourself that all users "
        "of {} must re-authenticate",
        record.vps.str(), record.organization, record.vps.str());
  }
}

Result<Report> Recoverer::Act(const Diagnosis& diagnosis) {
  Report report{.diagnosis = diagnosis, .record = diagnosis.target};
  switch (diagnosis.rung) {
    case Rung::kNothingToDo:
      return report;
    case Rung::kRebuild:
      SIQ_RETURN_IF_ERROR(Rebuild(diagnosis, report));
      break;
    case Rung::kReprovision:
      SIQ_RETURN_IF_ERROR(Reprovision(diagnosis, report));
      break;
  }
  Logger()->info("{}: {} done, {} calls", diagnosis.vps.str(),
                 RungName(diagnosis.rung), report.calls.size());
  return report;
}

}  // namespace siq::recover
