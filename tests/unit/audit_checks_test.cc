// The checks of `siq audit` that need no server: dotenv files on disk,
// rotation, and the report model (order, worst first, stable JSON).

#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "core/audit/checks.h"
#include "core/audit/report.h"
#include "core/base/iso_time.h"
#include "tests/unit/fake_transport.h"

namespace siq::audit {
namespace {

using std::chrono::days;

class DotenvScanTest : public ::testing::Test {
 protected:
  DotenvScanTest()
      : dir_(::testing::TempDir() + fmt::format("siq-scan-{}", getpid())) {
    std::filesystem::create_directories(dir_ + "/app/config");
  }
  ~DotenvScanTest() override { std::filesystem::remove_all(dir_); }

  CheckResult Scan() {
    test::FakeTransport transport;
    return UsesBarbicanCheck({}, {}, {dir_}, transport);
  }

  std::string dir_;
};

TEST_F(DotenvScanTest, NoDotenvPasses) {
  std::ofstream(dir_ + "/app/config/settings.yaml") << "a: 1\n";

  CheckResult check = Scan();

  EXPECT_EQ(check.status, CheckStatus::kPass);
  EXPECT_EQ(check.evidence["dotenv_found"], 0);
  EXPECT_EQ(check.evidence["entries_scanned"], 3);
}

TEST_F(DotenvScanTest, DotenvFileFails) {
  std::ofstream(dir_ + "/app/.env") << "DB_PASSWORD=hunter2\n";

  CheckResult check = Scan();

  EXPECT_EQ(check.status, CheckStatus::kFail);
  ASSERT_EQ(check.items.size(), 1u);
  EXPECT_EQ(check.items[0].subject, dir_ + "/app/.env");
  EXPECT_EQ(check.items[0].detail, "a dotenv file (20 bytes)");
  EXPECT_EQ(check.items[0].detail.find("hunter2"), std::string::npos);
}

TEST_F(DotenvScanTest, NamedPipeCalledDotenvIsReportedAsOne) {
  ASSERT_EQ(mkfifo((dir_ + "/app/.env").c_str(), 0600), 0);

  CheckResult check = Scan();

  EXPECT_EQ(check.status, CheckStatus::kFail);
  ASSERT_EQ(check.items.size(), 1u);
  EXPECT_EQ(check.items[0].detail, "a named pipe called .env");
  EXPECT_EQ(check.items[0].fields["type"], "named pipe");
}

TEST_F(DotenvScanTest, SymlinkCalledDotenvIsReportedNotFollowed) {
  std::filesystem::create_symlink("/etc/hostname", dir_ + "/app/.env");

  CheckResult check = Scan();

  ASSERT_EQ(check.items.size(), 1u);
  EXPECT_EQ(check.items[0].fields["type"], "symbolic link");
}

TEST_F(DotenvScanTest, TemplatesAndDirectoriesAreNotFlagged) {
  std::ofstream(dir_ + "/app/.env.example") << "DB_PASSWORD=\n";
  std::filesystem::create_directories(dir_ + "/app/.env/bin");

  CheckResult check = Scan();

  EXPECT_EQ(check.status, CheckStatus::kPass);
  EXPECT_EQ(check.evidence["templates_ignored"], 1);
}

TEST_F(DotenvScanTest, MissingScanPathWarns) {
  test::FakeTransport transport;

  CheckResult check = UsesBarbicanCheck({}, {}, {dir_ + "/nowhere"}, transport);

  EXPECT_EQ(check.status, CheckStatus::kWarn);
  ASSERT_EQ(check.items.size(), 1u);
  EXPECT_NE(check.items[0].detail.find("does not exist"), std::string::npos);
}

TEST(DotenvNameTest, NamesThatCount) {
  EXPECT_TRUE(IsDotenvName(".env"));
  EXPECT_TRUE(IsDotenvName(".env.production"));
  EXPECT_TRUE(IsDotenvName("backend.env"));
  EXPECT_FALSE(IsDotenvName("env"));
  EXPECT_FALSE(IsDotenvName(".envrc"));
  EXPECT_FALSE(
      IsDotenvName(".env"
                   "iron"));
  EXPECT_FALSE(IsDotenvName("environment.yaml"));
}

records::Deployment Vps(const std::string& id, TimePoint due) {
  records::Deployment deployment{.vps = *records::VpsId::Parse(id)};
  deployment.environment = "production";
  records::SecretSlot slot{.kind = "JWT_SECRET",
                           .current = records::SecretVersion{.ref = "r"},
                           .due_at = due};
  deployment.secrets["JWT_SECRET"] = slot;
  return deployment;
}

TEST(RotationCheckTest, DueInTheFuturePasses) {
  TimePoint now = *ParseIso8601("2026-12-03T00:00:00Z");

  CheckResult check = RotationCheck({Vps("vps-1", now + days(1))},
                                    config::DefaultSecretKinds(), now);

  EXPECT_EQ(check.status, CheckStatus::kPass);
  EXPECT_EQ(check.evidence["secrets"], 1);
}

TEST(RotationCheckTest, OverdueSecretsAreListedWithTheirDays) {
  TimePoint now = *ParseIso8601("2026-12-03T00:00:00Z");

  CheckResult check = RotationCheck({Vps("vps-1", now - days(12))},
                                    config::DefaultSecretKinds(), now);

  EXPECT_EQ(check.status, CheckStatus::kWarn);
  ASSERT_EQ(check.items.size(), 1u);
  EXPECT_EQ(check.items[0].fields["days_overdue"], 12);
  EXPECT_EQ(check.items[0].subject, "vps-1 JWT_SECRET");
}

TEST(RotationCheckTest, KindWithoutIntervalFails) {
  TimePoint now = *ParseIso8601("2026-12-03T00:00:00Z");
  std::vector<config::SecretKind> kinds = {{.kind = "DB_PASSWORD"}};

  CheckResult check = RotationCheck({Vps("vps-1", now + days(1))}, kinds, now);

  EXPECT_EQ(check.status, CheckStatus::kFail);
  EXPECT_EQ(check.evidence["without_interval"], 1);
}

TEST(ProbeTest, ServedDotenvFailsAndItsBodyIsNotKept) {
  test::FakeTransport transport;
  transport.EnqueueFor("https://vps-1.example/.env",
                       {.status = 200, .body = "API_KEY=canary-value\n"});
  config::AuditSettings settings;
  settings.endpoints["vps-1"] = "https://vps-1.example/";

  CheckResult check =
      UsesBarbicanCheck({Vps("vps-1", TimePoint{})}, settings, {}, transport);

  EXPECT_EQ(check.status, CheckStatus::kFail);
  ASSERT_EQ(check.items.size(), 1u);
  EXPECT_EQ(check.items[0].fields["http_status"], 200);
  EXPECT_EQ(ToJson(Report{.checks = {check}}).dump().find("canary-value"),
            std::string::npos);
}

TEST(ProbeTest, NotFoundPasses) {
  test::FakeTransport transport;
  transport.EnqueueFor("https://vps-1.example/.env",
                       {.status = 404, .body = "not found"});
  config::AuditSettings settings;
  settings.endpoints["vps-1"] = "https://vps-1.example";

  CheckResult check =
      UsesBarbicanCheck({Vps("vps-1", TimePoint{})}, settings, {}, transport);

  EXPECT_EQ(check.status, CheckStatus::kPass);
  EXPECT_EQ(check.evidence["endpoints_probed"], 1);
}

TEST(ReportTest, ItemsWorstFirstAndOverallIsTheWorst) {
  Report report;
  CheckResult check = NewCheck(kRotationConfigured);
  check.items = {{.severity = CheckStatus::kWarn, .subject = "a"},
                 {.severity = CheckStatus::kFail, .subject = "z"},
                 {.severity = CheckStatus::kFail, .subject = "b"}};
  check.status = CheckStatus::kFail;
  report.checks = {NewCheck(kUsesBarbican), check};

  SortItems(report);
  nlohmann::json doc = ToJson(report);

  EXPECT_EQ(Overall(report), CheckStatus::kFail);
  EXPECT_EQ(doc["status"], "fail");
  EXPECT_EQ(doc["checks"][0]["id"], "uses_barbican");
  EXPECT_EQ(doc["checks"][1]["items"][0]["subject"], "b");
  EXPECT_EQ(doc["checks"][1]["items"][1]["subject"], "z");
  EXPECT_EQ(doc["checks"][1]["items"][2]["severity"], "warn");
  EXPECT_EQ(doc["checks"][1]["controls"][0],
            "PCI DSS: key rotation every 90 days");
}

TEST(ReportTest, JsonIsTheSameForTheSameReport) {
  Report report{.checks = {NewCheck(kNoHumanAccess)}};
  report.checks[0].evidence = {{"b", 1}, {"a", 2}};

  std::string first = ToJson(report).dump();
  std::string second = ToJson(report).dump();

  EXPECT_EQ(first, second);
  EXPECT_LT(first.find("\"a\""), first.find("\"b\""));
}

class AuditConfigTest : public ::testing::Test {
 protected:
  AuditConfigTest()
      : path_(::testing::TempDir() +
              fmt::format("siq-audit-config-{}.yaml", getpid())) {}
  ~AuditConfigTest() override { std::filesystem::remove(path_); }

  Result<config::Config> Load(const std::string& yaml) {
    std::ofstream(path_) << yaml;
    return config::LoadConfig(path_);
  }

  std::string path_;
};

TEST_F(AuditConfigTest, AuditSectionIsRead) {
  auto config = Load(
      "audit:\n"
      "  service_accounts: [siq-deployer, 0af329315dba4aeda746f5d88a8b07b9]\n"
      "  endpoints:\n"
      "    vps-1: https://vps-1.example\n"
      "  backup_dirs: [/var/backups/siq]\n");

  ASSERT_TRUE(config.ok()) << config.status().message();
  EXPECT_EQ(config->audit.service_accounts.size(), 2u);
  EXPECT_EQ(config->audit.endpoints.at("vps-1"), "https://vps-1.example");
  EXPECT_EQ(config->audit.backup_dirs.at(0), "/var/backups/siq");
}

TEST_F(AuditConfigTest, EndpointThatIsNotAUrlIsRefusedWithItsLine) {
  auto config = Load(
      "audit:\n"
      "  endpoints:\n"
      "    vps-1: vps-1.example\n");

  EXPECT_EQ(config.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(config.status().message().find(path_ + ":3:"), std::string::npos)
      << config.status().message();
}

TEST_F(AuditConfigTest, UnknownAuditKeyIsRefused) {
  auto config = Load("audit:\n  service_acounts: [x]\n");

  EXPECT_EQ(config.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(config.status().message().find("service_acounts"),
            std::string::npos);
}

}  // namespace
}  // namespace siq::audit
