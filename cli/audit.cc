#include "cli/audit.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli/output.h"
#include "core/audit/auditor.h"
#include "core/base/iso_time.h"
#include "core/transport/curl_transport.h"

namespace siq::cli {
namespace {

constexpr char kFooter[] = R"help(
Six checks, each with a status (pass, warn, fail), its evidence and the
controls it serves: uses_barbican (no .env served by a production VPS's
endpoint from the config's audit.endpoints, none under --scan paths),
rotation_configured (every recorded secret's kind rotates; overdue ones
listed), no_human_access (successful payload reads by identities outside
audit.service_accounts and the VPS readers, from Barbican's CADF audit
events; reads through GET /v1/secrets/{id} by people are possible payload
reads and warn), encryption_at_rest (Barbican's secret stores, encrypted
backup bundles in audit.backup_dirs and backup.directory, record and
backup files mode 0600),
acl_least_privilege (each secret private to its VPS's reader) and
records_match_barbican (no orphans, no dangling refs).

Audit logs are streamed, plain or gzip; malformed lines are counted, never
fatal. Only read-only calls are made. The exit code is 5 when a check
fails, or warns with --fail-on warn.

Examples:
  $ siq audit --audit-log /var/log/barbican/audit.jsonl
  $ siq audit --since 7d --audit-log audit.jsonl.1.gz --scan /srv/app -o json
  $ siq audit --only no_human_access --audit-log audit.jsonl --fail-on warn
)help";

struct Flags {
  std::string since = "30d";
  std::vector<std::string> audit_logs;
  std::vector<std::string> scan_paths;
  std::vector<std::string> only;
  std::string fail_on = "fail";
  RecordOptions records;
  OutputFormat format = OutputFormat::kTable;
};

// A progress line on stderr, rewritten in place, when it is a terminal.
class ProgressLine {
 public:
  explicit ProgressLine(bool quiet) : on_(!quiet && isatty(2) == 1) {}
  ~ProgressLine() {
    if (shown_) {
      fmt::print(stderr, "\r\033[K");
    }
  }
  ProgressLine(const ProgressLine&) = delete;
  ProgressLine& operator=(const ProgressLine&) = delete;

  audit::Progress Callback() {
    if (!on_) {
      return {};
    }
    return [this](const std::string& path, uint64_t bytes) {
      shown_ = true;
      fmt::print(stderr, "\r\033[Ksiq audit: {}: {} MB read", path,
                 bytes >> 20);
    };
  }

 private:
  bool on_;
  bool shown_ = false;
};

void PrintTableReport(const audit::Report& report) {
  std::vector<const audit::CheckResult*> checks;
  for (const audit::CheckResult& check : report.checks) {
    checks.push_back(&check);
  }
  std::stable_sort(checks.begin(), checks.end(),
                   [](auto* a, auto* b) { return a->status > b->status; });
  std::vector<Row> rows;
  rows.reserve(checks.size());
  for (const audit::CheckResult* check : checks) {
    rows.push_back({std::string(audit::CheckStatusName(check->status)),
                    check->id, check->summary});
  }
  PrintTable({"status", "check", "summary"}, rows);

  constexpr size_t kShown = 20;
  for (const audit::CheckResult* check : checks) {
    if (check->items.empty()) {
      continue;
    }
    fmt::print("\n{} ({}; {}):\n", check->id, check->title,
               fmt::join(check->controls, "; "));
    for (size_t i = 0; i < check->items.size() && i < kShown; ++i) {
      const audit::Item& item = check->items[i];
      fmt::print("  {}  {}: {}\n", audit::CheckStatusName(item.severity),
                 item.subject, item.detail);
    }
    uint64_t more = check->items.size() -
                    std::min(check->items.size(), kShown) +
                    check->items_left_out;
    if (more > 0) {
      fmt::print("  ... and {} more (see --output json)\n", more);
    }
  }
  fmt::print("\noverall: {} (since {})\n",
             audit::CheckStatusName(audit::Overall(report)),
             FormatIso8601(report.since));
}

Result<audit::AuditRequest> MakeRequest(const Flags& flags) {
  auto since = ParseDuration(flags.since);
  if (!since.ok()) {
    return since.status().WithContext("--since");
  }
  audit::AuditRequest request{.now = DefaultClock().Now(),
                              .since = *since,
                              .audit_logs = flags.audit_logs,
                              .scan_paths = flags.scan_paths};
  request.only.insert(flags.only.begin(), flags.only.end());
  return request;
}

ExitCode RunAudit(const GlobalOptions& options, const Flags& flags) {
  auto request = MakeRequest(flags);
  if (!request.ok()) {
    return Fail(request.status());
  }
  auto records = OpenRecords(flags.records, Access::kRead);
  if (!records.ok()) {
    return Fail(records.status());
  }
  std::unique_ptr<barbican::Connection> connection;
  if (audit::NeedsBarbican(*request)) {
    auto connected = Connect(options);
    if (!connected.ok()) {
      return Fail(connected.status());
    }
    connection = std::move(*connected);
  }

  http::CurlTransport probe(TransportFrom(options));
  ProgressLine progress(options.quiet);
  audit::AuditContext context{
      .config = records->config,
      .store = *records->store,
      .records_path = records->store->path(),
      .session = connection ? &connection->session() : nullptr,
      .barbican = connection ? &connection->barbican() : nullptr,
      .probe = probe,
      .progress = progress.Callback()};
  auto report = audit::RunAudit(*request, context);
  if (!report.ok()) {
    return Fail(report.status());
  }

  if (flags.format == OutputFormat::kJson) {
    PrintJson(audit::ToJson(*report));
  } else {
    PrintTableReport(*report);
  }
  audit::CheckStatus overall = audit::Overall(*report);
  bool failed =
      overall == audit::CheckStatus::kFail ||
      (overall == audit::CheckStatus::kWarn && flags.fail_on == "warn");
  return failed ? ExitCode::kAuditFailed : ExitCode::kOk;
}

void AddAudit(CLI::App& app, GlobalOptions& options, Action& action) {
  CLI::App* command = app.add_subcommand(
      "audit", "Check compliance and report the evidence, check by check");
  command->footer(kFooter);
  auto flags = std::make_shared<Flags>();
  command
      ->add_option("--since", flags->since,
                   "the audit-log window, back from now: 30d, 12h, ...")
      ->capture_default_str()
      ->group("Command");
  command
      ->add_option("--audit-log", flags->audit_logs,
                   "Barbican CADF audit log, JSON lines, plain or gzip "
                   "(repeatable)")
      ->type_name("FILE")
      ->group("Command");
  command
      ->add_option("--scan", flags->scan_paths,
                   "a directory to search for .env files (repeatable)")
      ->type_name("PATH")
      ->group("Command");
  std::vector<std::string> ids;
  for (std::string_view id : audit::CheckIds()) {
    ids.emplace_back(id);
  }
  command
      ->add_option("--only", flags->only,
                   "run only this check (repeatable); Barbican is not "
                   "contacted unless a check needs it")
      ->check(CLI::IsMember(ids))
      ->type_name("CHECK")
      ->group("Command");
  command
      ->add_option("--fail-on", flags->fail_on,
                   "exit 5 from this status up: fail, or warn too")
      ->check(CLI::IsMember({"warn", "fail"}))
      ->capture_default_str()
      ->group("Command");
  AddRecordOptions(*command, flags->records);
  AddOutputOption(*command, flags->format);
  command->callback([&options, &action, flags] {
    action = [&options, flags] { return RunAudit(options, *flags); };
  });
}

}  // namespace

const Command kAuditCommand = {
    "audit", "Check compliance and report the evidence, check by check",
    AddAudit};

}  // namespace siq::cli
