// The audit-log side of `siq audit`: reading CADF lines (real ones from the
// local stack's Barbican, and broken ones), the window, and which reads are
// flagged.

#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "core/audit/access.h"
#include "core/audit/line_reader.h"
#include "core/base/iso_time.h"

namespace siq::audit {
namespace {

constexpr char kSecret[] = "56990702-ba61-4fa7-889c-219ff175cace";
constexpr char kOther[] = "11111111-2222-3333-4444-555555555555";
constexpr char kAdminId[] = "dded651dc4c84b37b48f999c2c7898ce";
constexpr char kReaderA[] = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
constexpr char kReaderB[] = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
constexpr char kDeployer[] = "0af329315dba4aeda746f5d88a8b07b9";

// A line as the local stack's Barbican wrote it (a payload read by admin).
std::string RealLine() {
  return R"({"message_id": "047a6b90-8fe6-4bd6-a40a-897e9a6ef44c", )"
         R"("publisher_id": "__main__.py", "event_type": )"
         R"("audit.http.response", "priority": "INFO", "payload": )"
         R"({"typeURI": "http://schemas.dmtf.org/cloud/audit/1.0/)"
         R"(event", "eventType": "activity", "id": )"
         R"("9eb707e1-2873-5133-ae97-73603d60f33b", "eventTime": )"
         R"("2026-12-03T16:13:28.348241+0000", "action": "read", )"
         R"("outcome": "success", "observer": {"id": "target"}, )"
         R"("initiator": {"id": "dded651dc4c84b37b48f999c2c7898ce", )"
         R"("typeURI": "service/security/account/user", "name": )"
         R"("admin", "credential": {"token": "***", "identity_status": )"
         R"("Confirmed"}, "host": {"address": "127.0.0.1", "agent": )"
         R"("curl/7.88.1"}, "project_id": )"
         R"("69e3a930441d4466b2c3d1459883162f"}, "target": {"id": )"
         R"("barbican", "typeURI": "service/security/keymanager/secrets/)"
         R"(", "name": "barbican", "addresses": [{"url": "http://)"
         R"(127.0.0.1:58311", "name": "admin"}]}, "requestPath": "/v1/)"
         R"(secrets/56990702-ba61-4fa7-889c-219ff175cace/payload", )"
         R"("tags": )"
         R"(["correlation_id?value=f3f584db-0adb-520a-8665-4cec98c5ecde"], )"
         R"("reason": {"reasonType": "HTTP", "reasonCode": "200"}, )"
         R"("reporterchain": []}, "timestamp": )"
         R"("2026-12-03 16:13:28.443009"})";
}

struct Ev {
  std::string time = "2026-12-03T16:13:28.348241+0000";
  std::string action = "read";
  std::string outcome = "success";
  std::string who = kAdminId;
  std::string name = "admin";
  std::string path = std::string("/v1/secrets/") + kSecret + "/payload";
};

// An event in the envelope the stack writes, with the fields of `ev`.
std::string Line(const Ev& ev) {
  return fmt::format(
      R"({{"event_type": "audit.http.response", "payload": )"
      R"({{"eventTime": "{}", "action": "{}", "outcome": "{}", )"
      R"("initiator": {{"id": "{}", "name": "{}", "project_id": )"
      R"("p1", "host": {{"address": "10.0.0.1"}}}}, "requestPath": )"
      R"("{}", "reason": {{"reasonCode": "200"}}}}}})",
      ev.time, ev.action, ev.outcome, ev.who, ev.name, ev.path);
}

TimePoint At(const char* text) {
  return *ParseIso8601(text);
}

class AccessTest : public ::testing::Test {
 protected:
  AccessTest()
      : path_(::testing::TempDir() +
              fmt::format("siq-audit-{}.jsonl", getpid())) {
    options_.since = At("2026-11-03T16:13:28Z");
    options_.service_accounts = {"siq-deployer"};
    options_.owners[kSecret] = {
        .vps = "vps-a", .kind = "JWT_SECRET", .reader_id = kReaderA};
    options_.owners[kOther] = {
        .vps = "vps-b", .kind = "DB_PASSWORD", .reader_id = kReaderB};
    options_.readers = {kReaderA, kReaderB};
  }
  ~AccessTest() override { std::filesystem::remove(path_); }

  AccessSummary Scan(const std::vector<std::string>& lines) {
    std::ofstream out(path_, std::ios::binary | std::ios::trunc);
    for (const std::string& line : lines) {
      out << line << '\n';
    }
    out.close();
    return ScanPath(path_);
  }

  AccessSummary ScanPath(const std::string& path) {
    AccessScanner scanner(options_);
    EXPECT_TRUE(scanner.ScanFile(path).ok());
    return scanner.summary();
  }

  std::string path_;
  AccessOptions options_;
};

TEST_F(AccessTest, RealStackLineIsAHumanPayloadRead) {
  AccessSummary summary = Scan({RealLine()});

  EXPECT_EQ(summary.counts.events, 1u);
  EXPECT_EQ(summary.counts.malformed, 0u);
  EXPECT_EQ(summary.counts.payload_reads, 1u);
  ASSERT_EQ(summary.flagged.size(), 1u);
  const FlaggedRead& read = summary.flagged[0];
  EXPECT_EQ(read.severity, CheckStatus::kFail);
  EXPECT_EQ(read.reason, "payload read by a person");
  EXPECT_EQ(read.initiator_id, kAdminId);
  EXPECT_EQ(read.initiator_name, "admin");
  EXPECT_EQ(read.project_id, "69e3a930441d4466b2c3d1459883162f");
  EXPECT_EQ(read.address, "127.0.0.1");
  EXPECT_EQ(read.time, "2026-12-03T16:13:28.348241+0000");
  EXPECT_EQ(read.secret_id, kSecret);
  EXPECT_EQ(read.vps, "vps-a");
  EXPECT_EQ(read.kind, "JWT_SECRET");
  EXPECT_EQ(read.source, path_ + ":1");
}

TEST_F(AccessTest, TruncatedLineIsCountedAndTheNextStillRead) {
  std::string real = RealLine();

  AccessSummary summary = Scan({real.substr(0, real.size() / 2), real});

  EXPECT_EQ(summary.counts.malformed, 1u);
  EXPECT_EQ(summary.counts.events, 1u);
  EXPECT_EQ(summary.malformed_by_reason.at("not JSON or cut short"), 1u);
  ASSERT_EQ(summary.malformed_examples.size(), 1u);
  EXPECT_EQ(summary.malformed_examples[0], path_ + ":1: not JSON or cut short");
}

TEST_F(AccessTest, NonJsonLinesAreCountedNotFatal) {
  AccessSummary summary = Scan({"2026-12-03 INFO barbican started", "[1, 2, 3]",
                                "{\"a\": 1}}", Line({})});

  EXPECT_EQ(summary.counts.lines, 4u);
  EXPECT_EQ(summary.counts.malformed, 3u);
  EXPECT_EQ(summary.malformed_by_reason.at("not a CADF event"), 1u);
  EXPECT_EQ(summary.malformed_by_reason.at("not JSON or cut short"), 2u);
  EXPECT_EQ(summary.counts.flagged_fail, 1u);
}

TEST_F(AccessTest, MissingFieldIsNamed) {
  std::string line = Line({});
  line.replace(line.find("\"id\""), 4, "\"uid\"");

  AccessSummary summary = Scan({line});

  EXPECT_EQ(summary.counts.malformed, 1u);
  EXPECT_EQ(summary.malformed_by_reason.at("a field is missing (initiator.id)"),
            1u);
  EXPECT_TRUE(summary.flagged.empty());
}

TEST_F(AccessTest, FieldOfTheWrongTypeCountsAsMissing) {
  std::string line = Line({});
  line.replace(line.find("\"read\""), 6, "42");

  AccessSummary summary = Scan({line});

  EXPECT_EQ(summary.malformed_by_reason.at("a field is missing (action)"), 1u);
}

TEST_F(AccessTest, BadEventTimeIsMalformed) {
  AccessSummary summary = Scan({Line({.time = "yesterday"})});

  EXPECT_EQ(summary.counts.malformed, 1u);
  EXPECT_EQ(
      summary.malformed_by_reason.count("eventTime is not an ISO 8601 time"),
      1u);
}

TEST_F(AccessTest, UnknownActionIsCountedNotMalformed) {
  AccessSummary summary = Scan({Line({.action = "teleport"}), Line({})});

  EXPECT_EQ(summary.counts.malformed, 0u);
  EXPECT_EQ(summary.counts.unknown_actions, 1u);
  EXPECT_EQ(summary.unknown_action_names.at("teleport"), 1u);
  EXPECT_EQ(summary.counts.flagged_fail, 1u);
}

TEST_F(AccessTest, EventAtTheWindowStartCountsAndOneMicrosecondBeforeNot) {
  options_.since = At("2026-11-03T16:13:28.500000Z");

  AccessSummary summary =
      Scan({Line({.time = "2026-11-03T16:13:28.500000+0000"}),
            Line({.time = "2026-11-03T16:13:28.499999+0000"}),
            Line({.time = "2026-11-03T17:13:28.499999+01:00"})});

  EXPECT_EQ(summary.counts.before_window, 2u);
  EXPECT_EQ(summary.counts.flagged_fail, 1u);
  ASSERT_EQ(summary.flagged.size(), 1u);
  EXPECT_EQ(summary.flagged[0].time, "2026-11-03T16:13:28.500000+0000");
}

TEST_F(AccessTest, LegacyPathReadByAPersonIsAPossiblePayloadRead) {
  AccessSummary summary =
      Scan({Line({.path = std::string("/v1/secrets/") + kSecret})});

  ASSERT_EQ(summary.flagged.size(), 1u);
  EXPECT_EQ(summary.flagged[0].severity, CheckStatus::kWarn);
  EXPECT_EQ(summary.counts.flagged_warn, 1u);
  EXPECT_EQ(summary.counts.payload_reads, 0u);
  EXPECT_EQ(summary.counts.secret_reads, 1u);
}

TEST_F(AccessTest, ReaderReadingItsOwnSecretIsNotFlagged) {
  AccessSummary summary =
      Scan({Line({.who = kReaderA, .name = "reader-a"}),
            Line({.who = kReaderA,
                  .name = "reader-a",
                  .path = std::string("/v1/secrets/") + kSecret})});

  EXPECT_EQ(summary.counts.secret_reads, 2u);
  EXPECT_TRUE(summary.flagged.empty());
}

TEST_F(AccessTest, AnotherVpsReaderFailsOnEitherPath) {
  AccessSummary summary =
      Scan({Line({.who = kReaderB, .name = "reader-b"}),
            Line({.who = kReaderB,
                  .name = "reader-b",
                  .path = std::string("/v1/secrets/") + kSecret})});

  EXPECT_EQ(summary.counts.flagged_fail, 2u);
  ASSERT_EQ(summary.flagged.size(), 2u);
  EXPECT_EQ(summary.flagged[0].reason, "read by another VPS's reader");
  EXPECT_EQ(summary.flagged[0].vps, "vps-a");
}

TEST_F(AccessTest, ServiceAccountMayReadMetadataButNotAVpsPayload) {
  AccessSummary summary =
      Scan({Line({.who = kDeployer,
                  .name = "siq-deployer",
                  .path = std::string("/v1/secrets/") + kSecret}),
            Line({.who = kDeployer, .name = "siq-deployer"})});

  ASSERT_EQ(summary.flagged.size(), 1u);
  EXPECT_EQ(summary.flagged[0].reason,
            "payload read by a service account that is not the VPS's reader");
}

TEST_F(AccessTest, ServiceAccountListedByIdCounts) {
  options_.service_accounts = {kDeployer};

  AccessSummary summary =
      Scan({Line({.who = kDeployer,
                  .name = "renamed",
                  .path = std::string("/v1/secrets/") + kSecret})});

  EXPECT_TRUE(summary.flagged.empty());
}

TEST_F(AccessTest, DeniedAndPendingReadsAreNotFlagged) {
  AccessSummary summary =
      Scan({Line({.outcome = "pending"}), Line({.outcome = "failure"})});

  EXPECT_EQ(summary.counts.denied_reads, 1u);
  EXPECT_EQ(summary.counts.secret_reads, 0u);
  EXPECT_TRUE(summary.flagged.empty());
}

TEST_F(AccessTest, OtherPathsAreNotSecretReads) {
  std::string base = std::string("/v1/secrets/") + kSecret;
  AccessSummary summary =
      Scan({Line({.path = base + "/acl"}), Line({.path = base + "/metadata"}),
            Line({.action = "read/list", .path = "/v1/secrets?limit=10"}),
            Line({.path = "/v1/containers/" + std::string(kSecret)})});

  EXPECT_EQ(summary.counts.events, 4u);
  EXPECT_EQ(summary.counts.secret_reads, 0u);
  EXPECT_TRUE(summary.flagged.empty());
}

TEST_F(AccessTest, BareCadfEventWithoutEnvelopeIsRead) {
  std::string line = Line({});
  std::string bare = line.substr(line.find("\"payload\": ") + 11);
  bare.pop_back();  // the envelope's closing brace

  AccessSummary summary = Scan({bare});

  EXPECT_EQ(summary.counts.malformed, 0u);
  EXPECT_EQ(summary.counts.flagged_fail, 1u);
}

TEST_F(AccessTest, GzipLogReadsLikeThePlainOne) {
  std::string gz = path_ + ".gz";
  gzFile out = gzopen(gz.c_str(), "wb");
  for (int i = 0; i < 1000; ++i) {
    std::string line = (i == 500 ? RealLine() : Line({.who = kReaderA})) + "\n";
    gzwrite(out, line.data(), static_cast<unsigned>(line.size()));
  }
  gzclose(out);

  AccessSummary summary = ScanPath(gz);
  std::filesystem::remove(gz);

  EXPECT_EQ(summary.counts.events, 1000u);
  ASSERT_EQ(summary.flagged.size(), 1u);
  EXPECT_EQ(summary.flagged[0].source, gz + ":501");
}

TEST_F(AccessTest, CorruptGzipIsAReadErrorNotACrash) {
  std::string gz = path_ + ".gz";
  gzFile out = gzopen(gz.c_str(), "wb");
  for (int i = 0; i < 20000; ++i) {
    std::string line = Line({}) + "\n";
    gzwrite(out, line.data(), static_cast<unsigned>(line.size()));
  }
  gzclose(out);
  std::filesystem::resize_file(gz, std::filesystem::file_size(gz) / 2);

  AccessSummary summary = ScanPath(gz);
  std::filesystem::remove(gz);

  EXPECT_GT(summary.counts.events, 0u);
  EXPECT_LT(summary.counts.events, 20000u);
  ASSERT_EQ(summary.read_errors.size(), 1u);
  EXPECT_NE(summary.read_errors[0].find(gz), std::string::npos);
}

TEST_F(AccessTest, LinesAcrossChunkBoundariesAreAllRead) {
  std::vector<std::string> lines(30000, Line({.who = kReaderA}));
  lines.back() = RealLine();

  AccessSummary summary = Scan(lines);

  EXPECT_GT(std::filesystem::file_size(path_), size_t{8} << 20);
  EXPECT_EQ(summary.counts.events, 30000u);
  EXPECT_EQ(summary.counts.malformed, 0u);
  ASSERT_EQ(summary.flagged.size(), 1u);
  EXPECT_EQ(summary.flagged[0].source, path_ + ":30000");
}

TEST_F(AccessTest, LastLineWithoutNewlineAndCrLfAreRead) {
  {
    std::ofstream out(path_, std::ios::binary);
    out << Line({}) << "\r\n" << RealLine();
  }

  AccessSummary summary = ScanPath(path_);

  EXPECT_EQ(summary.counts.malformed, 0u);
  EXPECT_EQ(summary.counts.flagged_fail, 2u);
}

TEST_F(AccessTest, OversizedLineIsCountedAndSkipped) {
  std::string huge(kMaxLineBytes + 10, 'x');

  AccessSummary summary = Scan({huge, Line({})});

  EXPECT_EQ(summary.counts.malformed, 1u);
  EXPECT_EQ(summary.malformed_by_reason.at("longer than 1 MiB"), 1u);
  EXPECT_EQ(summary.counts.flagged_fail, 1u);
  EXPECT_EQ(summary.flagged[0].source, path_ + ":2");
}

TEST_F(AccessTest, BlankLinesAreIgnored) {
  AccessSummary summary = Scan({"", "   ", Line({})});

  EXPECT_EQ(summary.counts.lines, 1u);
  EXPECT_EQ(summary.counts.malformed, 0u);
}

TEST_F(AccessTest, FlaggedReadsBeyondTheCapAreCountedNotKept) {
  options_.max_items = 2;

  AccessSummary summary = Scan({Line({}), Line({}), Line({})});
  CheckResult check = AccessCheck(summary, options_);

  EXPECT_EQ(summary.counts.flagged_fail, 3u);
  EXPECT_EQ(check.items.size(), 2u);
  EXPECT_EQ(check.items_left_out, 1u);
  EXPECT_EQ(check.status, CheckStatus::kFail);
}

TEST_F(AccessTest, MissingLogIsAnErrorNamingIt) {
  AccessScanner scanner(options_);

  Status status = scanner.ScanFile(path_ + ".missing");

  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(status.message().find(path_ + ".missing"), std::string::npos);
}

TEST_F(AccessTest, CheckWithoutLogsWarns) {
  AccessScanner scanner(options_);

  CheckResult check = AccessCheck(scanner.summary(), options_);

  EXPECT_EQ(check.status, CheckStatus::kWarn);
  EXPECT_NE(check.summary.find("no audit log"), std::string::npos);
}

TEST_F(AccessTest, LogWithoutEventsInTheWindowWarns) {
  AccessSummary summary =
      Scan({Line({.time = "2026-10-01T00:00:00+0000"}), "not json"});

  CheckResult check = AccessCheck(summary, options_);

  EXPECT_EQ(check.status, CheckStatus::kWarn);
  EXPECT_NE(check.summary.find("no event in the window"), std::string::npos);
}

TEST_F(AccessTest, OnlyPossibleReadsWarn) {
  AccessSummary summary =
      Scan({Line({.path = std::string("/v1/secrets/") + kSecret})});

  CheckResult check = AccessCheck(summary, options_);

  EXPECT_EQ(check.status, CheckStatus::kWarn);
  ASSERT_EQ(check.items.size(), 1u);
  EXPECT_EQ(check.items[0].fields["initiator_name"], "admin");
}

TEST(EventTimeTest, ReadsBarbicansOffsetWithoutColon) {
  TimePoint time;

  ASSERT_TRUE(ParseEventTime("2026-12-03T16:13:28.348241+0100", time));

  EXPECT_EQ(time, At("2026-12-03T15:13:28.348241Z"));
  EXPECT_FALSE(ParseEventTime("2026-12-03T16:13:28+01", time));
  EXPECT_FALSE(ParseEventTime("", time));
}

}  // namespace
}  // namespace siq::audit
