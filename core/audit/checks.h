// The checks of `siq audit` other than the audit-log one (access.h). Each
// returns a CheckResult: its status, summary, evidence and the offending
// items. A check that cannot reach Barbican fails with the client's error
// instead: an audit that could not look is not a passed audit.
//
// Functions without state; the Barbican client and transport passed in
// must not be shared with another thread during the call.
#pragma once

#include <string>
#include <vector>

#include "core/audit/report.h"
#include "core/barbican/client.h"
#include "core/base/clock.h"
#include "core/base/status.h"
#include "core/config/config.h"
#include "core/keystone/session.h"
#include "core/records/deployment.h"
#include "core/transport/http.h"

namespace siq::audit {

// Check 1 (uses_barbican). Probes GET <endpoint>/.env of each production
// deployment with an endpoint in `settings` (any 2xx answer fails; no
// answer warns), and walks `scan_paths` without following symbolic links
// for .env files and dotenv-like names (".env.*", "*.env"; templates such
// as .env.example are counted, not flagged). Anything but a directory
// with such a name fails, named by its type: a named pipe called .env is
// reported as one, never opened. The probe's answer body is never kept.
CheckResult UsesBarbicanCheck(const std::vector<records::Deployment>& fleet,
                              const config::AuditSettings& settings,
                              const std::vector<std::string>& scan_paths,
                              http::Transport& transport);

// True for ".env", ".env.production", "app.env" and the like.
bool IsDotenvName(std::string_view name);

// Check 2 (rotation_configured): every recorded secret's kind has a
// rotation interval in `kinds` (fail otherwise); secrets past their due
// date are listed with the days overdue (warn).
CheckResult RotationCheck(const std::vector<records::Deployment>& fleet,
                          const std::vector<config::SecretKind>& kinds,
                          TimePoint now);

// Check 4 (encryption_at_rest): Barbican's secret stores when its API
// lists them (GET /v1/secret-stores; a 404 means the listing is off and is
// noted as evidence), the record file's mode (0600 or stricter), and every
// file in `backup_dirs`: a CMS enveloped or encrypted structure passes; a
// readable file holding secret refs or records fails; any file readable by
// group or others fails.
Result<CheckResult> EncryptionCheck(
    keystone::Session& session,
    const std::string& records_path,
    const std::vector<std::string>& backup_dirs);

// Check 5 (acl_least_privilege): every recorded secret (current, pending,
// previous) and container of a complete deployment is private
// (project-access off) with exactly the VPS's reader on its read ACL.
// Refs Barbican no longer has are left to check 6.
Result<CheckResult> AclCheck(const std::vector<records::Deployment>& fleet,
                             barbican::Client& barbican);

// Check 6 (records_match_barbican): secrets and containers of the project
// that no record names (orphans) and recorded refs Barbican no longer has
// (dangling) both fail. Orders are left in Barbican on purpose and are
// not inventoried.
Result<CheckResult> RecordsMatchCheck(
    const std::vector<records::Deployment>& fleet,
    barbican::Client& barbican);

}  // namespace siq::audit
