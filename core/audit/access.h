// The evidence of check 3 (no_human_access): who read which secret, from
// Barbican's CADF audit events.
//
// An AccessScanner is fed audit logs one after another (ScanFile) and keeps
// counts and the flagged reads. Only successful reads inside the window
// count:
//
//   GET /v1/secrets/{id}/payload   a payload read, beyond doubt;
//   GET /v1/secrets/{id}           metadata, or the payload through the
//                                  legacy Accept header: the trail cannot
//                                  tell, so a possible payload read.
//
// An identity is a service when the configured service-account list names
// its id or name, or when it is the reader of a VPS in the records.
// Flagged: a payload read by a person (fail); a possible payload read by a
// person (warn); any read of a VPS's secret by another VPS's reader (fail);
// a payload read of a VPS's secret by a service account that is not its
// reader (fail). Malformed lines and unknown actions are counted, never
// fatal. A log with no event in the window warns: it proves nothing.
//
// Memory stays flat however long the logs are: lines are streamed, and at
// most `max_items` flagged reads are kept (all are counted). Not safe to
// share between threads.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/audit/event.h"
#include "core/audit/report.h"
#include "core/base/clock.h"
#include "core/base/status.h"

namespace siq::audit {

// What the records say about one secret ref.
struct SecretOwner {
  std::string vps;
  std::string kind;
  std::string reader_id;  // the VPS's reader's Keystone user id
};

struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view text) const {
    return std::hash<std::string_view>()(text);
  }
};
using OwnerMap =
    std::unordered_map<std::string, SecretOwner, StringHash, std::equal_to<>>;
using IdSet = std::set<std::string, std::less<>>;

struct AccessOptions {
  TimePoint since;         // events before this are out of the window
  IdSet service_accounts;  // ids or names
  OwnerMap owners;         // by secret id (the UUID)
  IdSet readers;           // every VPS reader's user id
  size_t max_items = 1000;
  size_t max_examples = 5;  // malformed lines quoted by number
};

// One flagged read: who, what, when, and where in which log.
struct FlaggedRead {
  CheckStatus severity = CheckStatus::kFail;
  std::string reason;
  std::string time;  // eventTime as written
  std::string initiator_id;
  std::string initiator_name;
  std::string project_id;
  std::string address;
  std::string secret_id;
  std::string vps;   // "" when the records do not know the secret
  std::string kind;  // likewise
  std::string request_path;
  std::string source;  // "file:line"
};

struct AccessCounts {
  uint64_t lines = 0;
  uint64_t events = 0;
  uint64_t before_window = 0;
  uint64_t secret_reads = 0;   // successful reads of one secret, in window
  uint64_t payload_reads = 0;  // of which through /payload
  uint64_t denied_reads = 0;   // failed reads of one secret, in window
  uint64_t unknown_actions = 0;
  uint64_t malformed = 0;
  uint64_t flagged_fail = 0;
  uint64_t flagged_warn = 0;
};

struct AccessSummary {
  AccessCounts counts;
  std::map<std::string, uint64_t> malformed_by_reason;
  std::vector<std::string> malformed_examples;           // "file:line: reason"
  std::map<std::string, uint64_t> unknown_action_names;  // at most 20
  std::vector<FlaggedRead> flagged;                      // at most max_items
  std::vector<std::string> files;
  std::vector<std::string> read_errors;  // files that ended early
};

// How far a scan has come, for a progress line.
using Progress =
    std::function<void(const std::string& path, uint64_t file_bytes)>;

class AccessScanner {
 public:
  explicit AccessScanner(AccessOptions options);

  // Streams the log at `path` (plain or gzip). Fails only when the file
  // cannot be opened (kInvalidArgument or kIoError, naming it); a read
  // error part-way is recorded in read_errors and the lines before it
  // count. `progress`, when set, is called every few megabytes.
  [[nodiscard]] Status ScanFile(const std::string& path,
                                const Progress& progress = {});

  // Feeds one line, as ScanFile does; for tests. REQUIRES: as
  // EventParser::Parse.
  void ScanLine(std::string_view line,
                size_t capacity,
                uint64_t number,
                std::string_view source);

  const AccessSummary& summary() const { return summary_; }

 private:
  void Malformed(LineError error,
                 std::string_view detail,
                 uint64_t number,
                 std::string_view source);
  void Judge(const AuditEvent& event, uint64_t number, std::string_view source);
  void Flag(CheckStatus severity,
            std::string reason,
            const AuditEvent& event,
            std::string_view secret_id,
            const SecretOwner* owner,
            uint64_t number,
            std::string_view source);

  AccessOptions options_;
  EventParser parser_;
  AccessSummary summary_;
};

// The check from a finished scan: status, summary and evidence.
CheckResult AccessCheck(const AccessSummary& summary,
                        const AccessOptions& options);

}  // namespace siq::audit
