// The audit as a whole: runs the chosen checks of `siq audit` in their
// fixed order over one read of the record store, and returns the report.
//
// Side effects: reads the record store and the given files; makes
// read-only calls to Barbican (lists, ACLs, secret stores) and HTTP probes
// of configured endpoints. Changes nothing anywhere. Not safe to share the
// context between threads.
#pragma once

#include <chrono>
#include <set>
#include <string>
#include <vector>

#include "core/audit/access.h"
#include "core/audit/report.h"
#include "core/barbican/client.h"
#include "core/base/status.h"
#include "core/config/config.h"
#include "core/keystone/session.h"
#include "core/records/store.h"
#include "core/transport/http.h"

namespace siq::audit {

struct AuditRequest {
  TimePoint now;
  std::chrono::seconds since = std::chrono::days(30);
  std::vector<std::string> audit_logs;  // plain or gzip
  std::vector<std::string> scan_paths;
  std::set<std::string, std::less<>> only;  // check ids; empty: every check
};

// The check ids, in the report's order.
const std::vector<std::string_view>& CheckIds();

// Whether the checks `request` selects need Barbican (4, 5 and 6 do).
bool NeedsBarbican(const AuditRequest& request);

struct AuditContext {
  const config::Config& config;
  records::RecordStore& store;
  std::string records_path;  // for the file mode check
  // Null when NeedsBarbican() is false.
  keystone::Session* session = nullptr;
  barbican::Client* barbican = nullptr;
  http::Transport& probe;  // for the /.env probes
  Progress progress;       // optional, for the audit logs
};

// Runs the selected checks. Fails when the records cannot be read, an
// audit log cannot be opened (kInvalidArgument naming it), or Barbican
// cannot be asked (its error, naming the call); a failing check is not an
// error but a result in the report.
[[nodiscard]] Result<Report> RunAudit(const AuditRequest& request,
                                      AuditContext& context);

}  // namespace siq::audit
