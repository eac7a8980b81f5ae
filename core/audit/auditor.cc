#include "core/audit/auditor.h"

#include <algorithm>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "core/audit/checks.h"
#include "core/base/log.h"

namespace siq::audit {
namespace {

// The audit's own backup_dirs, and `siq backup`'s directory when it exists:
// the bundles siq writes are always checked.
std::vector<std::string> BackupDirs(const config::Config& config) {
  std::vector<std::string> dirs = config.audit.backup_dirs;
  std::error_code error;
  if (std::filesystem::is_directory(config.backup.directory, error) &&
      std::find(dirs.begin(), dirs.end(), config.backup.directory) ==
          dirs.end()) {
    dirs.push_back(config.backup.directory);
  }
  return dirs;
}

bool Selected(const AuditRequest& request, std::string_view id) {
  return request.only.empty() || request.only.count(id) > 0;
}

AccessOptions MakeAccessOptions(const AuditRequest& request,
                                const config::Config& config,
                                const std::vector<records::Deployment>& fleet) {
  AccessOptions options;
  options.since = request.now - request.since;
  options.service_accounts.insert(config.audit.service_accounts.begin(),
                                  config.audit.service_accounts.end());
  for (const records::Deployment& deployment : fleet) {
    if (!deployment.reader_user_id.empty()) {
      options.readers.insert(deployment.reader_user_id);
    }
    for (const auto& [kind, slot] : deployment.secrets) {
      for (const auto* version :
           {&slot.current, &slot.pending, &slot.previous}) {
        if (version->has_value() && !(*version)->ref.empty()) {
          std::string id((barbican::SecretRef((*version)->ref).id()));
          options.owners[id] =
              SecretOwner{.vps = deployment.vps.str(),
                          .kind = kind,
                          .reader_id = deployment.reader_user_id};
        }
      }
    }
  }
  return options;
}

Result<CheckResult> AccessFromLogs(
    const AuditRequest& request,
    AuditContext& context,
    const std::vector<records::Deployment>& fleet) {
  AccessOptions options = MakeAccessOptions(request, context.config, fleet);
  AccessScanner scanner(options);
  for (const std::string& path : request.audit_logs) {
    SIQ_RETURN_IF_ERROR(scanner.ScanFile(path, context.progress));
  }
  return AccessCheck(scanner.summary(), options);
}

}  // namespace

const std::vector<std::string_view>& CheckIds() {
  static const std::vector<std::string_view> kIds = {
      kUsesBarbican,     kRotationConfigured, kNoHumanAccess,
      kEncryptionAtRest, kAclLeastPrivilege,  kRecordsMatchBarbican};
  return kIds;
}

bool NeedsBarbican(const AuditRequest& request) {
  return Selected(request, kEncryptionAtRest) ||
         Selected(request, kAclLeastPrivilege) ||
         Selected(request, kRecordsMatchBarbican);
}

Result<Report> RunAudit(const AuditRequest& request, AuditContext& context) {
  auto fleet = context.store.LoadAll();
  if (!fleet.ok()) {
    return fleet.status();
  }
  log::Get("audit")->info("{} deployment records", fleet->size());
  Report report{.generated_at = request.now,
                .since = request.now - request.since};

  for (std::string_view id : CheckIds()) {
    if (!Selected(request, id)) {
      continue;
    }
    Result<CheckResult> check = Status(StatusCode::kInternal, "no check");
    if (id == kUsesBarbican) {
      check = UsesBarbicanCheck(*fleet, context.config.audit,
                                request.scan_paths, context.probe);
    } else if (id == kRotationConfigured) {
      check = RotationCheck(*fleet, context.config.secret_kinds, request.now);
    } else if (id == kNoHumanAccess) {
      check = AccessFromLogs(request, context, *fleet);
    } else if (id == kEncryptionAtRest) {
      check = EncryptionCheck(*context.session, context.records_path,
                              BackupDirs(context.config));
    } else if (id == kAclLeastPrivilege) {
      check = AclCheck(*fleet, *context.barbican);
    } else {
      check = RecordsMatchCheck(*fleet, *context.barbican);
    }
    if (!check.ok()) {
      return check.status().WithContext(fmt::format("audit check {}", id));
    }
    log::Get("audit")->info("{}: {}", id, CheckStatusName(check->status));
    report.checks.push_back(std::move(*check));
  }
  SortItems(report);
  return report;
}

}  // namespace siq::audit
