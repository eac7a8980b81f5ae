#include "core/audit/access.h"

#include <algorithm>
#include <utility>

#include <fmt/format.h>

#include "core/audit/line_reader.h"
#include "core/base/iso_time.h"
#include "core/base/log.h"

namespace siq::audit {
namespace {

constexpr uint64_t kProgressEvery = uint64_t{16} << 20;
constexpr size_t kMaxUnknownActionNames = 20;

// The actions Barbican's audit middleware writes (pyCADF's taxonomy as
// its api_audit_map uses it).
bool KnownAction(std::string_view action) {
  return action == "read" || action == "read/list" || action == "create" ||
         action == "update" || action == "delete";
}

enum class ReadKind { kNone, kPayload, kSecret };

// Which kind of read of one secret `path` is, and the secret's id.
ReadKind ClassifyPath(std::string_view path, std::string_view& secret_id) {
  path = path.substr(0, path.find('?'));
  constexpr std::string_view kPrefix = "/v1/secrets/";
  size_t at = path.find(kPrefix);
  if (at == std::string_view::npos) {
    return ReadKind::kNone;
  }
  std::string_view rest = path.substr(at + kPrefix.size());
  size_t slash = rest.find('/');
  secret_id = rest.substr(0, slash);
  if (secret_id.empty()) {
    return ReadKind::kNone;
  }
  std::string_view tail =
      slash == std::string_view::npos ? "" : rest.substr(slash);
  if (tail.empty() || tail == "/") {
    return ReadKind::kSecret;
  }
  if (tail == "/payload" || tail == "/payload/") {
    return ReadKind::kPayload;
  }
  return ReadKind::kNone;
}

bool Blank(std::string_view line) {
  return line.find_first_not_of(" \t\r") == std::string_view::npos;
}

}  // namespace

AccessScanner::AccessScanner(AccessOptions options)
    : options_(std::move(options)) {}

Status AccessScanner::ScanFile(const std::string& path,
                               const Progress& progress) {
  auto reader = LineReader::Open(path);
  if (!reader.ok()) {
    return reader.status();
  }
  summary_.files.push_back(path);
  uint64_t next_progress = kProgressEvery;
  Line line;
  while ((*reader)->Next(line)) {
    if (line.oversized) {
      ++summary_.counts.lines;
      Malformed(LineError::kOversized, "", line.number, path);
    } else {
      ScanLine(line.text, line.capacity, line.number, path);
    }
    if (progress && (*reader)->file_bytes() >= next_progress) {
      progress(path, (*reader)->file_bytes());
      next_progress = (*reader)->file_bytes() + kProgressEvery;
    }
  }
  if (!(*reader)->status().ok()) {
    summary_.read_errors.push_back((*reader)->status().message());
    log::Get("audit")->warn("{}", (*reader)->status().message());
  }
  log::Get("audit")->info("{}: {} lines read", path, line.number);
  return OkStatus();
}

void AccessScanner::ScanLine(std::string_view line,
                             size_t capacity,
                             uint64_t number,
                             std::string_view source) {
  if (Blank(line)) {
    return;
  }
  ++summary_.counts.lines;
  AuditEvent event;
  std::string_view missing;
  LineError error = parser_.Parse(line, capacity, event, missing);
  if (error != LineError::kNone) {
    Malformed(error, missing, number, source);
    return;
  }
  ++summary_.counts.events;
  Judge(event, number, source);
}

void AccessScanner::Malformed(LineError error,
                              std::string_view detail,
                              uint64_t number,
                              std::string_view source) {
  ++summary_.counts.malformed;
  std::string reason(LineErrorName(error));
  if (!detail.empty()) {
    reason = fmt::format("{} ({})", reason, detail);
  }
  if (summary_.malformed_examples.size() < options_.max_examples) {
    summary_.malformed_examples.push_back(
        fmt::format("{}:{}: {}", source, number, reason));
  }
  ++summary_.malformed_by_reason[std::move(reason)];
}

void AccessScanner::Judge(const AuditEvent& event,
                          uint64_t number,
                          std::string_view source) {
  AccessCounts& counts = summary_.counts;
  if (!KnownAction(event.action)) {
    ++counts.unknown_actions;
    auto& names = summary_.unknown_action_names;
    if (names.size() < kMaxUnknownActionNames ||
        names.count(std::string(event.action)) > 0) {
      ++names[std::string(event.action)];
    }
    return;
  }
  if (event.time < options_.since) {
    ++counts.before_window;
    return;
  }
  std::string_view secret_id;
  ReadKind kind = event.action == "read"
                      ? ClassifyPath(event.request_path, secret_id)
                      : ReadKind::kNone;
  if (kind == ReadKind::kNone) {
    return;
  }
  if (event.outcome == "failure") {
    ++counts.denied_reads;
    return;
  }
  if (event.outcome != "success") {
    return;  // the "pending" half of the pair
  }
  ++counts.secret_reads;
  bool payload = kind == ReadKind::kPayload;
  if (payload) {
    ++counts.payload_reads;
  }

  auto found = options_.owners.find(secret_id);
  const SecretOwner* owner =
      found == options_.owners.end() ? nullptr : &found->second;
  std::string_view who = event.initiator_id;
  if (owner != nullptr && who == owner->reader_id) {
    return;  // the VPS reading its own secret
  }
  if (options_.readers.count(who) > 0) {
    if (owner != nullptr) {
      Flag(CheckStatus::kFail, "read by another VPS's reader", event, secret_id,
           owner, number, source);
    }
    return;
  }
  bool service = options_.service_accounts.count(who) > 0 ||
                 options_.service_accounts.count(event.initiator_name) > 0;
  if (service) {
    if (owner != nullptr && payload) {
      Flag(CheckStatus::kFail,
           "payload read by a service account that is not the VPS's reader",
           event, secret_id, owner, number, source);
    }
    return;
  }
  if (payload) {
    Flag(CheckStatus::kFail, "payload read by a person", event, secret_id,
         owner, number, source);
  } else {
    Flag(CheckStatus::kWarn,
         "possible payload read by a person (GET /v1/secrets/{id}: metadata, "
         "or the payload through the legacy Accept header)",
         event, secret_id, owner, number, source);
  }
}

void AccessScanner::Flag(CheckStatus severity,
                         std::string reason,
                         const AuditEvent& event,
                         std::string_view secret_id,
                         const SecretOwner* owner,
                         uint64_t number,
                         std::string_view source) {
  AccessCounts& counts = summary_.counts;
  ++(severity == CheckStatus::kFail ? counts.flagged_fail
                                    : counts.flagged_warn);
  if (summary_.flagged.size() >= options_.max_items) {
    return;
  }
  summary_.flagged.push_back(
      FlaggedRead{.severity = severity,
                  .reason = std::move(reason),
                  .time = std::string(event.event_time),
                  .initiator_id = std::string(event.initiator_id),
                  .initiator_name = std::string(event.initiator_name),
                  .project_id = std::string(event.project_id),
                  .address = std::string(event.address),
                  .secret_id = std::string(secret_id),
                  .vps = owner != nullptr ? owner->vps : "",
                  .kind = owner != nullptr ? owner->kind : "",
                  .request_path = std::string(event.request_path),
                  .source = fmt::format("{}:{}", source, number)});
}

CheckResult AccessCheck(const AccessSummary& summary,
                        const AccessOptions& options) {
  CheckResult check = NewCheck(kNoHumanAccess);
  const AccessCounts& counts = summary.counts;
  check.evidence = {{"audit_logs", summary.files},
                    {"window_start", FormatIso8601(options.since)},
                    {"service_accounts", options.service_accounts},
                    {"lines", counts.lines},
                    {"events", counts.events},
                    {"events_before_window", counts.before_window},
                    {"secret_reads", counts.secret_reads},
                    {"payload_reads", counts.payload_reads},
                    {"denied_reads", counts.denied_reads},
                    {"flagged_fail", counts.flagged_fail},
                    {"flagged_warn", counts.flagged_warn},
                    {"malformed_lines", counts.malformed},
                    {"malformed_by_reason", summary.malformed_by_reason},
                    {"malformed_examples", summary.malformed_examples},
                    {"unknown_actions", counts.unknown_actions},
                    {"unknown_action_names", summary.unknown_action_names},
                    {"read_errors", summary.read_errors}};

  for (const FlaggedRead& read : summary.flagged) {
    std::string who =
        read.initiator_name.empty()
            ? read.initiator_id
            : fmt::format("{} ({})", read.initiator_name, read.initiator_id);
    std::string what =
        read.vps.empty()
            ? fmt::format("secret {}", read.secret_id)
            : fmt::format("{}'s {} ({})", read.vps, read.kind, read.secret_id);
    check.items.push_back(
        Item{.severity = read.severity,
             .subject = what,
             .detail = fmt::format("{} at {}: {}", who, read.time, read.reason),
             .fields = {{"reason", read.reason},
                        {"time", read.time},
                        {"initiator_id", read.initiator_id},
                        {"initiator_name", read.initiator_name},
                        {"project_id", read.project_id},
                        {"address", read.address},
                        {"secret_id", read.secret_id},
                        {"vps", read.vps},
                        {"kind", read.kind},
                        {"request_path", read.request_path},
                        {"source", read.source}}});
  }
  check.items_left_out =
      counts.flagged_fail + counts.flagged_warn - summary.flagged.size();

  if (summary.files.empty()) {
    Raise(check, CheckStatus::kWarn);
    check.summary = "no audit log given (--audit-log): reads not checked";
    return check;
  }
  // An empty trail proves nothing: audit logging may be off, or the
  // wrong file given.
  bool silent = counts.events == counts.before_window;
  if (counts.flagged_fail > 0) {
    Raise(check, CheckStatus::kFail);
  } else if (counts.flagged_warn > 0 || !summary.read_errors.empty() ||
             silent) {
    Raise(check, CheckStatus::kWarn);
  }
  check.summary = fmt::format(
      "{} secret reads ({} payload) in {} events; {} flagged as failing, {} "
      "as possible; {} malformed lines",
      counts.secret_reads, counts.payload_reads, counts.events,
      counts.flagged_fail, counts.flagged_warn, counts.malformed);
  if (silent) {
    check.summary += "; no event in the window: is audit logging on?";
  }
  return check;
}

}  // namespace siq::audit
