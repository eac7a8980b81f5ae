// `siq provision` and `siq status` against the real local stack: what ends
// up in Barbican, in the record file, and on the terminal, including after a
// crash at each step.

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "core/base/encoding.h"
#include "core/base/exit_codes.h"
#include "core/config/config.h"
#include "core/records/store.h"
#include "tests/integration/stack.h"

namespace siq::testing {
namespace {

using barbican::Acl;
using barbican::ContainerRef;
using barbican::SecretRef;

const std::vector<std::string> kKinds = {
    "API_KEY_PRIMARY", "API_KEY_SECONDARY",  "DB_PASSWORD",
    "ENCRYPTION_KEY",  "JWT_REFRESH_SECRET", "JWT_SECRET",
    "SESSION_SECRET"};

class ProvisionTest : public ::testing::Test {
 protected:
  ProvisionTest()
      : dir_(::testing::TempDir() + UniqueName("provision")),
        records_(dir_ + "/deployments.json"),
        deployer_(DeployerConfig()) {
    std::filesystem::create_directories(dir_);
  }

  ~ProvisionTest() override {
    for (const std::string& id : users_) {
      DeleteUser(id);
    }
    std::filesystem::remove_all(dir_);
  }

  // `siq provision` for `vps` with a new reader credential in `fd3`.
  RunResult ProvisionCreatingReader(
      const std::string& vps,
      const std::string& fd3,
      std::vector<std::string> extra = {},
      std::map<std::string, std::string> env = {}) {
    std::vector<std::string> args = {
        "provision", "--vps",           vps,
        "--org",     "org-test",        "--records",
        records_,    "--create-reader", "--reader-credential-fd",
        "3",         "--output",        "json"};
    args.insert(args.end(), extra.begin(), extra.end());
    RunResult result =
        RunSiq(args, RunOptions{.env = std::move(env), .fd3_path = fd3});
    return result;
  }

  records::Deployment Record(const std::string& vps) {
    records::FileRecordStore store(records_, std::chrono::seconds(5));
    auto id = records::VpsId::Parse(vps);
    auto record = store.Load(*id);
    EXPECT_TRUE(record.ok() && record->has_value()) << "no record of " << vps;
    return record.ok() && *record ? **record : records::Deployment{.vps = *id};
  }

  // Barbican's own view: every secret whose name starts with the VPS id.
  std::vector<barbican::SecretMeta> SecretsOf(const std::string& vps) {
    auto listed = deployer_.barbican.ListSecrets({.name = vps + "_%"});
    EXPECT_TRUE(listed.ok()) << listed.status().message();
    return listed.ok() ? *listed : std::vector<barbican::SecretMeta>{};
  }

  // Exactly one secret per kind, one container, a complete record that
  // matches Barbican, and every order of the VPS pointing at a recorded
  // secret (none made an orphan).
  void ExpectConverged(const std::string& vps) {
    records::Deployment record = Record(vps);
    EXPECT_EQ(record.state, records::kStateComplete);
    auto secrets = SecretsOf(vps);
    std::set<std::string> names;
    for (const auto& meta : secrets) {
      names.insert(meta.name);
    }
    EXPECT_EQ(secrets.size(), kKinds.size());
    EXPECT_EQ(names.size(), kKinds.size());
    for (const std::string& kind : kKinds) {
      ASSERT_EQ(record.secrets.count(kind), 1u) << kind;
      const auto& slot = record.secrets.at(kind);
      ASSERT_TRUE(slot.current.has_value()) << kind;
      auto found = deployer_.barbican.FindSecretsNamed(vps + "_" + kind);
      ASSERT_TRUE(found.ok());
      ASSERT_EQ(found->size(), 1u) << kind;
      EXPECT_EQ(found->front().ref.url(), slot.current->ref) << kind;
    }
    auto containers = deployer_.barbican.ListContainers(vps);
    ASSERT_TRUE(containers.ok());
    ASSERT_EQ(containers->size(), 1u);
    EXPECT_EQ(containers->front().ref.url(), record.container_ref);
    EXPECT_EQ(containers->front().secrets.size(), kKinds.size());
    std::set<std::string> recorded;
    for (const auto& [kind, slot] : record.secrets) {
      recorded.insert(slot.current->ref);
    }
    auto orders = deployer_.barbican.ListOrders();
    ASSERT_TRUE(orders.ok());
    for (const auto& order : *orders) {
      if (order.name.starts_with(vps + "_")) {
        EXPECT_EQ(recorded.count(order.secret_ref.url()), 1u) << order.name;
      }
    }
  }

  void Forget(const std::string& user_id) { users_.push_back(user_id); }

  std::string dir_;
  std::string records_;
  Connected deployer_;
  std::vector<std::string> users_;
};

TEST_F(ProvisionTest, ProvisionsAVpsEndToEnd) {
  std::string vps = UniqueName("vps-e2e");
  std::string credential = dir_ + "/reader.yaml";

  RunResult result = ProvisionCreatingReader(vps, credential);

  ASSERT_EQ(result.exit_code, 0) << result.err;
  auto doc = nlohmann::json::parse(result.out);
  EXPECT_EQ(doc["outcome"], "provisioned");
  EXPECT_EQ(doc["credential_written"], true);
  records::Deployment record = Record(vps);
  Forget(record.reader_user_id);
  ExpectConverged(vps);
  EXPECT_EQ(record.organization, "org-test");
  EXPECT_EQ(record.environment, "production");
  EXPECT_EQ(doc["deployment"]["container_ref"], record.container_ref);
  Acl expected{.read_users = {record.reader_user_id}, .project_access = false};
  for (const auto& [kind, slot] : record.secrets) {
    auto acl = deployer_.barbican.GetSecretAcl(SecretRef(slot.current->ref));
    ASSERT_TRUE(acl.ok()) << acl.status().message();
    EXPECT_EQ(*acl, expected) << kind;
    EXPECT_GT(slot.due_at, slot.current->created_at) << kind;
  }
  auto acl =
      deployer_.barbican.GetContainerAcl(ContainerRef(record.container_ref));
  ASSERT_TRUE(acl.ok());
  EXPECT_EQ(*acl, expected);
  struct stat info {};
  ASSERT_EQ(stat(records_.c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0600u);
}

TEST_F(ProvisionTest, ReaderReadsItsOwnSecretsAndNotAnotherVps) {
  std::string vps_a = UniqueName("vps-a");
  std::string vps_b = UniqueName("vps-b");
  ASSERT_EQ(ProvisionCreatingReader(vps_a, dir_ + "/a.yaml").exit_code, 0);
  ASSERT_EQ(ProvisionCreatingReader(vps_b, dir_ + "/b.yaml").exit_code, 0);
  records::Deployment a = Record(vps_a);
  records::Deployment b = Record(vps_b);
  Forget(a.reader_user_id);
  Forget(b.reader_user_id);

  Connected reader_a(ReaderFromCloudsYaml(dir_ + "/a.yaml"));
  auto container =
      reader_a.barbican.GetContainer(ContainerRef(a.container_ref));
  auto own = reader_a.barbican.GetPayload(
      SecretRef(a.secrets.at("JWT_SECRET").current->ref));
  auto other = reader_a.barbican.GetPayload(
      SecretRef(b.secrets.at("JWT_SECRET").current->ref));

  ASSERT_TRUE(container.ok()) << container.status().message();
  EXPECT_EQ(container->secrets.size(), kKinds.size());
  ASSERT_TRUE(own.ok()) << own.status().message();
  EXPECT_EQ(own->size(), 32u) << "a 256-bit key";
  EXPECT_EQ(other.status().code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(other.status().http_status(), 403);
}

TEST_F(ProvisionTest, ExistingReaderUserIsPutOnTheAcls) {
  TestReader reader = CreateTestReader("reader");
  Forget(reader.id);
  std::string vps = UniqueName("vps-existing");

  RunResult result =
      RunSiq({"provision", "--vps", vps, "--org", "org-test", "--records",
              records_, "--reader-user", reader.name});

  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_NE(result.out.find(vps), std::string::npos) << result.out;
  records::Deployment record = Record(vps);
  EXPECT_EQ(record.reader_user_id, reader.id);
  Connected as_reader(std::move(reader.config));
  auto payload = as_reader.barbican.GetPayload(
      SecretRef(record.secrets.at("DB_PASSWORD").current->ref));
  EXPECT_TRUE(payload.ok()) << payload.status().message();
}

TEST_F(ProvisionTest, RecordFileHoldsNoPayloadInAnyEncoding) {
  std::string vps = UniqueName("vps-nopayload");
  ASSERT_EQ(ProvisionCreatingReader(vps, dir_ + "/r.yaml").exit_code, 0);
  records::Deployment record = Record(vps);
  Forget(record.reader_user_id);
  Connected reader(ReaderFromCloudsYaml(dir_ + "/r.yaml"));
  std::string file = ReadFile(records_);

  ASSERT_FALSE(file.empty());
  for (const auto& [kind, slot] : record.secrets) {
    auto payload = reader.barbican.GetPayload(SecretRef(slot.current->ref));
    ASSERT_TRUE(payload.ok()) << payload.status().message();
    for (const SecretBytes& form :
         {payload->Clone(), EncodeBase64(payload->Reveal()),
          EncodeHex(payload->Reveal())}) {
      EXPECT_EQ(file.find(form.Reveal()), std::string::npos) << kind;
    }
  }
}

class ProvisionCrashTest : public ProvisionTest,
                           public ::testing::WithParamInterface<const char*> {};

TEST_P(ProvisionCrashTest, RerunAfterSigkillConverges) {
  std::string vps = UniqueName("vps-crash");

  RunResult killed = ProvisionCreatingReader(vps, dir_ + "/first.yaml", {},
                                             {{"SIQ_FAILPOINT", GetParam()}});
  RunResult rerun = ProvisionCreatingReader(vps, dir_ + "/second.yaml");

  EXPECT_EQ(killed.exit_code, 128 + SIGKILL) << killed.err;
  ASSERT_EQ(rerun.exit_code, 0) << rerun.err;
  EXPECT_EQ(nlohmann::json::parse(rerun.out)["outcome"], "resumed");
  records::Deployment record = Record(vps);
  Forget(record.reader_user_id);
  ExpectConverged(vps);
  // Whichever run handed over the credential, it works.
  std::string handed = ReadFile(dir_ + "/second.yaml").empty()
                           ? dir_ + "/first.yaml"
                           : dir_ + "/second.yaml";
  Connected reader(ReaderFromCloudsYaml(handed));
  auto payload = reader.barbican.GetPayload(
      SecretRef(record.secrets.at("SESSION_SECRET").current->ref));
  EXPECT_TRUE(payload.ok()) << payload.status().message();
}

INSTANTIATE_TEST_SUITE_P(EachStep,
                         ProvisionCrashTest,
                         ::testing::Values("provision.after-reader",
                                           "provision.order-unrecorded",
                                           "provision.after-first-secret",
                                           "provision.after-secrets",
                                           "provision.after-container",
                                           "provision.after-acls"));

TEST_F(ProvisionTest, TwoVpsAtOnceOnOneRecordFileBothComplete) {
  std::string first = UniqueName("vps-par");
  std::string second = UniqueName("vps-par");

  SiqProcess one({"provision", "--vps", first, "--org", "o", "--records",
                  records_, "--create-reader", "--reader-credential-fd", "3"},
                 {.fd3_path = dir_ + "/1.yaml"});
  SiqProcess two({"provision", "--vps", second, "--org", "o", "--records",
                  records_, "--create-reader", "--reader-credential-fd", "3"},
                 {.fd3_path = dir_ + "/2.yaml"});
  RunResult one_result = one.Wait();
  RunResult two_result = two.Wait();

  EXPECT_EQ(one_result.exit_code, 0) << one_result.err;
  EXPECT_EQ(two_result.exit_code, 0) << two_result.err;
  Forget(Record(first).reader_user_id);
  Forget(Record(second).reader_user_id);
  ExpectConverged(first);
  ExpectConverged(second);
}

TEST_F(ProvisionTest, SecondRunOnACompleteVpsMakesNoWriteCalls) {
  std::string vps = UniqueName("vps-again");
  ASSERT_EQ(ProvisionCreatingReader(vps, dir_ + "/r.yaml").exit_code, 0);
  Forget(Record(vps).reader_user_id);
  std::string before = ReadFile(records_);

  RunResult again = ProvisionCreatingReader(vps, dir_ + "/again.yaml", {"-vv"});

  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_EQ(nlohmann::json::parse(again.out)["outcome"], "already complete");
  // Getting a token is the one POST: siq authenticates before it acts.
  std::istringstream lines(again.err);
  for (std::string line; std::getline(lines, line);) {
    if (line.find("/v3/auth/tokens") != std::string::npos) {
      continue;
    }
    for (const char* method : {"POST ", "PUT ", "PATCH ", "DELETE "}) {
      EXPECT_EQ(line.find(std::string("http: debug: ") + method),
                std::string::npos)
          << line;
    }
  }
  EXPECT_EQ(ReadFile(records_), before);
  EXPECT_EQ(ReadFile(dir_ + "/again.yaml"), "") << "no second credential";
}

TEST_F(ProvisionTest, ConfigCatalogDecidesTheKinds) {
  std::string vps = UniqueName("vps-catalog");
  std::string config = dir_ + "/siq.yaml";
  std::ofstream(config) << "secret_kinds:\n"
                           "  - kind: SHORT_KEY\n"
                           "    rotate_every: 90s\n"
                           "  - kind: SMALL_KEY\n"
                           "    rotate_every: 2h\n"
                           "    bit_length: 128\n";

  RunResult result =
      ProvisionCreatingReader(vps, dir_ + "/r.yaml", {"--config", config});

  ASSERT_EQ(result.exit_code, 0) << result.err;
  records::Deployment record = Record(vps);
  Forget(record.reader_user_id);
  ASSERT_EQ(record.secrets.size(), 2u);
  const auto& short_key = record.secrets.at("SHORT_KEY");
  EXPECT_EQ(short_key.due_at - short_key.current->created_at,
            std::chrono::seconds(90));
  EXPECT_EQ(SecretsOf(vps).size(), 2u);
  auto small = deployer_.barbican.GetSecret(
      SecretRef(record.secrets.at("SMALL_KEY").current->ref));
  ASSERT_TRUE(small.ok());
  EXPECT_EQ(small->bit_length, 128);
}

TEST_F(ProvisionTest, HeldRecordLockGivesTheLockedExitCode) {
  std::string first = UniqueName("vps-l");
  ASSERT_EQ(ProvisionCreatingReader(first, dir_ + "/r.yaml").exit_code, 0);
  std::string reader = Record(first).reader_user_id;
  Forget(reader);
  std::string before = ReadFile(records_);
  auto held = records::AcquireFileLock(records_ + ".lock", {});
  ASSERT_TRUE(held.ok()) << held.status().message();

  RunResult result = RunSiq({"provision", "--vps", UniqueName("vps-l"), "--org",
                             "o", "--records", records_, "--reader-user",
                             reader, "--lock-wait", "1"});

  EXPECT_EQ(result.exit_code, static_cast<int>(ExitCode::kLocked));
  EXPECT_NE(result.err.find(records_), std::string::npos) << result.err;
  EXPECT_NE(result.err.find("locked"), std::string::npos) << result.err;
  EXPECT_EQ(ReadFile(records_), before);
}

TEST_F(ProvisionTest, LockOfAKilledSiqDoesNotBlockTheNextRun) {
  std::string vps = UniqueName("vps-k");

  // Killed while it holds the per-VPS lock and has written its intent.
  RunResult killed = ProvisionCreatingReader(
      vps, dir_ + "/1.yaml", {}, {{"SIQ_FAILPOINT", "provision.after-reader"}});
  RunResult next =
      ProvisionCreatingReader(vps, dir_ + "/2.yaml", {"--lock-wait", "0"});

  EXPECT_EQ(killed.exit_code, 128 + SIGKILL);
  EXPECT_EQ(next.exit_code, 0) << next.err;
  Forget(Record(vps).reader_user_id);
}

TEST_F(ProvisionTest, DryRunPlansWithoutAnyCall) {
  std::string vps = UniqueName("vps-dry");

  // A dead endpoint and a wrong password: any call would fail.
  RunResult result = ProvisionCreatingReader(
      vps, dir_ + "/dry.yaml", {"--dry-run"},
      {{"OS_PASSWORD", "wrong"}, {"OS_AUTH_URL", "http://127.0.0.1:9/v3"}});

  ASSERT_EQ(result.exit_code, 0) << result.err;
  auto doc = nlohmann::json::parse(result.out);
  EXPECT_EQ(doc["outcome"], "planned");
  // Reader, its credential, 7 orders, the container, 8 ACLs, 2 record writes.
  EXPECT_EQ(doc["calls"].size(), 2u + 7u + 1u + 8u + 2u) << doc.dump(2);
  EXPECT_FALSE(std::filesystem::exists(records_));
  EXPECT_TRUE(SecretsOf(vps).empty());
}

TEST_F(ProvisionTest, StatusShowsTheRecord) {
  std::string vps = UniqueName("vps-status");
  ASSERT_EQ(ProvisionCreatingReader(vps, dir_ + "/r.yaml").exit_code, 0);
  records::Deployment record = Record(vps);
  Forget(record.reader_user_id);

  RunResult table = RunSiq({"status", "--records", records_});
  RunResult one = RunSiq({"status", vps, "--records", records_, "-o", "json"});

  ASSERT_EQ(table.exit_code, 0) << table.err;
  EXPECT_NE(table.out.find(vps), std::string::npos);
  EXPECT_NE(table.out.find("complete"), std::string::npos);
  ASSERT_EQ(one.exit_code, 0) << one.err;
  auto doc = nlohmann::json::parse(one.out);
  EXPECT_EQ(doc["container_ref"], record.container_ref);
  EXPECT_EQ(doc["secrets"]["JWT_SECRET"]["current"]["ref"],
            record.secrets.at("JWT_SECRET").current->ref);
}

// Bad input: a clear message, the right exit code, and the record file
// exactly as it was.
class ProvisionBadInputTest : public ProvisionTest {
 protected:
  void SetUp() override {
    vps_ = UniqueName("vps-bad");
    ASSERT_EQ(ProvisionCreatingReader(vps_, dir_ + "/r.yaml").exit_code, 0);
    Forget(Record(vps_).reader_user_id);
    before_ = ReadFile(records_);
  }

  void ExpectUnchanged() { EXPECT_EQ(ReadFile(records_), before_); }

  std::string vps_;
  std::string before_;
};

TEST_F(ProvisionBadInputTest, MissingVpsIsAUsageError) {
  RunResult result = RunSiq(
      {"provision", "--org", "o", "--records", records_, "--reader-user", "x"});

  EXPECT_EQ(result.exit_code, static_cast<int>(ExitCode::kUsage));
  EXPECT_NE(result.err.find("--vps"), std::string::npos) << result.err;
  ExpectUnchanged();
}

TEST_F(ProvisionBadInputTest, BadVpsIdIsRefused) {
  RunResult result = RunSiq({"provision", "--vps", "vps_1%", "--org", "o",
                             "--records", records_, "--reader-user", "x"});

  EXPECT_EQ(result.exit_code, static_cast<int>(ExitCode::kUsage));
  EXPECT_NE(result.err.find("--vps"), std::string::npos) << result.err;
  EXPECT_NE(result.err.find("vps_1%"), std::string::npos) << result.err;
  ExpectUnchanged();
}

TEST_F(ProvisionBadInputTest, UnknownOptionIsAUsageError) {
  RunResult result = RunSiq({"provision", "--vps", "v", "--org", "o",
                             "--records", records_, "--frobnicate"});

  EXPECT_EQ(result.exit_code, static_cast<int>(ExitCode::kUsage));
  EXPECT_NE(result.err.find("--frobnicate"), std::string::npos) << result.err;
  ExpectUnchanged();
}

TEST_F(ProvisionBadInputTest, UnknownReaderIdIsRefusedBeforeAnyWrite) {
  RunResult result = RunSiq({"provision", "--vps", vps_ + "-3", "--org",
                             "org-test", "--records", records_, "--reader-user",
                             "00000000000000000000000000000000"});

  EXPECT_EQ(result.exit_code, static_cast<int>(ExitCode::kUsage));
  EXPECT_NE(result.err.find("00000000000000000000000000000000"),
            std::string::npos)
      << result.err;
  ExpectUnchanged();
}

TEST_F(ProvisionBadInputTest, CompleteVpsWithAnotherReaderIsRefused) {
  RunResult result =
      RunSiq({"provision", "--vps", vps_, "--org", "org-test", "--records",
              records_, "--reader-user", "someone-else"});

  EXPECT_EQ(result.exit_code, static_cast<int>(ExitCode::kUsage));
  EXPECT_NE(result.err.find("reader"), std::string::npos) << result.err;
  ExpectUnchanged();
}

TEST_F(ProvisionBadInputTest, CredentialFdOnStdoutIsRefused) {
  RunResult result =
      RunSiq({"provision", "--vps", vps_ + "-4", "--org", "o", "--records",
              records_, "--create-reader", "--reader-credential-fd", "1"});

  EXPECT_EQ(result.exit_code, static_cast<int>(ExitCode::kUsage));
  EXPECT_NE(result.err.find("never printed"), std::string::npos) << result.err;
  EXPECT_EQ(result.out.find("application_credential"), std::string::npos);
  ExpectUnchanged();
}

TEST_F(ProvisionBadInputTest, CorruptRecordFileIsNamedAndLeftAlone) {
  std::string corrupt = before_.substr(0, before_.size() / 2);
  {
    std::ofstream out(records_, std::ios::trunc);
    out << corrupt;
  }

  RunResult result =
      RunSiq({"provision", "--vps", UniqueName("vps-new"), "--org", "o",
              "--records", records_, "--reader-user", "x"});

  EXPECT_EQ(result.exit_code, static_cast<int>(ExitCode::kRuntime));
  EXPECT_NE(result.err.find(records_), std::string::npos) << result.err;
  EXPECT_EQ(ReadFile(records_), corrupt);
}

TEST_F(ProvisionBadInputTest, UnreadableRecordFileIsAnError) {
  std::string directory = dir_ + "/not-a-file";
  std::filesystem::create_directories(directory);

  RunResult result = RunSiq({"status", "--records", directory});

  EXPECT_EQ(result.exit_code, static_cast<int>(ExitCode::kRuntime));
  EXPECT_NE(result.err.find(directory), std::string::npos) << result.err;
  ExpectUnchanged();
}

TEST_F(ProvisionBadInputTest, UnreachableEndpointLeavesTheRecordAlone) {
  TestReader reader = CreateTestReader("reader");
  Forget(reader.id);

  RunResult result = RunSiq({"provision", "--vps", vps_ + "-2", "--org",
                             "org-test", "--records", records_, "--reader-user",
                             reader.id, "--barbican-endpoint",
                             "http://127.0.0.1:9", "--connect-timeout", "1"});

  EXPECT_EQ(result.exit_code, static_cast<int>(ExitCode::kRuntime));
  EXPECT_NE(result.err.find("http://127.0.0.1:9"), std::string::npos)
      << result.err;
  ExpectUnchanged();
}

TEST_F(ProvisionBadInputTest, OtherOrganisationIsRefusedAsBadInput) {
  RunResult result =
      RunSiq({"provision", "--vps", vps_, "--org", "someone-else", "--records",
              records_, "--reader-user", "x"});

  EXPECT_EQ(result.exit_code, static_cast<int>(ExitCode::kUsage));
  EXPECT_NE(result.err.find("org-test"), std::string::npos) << result.err;
  ExpectUnchanged();
}

// The house rule, for provision and status: at debug level, no payload,
// password, token or credential secret reaches stdout or stderr.
TEST_F(ProvisionTest, DebugOutputCarriesNoSecret) {
  std::string vps = UniqueName("vps-canary");
  std::string credential = dir_ + "/canary.yaml";

  RunResult provision = ProvisionCreatingReader(vps, credential, {"-vv"});
  RunResult status = RunSiq({"-vv", "status", vps, "--records", records_});

  ASSERT_EQ(provision.exit_code, 0) << provision.err;
  ASSERT_EQ(status.exit_code, 0) << status.err;
  records::Deployment record = Record(vps);
  Forget(record.reader_user_id);
  keystone::AuthConfig reader_config = ReaderFromCloudsYaml(credential);
  std::string app_secret(reader_config.application_credential_secret.Reveal());
  std::string password(DeployerConfig().password.Reveal());
  Connected reader(std::move(reader_config));
  std::vector<std::string> secrets = {app_secret, password, "gAAAAA"};
  for (const auto& [kind, slot] : record.secrets) {
    auto payload = reader.barbican.GetPayload(SecretRef(slot.current->ref));
    ASSERT_TRUE(payload.ok());
    secrets.emplace_back(EncodeBase64(payload->Reveal()).Reveal());
    secrets.emplace_back(EncodeHex(payload->Reveal()).Reveal());
    secrets.emplace_back(payload->Reveal());
  }
  EXPECT_NE(provision.err.find("POST /v1/orders 202"), std::string::npos)
      << "debug logging was not on";
  for (const RunResult* run : {&provision, &status}) {
    for (const std::string& secret : secrets) {
      EXPECT_EQ(run->out.find(secret), std::string::npos);
      EXPECT_EQ(run->err.find(secret), std::string::npos);
    }
  }
}

// `siq provision --batch`: many VPSs, several at once, one token.
class ProvisionBatchTest : public ProvisionTest {
 protected:
  // A batch file with `count` VPSs, each with a reader of its own (made by
  // the admin), in CSV.
  std::string WriteBatch(size_t count) {
    std::string csv = "vps,org,env,reader\n";
    for (size_t i = 0; i < count; ++i) {
      TestReader reader = CreateTestReader("batch-reader");
      Forget(reader.id);
      vpss_.push_back(UniqueName("vps-batch"));
      csv += fmt::format("{},org-batch,production,{}\n", vpss_.back(),
                         reader.name);
      readers_.push_back(std::move(reader));
    }
    std::string path = dir_ + "/fleet.csv";
    std::ofstream(path) << csv;
    return path;
  }

  RunResult ProvisionBatch(const std::string& file,
                           std::vector<std::string> extra = {},
                           std::map<std::string, std::string> env = {}) {
    std::vector<std::string> args = {"provision",  "--batch",  file,
                                     "--parallel", "3",        "--records",
                                     records_,     "--output", "json"};
    args.insert(args.end(), extra.begin(), extra.end());
    return RunSiq(args, RunOptions{.env = std::move(env)});
  }

  std::vector<std::string> vpss_;
  std::vector<TestReader> readers_;
};

TEST_F(ProvisionBatchTest, SixVpsThreeAtATimeAllCompleteAndReadOwnSecrets) {
  std::string file = WriteBatch(6);

  RunResult result = ProvisionBatch(file);

  ASSERT_EQ(result.exit_code, 0) << result.err;
  auto doc = nlohmann::json::parse(result.out);
  EXPECT_EQ(doc["total"], 6);
  EXPECT_EQ(doc["succeeded"], 6);
  EXPECT_EQ(doc["failed"], 0);
  for (size_t i = 0; i < vpss_.size(); ++i) {
    EXPECT_EQ(doc["results"][i]["vps"], vpss_[i]);
    EXPECT_EQ(doc["results"][i]["outcome"], "provisioned");
    ExpectConverged(vpss_[i]);
    records::Deployment own = Record(vpss_[i]);
    records::Deployment other = Record(vpss_[(i + 1) % vpss_.size()]);
    EXPECT_EQ(own.reader_user_id, readers_[i].id);
    Connected reader(readers_[i].config.Clone());
    auto payload = reader.barbican.GetPayload(
        SecretRef(own.secrets.at("JWT_SECRET").current->ref));
    auto foreign = reader.barbican.GetPayload(
        SecretRef(other.secrets.at("JWT_SECRET").current->ref));
    ASSERT_TRUE(payload.ok()) << payload.status().message();
    EXPECT_EQ(payload->size(), 32u);
    EXPECT_EQ(foreign.status().http_status(), 403);
  }
}

TEST_F(ProvisionBatchTest, OneFailingVpsLeavesTheOthersCompleteAndExitsFour) {
  std::string file = WriteBatch(3);
  std::string bad_vps = UniqueName("vps-batch-bad");
  std::ofstream(file, std::ios::app)
      << bad_vps << ",org-batch,production,no-such-reader-user\n";

  RunResult result = ProvisionBatch(file);

  EXPECT_EQ(result.exit_code, static_cast<int>(ExitCode::kPartialFailure))
      << result.err;
  auto doc = nlohmann::json::parse(result.out);
  EXPECT_EQ(doc["succeeded"], 3);
  EXPECT_EQ(doc["failed"], 1);
  EXPECT_EQ(doc["results"][3]["vps"], bad_vps);
  EXPECT_EQ(doc["results"][3]["outcome"], "failed");
  EXPECT_NE(
      doc["results"][3]["error"].get<std::string>().find("no-such-reader-user"),
      std::string::npos);
  for (const std::string& vps : vpss_) {
    ExpectConverged(vps);
  }
  records::FileRecordStore store(records_, std::chrono::seconds(5));
  auto bad = store.Load(*records::VpsId::Parse(bad_vps));
  ASSERT_TRUE(bad.ok());
  EXPECT_FALSE(bad->has_value()) << "a refused VPS leaves no record";
  EXPECT_TRUE(SecretsOf(bad_vps).empty());
}

TEST_F(ProvisionBatchTest, EveryWorkerIsHeldToTheActingRolesPolicy) {
  std::string file = WriteBatch(2);
  std::string config = dir_ + "/support.yaml";
  std::ofstream(config) << "role: support\n";

  RunResult result = ProvisionBatch(file, {"--config", config});

  EXPECT_EQ(result.exit_code, static_cast<int>(ExitCode::kPolicyDenied))
      << result.err;
  auto doc = nlohmann::json::parse(result.out);
  EXPECT_EQ(doc["failed"], 2);
  EXPECT_NE(doc["results"][0]["error"].get<std::string>().find("support"),
            std::string::npos)
      << doc.dump();
  for (const std::string& vps : vpss_) {
    EXPECT_TRUE(SecretsOf(vps).empty()) << vps;
  }
}

TEST_F(ProvisionBatchTest, BadLineIsNamedAndNothingIsProvisioned) {
  std::string file = WriteBatch(2);
  std::ofstream(file, std::ios::app) << "vps_bad%,org-batch,production,r\n";

  RunResult result = ProvisionBatch(file);

  EXPECT_EQ(result.exit_code, static_cast<int>(ExitCode::kUsage));
  EXPECT_NE(result.err.find(file + ":4: vps:"), std::string::npos)
      << result.err;
  EXPECT_FALSE(std::filesystem::exists(records_));
  for (const std::string& vps : vpss_) {
    EXPECT_TRUE(SecretsOf(vps).empty()) << vps;
  }
}

TEST_F(ProvisionBatchTest, RerunAfterSigkillMidBatchConverges) {
  std::string file = WriteBatch(4);

  RunResult killed =
      ProvisionBatch(file, {}, {{"SIQ_FAILPOINT", "provision.after-secrets"}});
  RunResult rerun = ProvisionBatch(file);

  EXPECT_EQ(killed.exit_code, 128 + SIGKILL) << killed.err;
  ASSERT_EQ(rerun.exit_code, 0) << rerun.err;
  auto doc = nlohmann::json::parse(rerun.out);
  EXPECT_EQ(doc["succeeded"], 4);
  int resumed = 0;
  for (const auto& item : doc["results"]) {
    resumed += item["outcome"] == "resumed" ? 1 : 0;
  }
  EXPECT_GE(resumed, 1) << rerun.out;
  for (const std::string& vps : vpss_) {
    ExpectConverged(vps);
  }
}

TEST_F(ProvisionBatchTest, DebugOutputCarriesNoSecret) {
  std::string file = WriteBatch(2);

  RunResult result = ProvisionBatch(file, {"-vv"});

  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_NE(result.err.find("POST /v1/orders 202"), std::string::npos)
      << "debug logging was not on";
  std::vector<std::string> secrets = {
      std::string(DeployerConfig().password.Reveal()), "gAAAAA"};
  for (size_t i = 0; i < vpss_.size(); ++i) {
    secrets.emplace_back(readers_[i].config.password.Reveal());
    Connected reader(readers_[i].config.Clone());
    for (const auto& [kind, slot] : Record(vpss_[i]).secrets) {
      auto payload = reader.barbican.GetPayload(SecretRef(slot.current->ref));
      ASSERT_TRUE(payload.ok()) << payload.status().message();
      secrets.emplace_back(payload->Reveal());
      secrets.emplace_back(EncodeBase64(payload->Reveal()).Reveal());
      secrets.emplace_back(EncodeHex(payload->Reveal()).Reveal());
    }
  }
  std::string records = ReadFile(records_);
  for (const std::string& secret : secrets) {
    EXPECT_EQ(result.out.find(secret), std::string::npos);
    EXPECT_EQ(result.err.find(secret), std::string::npos);
    EXPECT_EQ(records.find(secret), std::string::npos);
  }
}

}  // namespace
}  // namespace siq::testing
