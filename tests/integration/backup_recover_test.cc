// `siq backup` and `siq recover` against the real local stack: bundles that
// `openssl cms` opens and that hold no payload, a manifest that catches a
// bundle altered or removed, and each rung of the recovery ladder with its
// exit code -- a deleted container rebuilt with the same refs, a record
// restored from a bundle, deleted secrets re-provisioned with the customer
// told through a real webhook endpoint -- and dry runs that change nothing.

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "core/base/encoding.h"
#include "core/base/exit_codes.h"
#include "core/records/store.h"
#include "tests/integration/message_sink.h"
#include "tests/integration/stack.h"

namespace siq::testing {
namespace {

namespace fs = std::filesystem;
using barbican::ContainerRef;
using barbican::SecretRef;

constexpr int kRebuilt = static_cast<int>(ExitCode::kRecoverRebuilt);
constexpr int kReprovisioned =
    static_cast<int>(ExitCode::kRecoverReprovisioned);

// What Barbican holds for a VPS: its secrets' refs by name and its
// containers with their entries, in a form that compares whole.
struct BarbicanState {
  std::set<std::pair<std::string, std::string>> secrets;
  std::set<std::pair<std::string, std::string>> container_entries;
  std::set<std::string> containers;
  bool operator==(const BarbicanState&) const = default;
};

class BackupRecoverTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    keys = ::testing::TempDir() + UniqueName("backup-keys");
    fs::create_directories(keys);
    std::string command = fmt::format(
        "openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=siq-ops "
        "-keyout {0}/ops.key -out {0}/ops.crt >/dev/null 2>&1",
        keys);
    ASSERT_EQ(std::system(command.c_str()), 0);
  }
  static void TearDownTestSuite() { fs::remove_all(keys); }

  BackupRecoverTest()
      : dir_(::testing::TempDir() + UniqueName("backup")),
        records_(dir_ + "/deployments.json"),
        backups_(dir_ + "/backups"),
        config_(dir_ + "/siq.yaml"),
        deployer_(DeployerConfig()) {
    fs::create_directories(dir_);
    WriteConfig("");
  }

  ~BackupRecoverTest() override {
    for (const std::string& id : users_) {
      DeleteUser(id);
    }
    fs::remove_all(dir_);
  }

  // siq's config: this test's record file, backup directory and recipient,
  // the shipped policies, and `extra` YAML (notification channels).
  void WriteConfig(const std::string& extra) {
    std::ofstream out(config_, std::ios::trunc);
    out << fmt::format(
        "records: {}\npolicies: {}/policies\nbackup:\n  directory: {}\n"
        "  recipients: [{}/ops.crt]\n{}",
        records_, SIQ_SOURCE_DIR, backups_, keys, extra);
  }

  // siq with this test's config, given after the subcommand's name.
  RunResult Siq(std::vector<std::string> args, const RunOptions& options = {}) {
    auto command = std::find_if(args.begin(), args.end(), [](const auto& a) {
      return !a.starts_with("-");
    });
    args.insert(command + 1, {"--config", config_});
    return RunSiq(args, options);
  }

  // A provisioned VPS with a new reader whose clouds.yaml is "<vps>.yaml".
  std::string Provision(const std::string& what) {
    std::string vps = UniqueName(what);
    RunResult result =
        RunSiq({"provision", "--vps", vps, "--org", "org-test", "--records",
                records_, "--create-reader", "--reader-credential-fd", "3"},
               {.fd3_path = ReaderFile(vps)});
    EXPECT_EQ(result.exit_code, 0) << result.err;
    users_.push_back(Record(vps).reader_user_id);
    return vps;
  }

  std::string ReaderFile(const std::string& vps) const {
    return dir_ + "/" + vps + ".yaml";
  }

  records::Deployment Record(const std::string& vps) {
    records::FileRecordStore store(records_, std::chrono::seconds(5));
    auto record = store.Load(*records::VpsId::Parse(vps));
    EXPECT_TRUE(record.ok() && record->has_value()) << "no record of " << vps;
    return record.ok() && *record
               ? **record
               : records::Deployment{.vps = *records::VpsId::Parse(vps)};
  }

  bool HasRecord(const std::string& vps) {
    records::FileRecordStore store(records_, std::chrono::seconds(5));
    auto record = store.Load(*records::VpsId::Parse(vps));
    return record.ok() && record->has_value();
  }

  // The bundle written by `siq backup` to the backup directory.
  std::string Backup() {
    RunResult result = Siq({"backup", "--output", "json"});
    EXPECT_EQ(result.exit_code, 0) << result.err;
    return nlohmann::json::parse(result.out).value("path", "");
  }

  BarbicanState StateOf(const std::string& vps) {
    BarbicanState state;
    auto secrets = deployer_.barbican.ListSecrets({.name = vps + "_%"});
    EXPECT_TRUE(secrets.ok());
    for (const auto& meta :
         secrets.ok() ? *secrets : std::vector<barbican::SecretMeta>{}) {
      state.secrets.emplace(meta.name, meta.ref.url());
    }
    auto containers = deployer_.barbican.ListContainers(vps);
    EXPECT_TRUE(containers.ok());
    for (const auto& container :
         containers.ok() ? *containers : std::vector<barbican::Container>{}) {
      state.containers.insert(container.ref.url());
      for (const auto& entry : container.secrets) {
        state.container_entries.emplace(entry.name, entry.ref.url());
      }
    }
    return state;
  }

  void DeleteSecretsOf(const std::string& vps) {
    for (const auto& [kind, slot] : Record(vps).secrets) {
      ASSERT_TRUE(
          deployer_.barbican.DeleteSecret(SecretRef(slot.current->ref)).ok());
    }
  }

  void DeleteContainerOf(const std::string& vps) {
    ASSERT_TRUE(deployer_.barbican
                    .DeleteContainer(ContainerRef(Record(vps).container_ref))
                    .ok());
  }

  // Every payload of the VPS, read by its reader: raw, base64 and hex.
  std::vector<std::string> PayloadForms(const std::string& vps) {
    Connected reader(ReaderFromCloudsYaml(ReaderFile(vps)));
    std::vector<std::string> forms;
    for (const auto& [kind, slot] : Record(vps).secrets) {
      auto payload = reader.barbican.GetPayload(SecretRef(slot.current->ref));
      EXPECT_TRUE(payload.ok()) << payload.status().message();
      if (!payload.ok()) {
        continue;
      }
      forms.emplace_back(payload->Reveal());
      forms.emplace_back(EncodeBase64(payload->Reveal()).Reveal());
      forms.emplace_back(EncodeHex(payload->Reveal()).Reveal());
    }
    return forms;
  }

  static inline std::string keys;  // the recipient's key and certificate
  std::string dir_;
  std::string records_;
  std::string backups_;
  std::string config_;
  Connected deployer_;
  std::vector<std::string> users_;
};

// What `openssl cms -decrypt` prints for `bundle`, or "" when it fails.
std::string OpensslDecrypt(const std::string& bundle, const std::string& keys) {
  std::string command = fmt::format(
      "openssl cms -decrypt -in {0} -inkey {1}/ops.key -recip {1}/ops.crt "
      "2>/dev/null",
      bundle, keys);
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) {
    return "";
  }
  std::string text;
  char buffer[4096];
  size_t count = 0;
  while ((count = fread(buffer, 1, sizeof(buffer), pipe)) > 0) {
    text.append(buffer, count);
  }
  return pclose(pipe) == 0 ? text : "";
}

TEST_F(BackupRecoverTest, BundleOpensWithOpensslAndHoldsNoPayload) {
  std::string vps = Provision("vps-bk");
  records::Deployment record = Record(vps);

  std::string bundle = Backup();

  ASSERT_FALSE(bundle.empty());
  struct stat info {};
  ASSERT_EQ(stat(bundle.c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0600u);
  std::string plain = OpensslDecrypt(bundle, keys);
  ASSERT_FALSE(plain.empty()) << "openssl cms -decrypt failed";
  auto doc = nlohmann::json::parse(plain);
  EXPECT_EQ(doc["records"]["deployments"][vps]["container_ref"],
            record.container_ref);
  EXPECT_EQ(doc["barbican"]["secrets"].size(), record.secrets.size());
  for (const auto& check : doc["barbican"]["secrets"]) {
    EXPECT_EQ(check["state"], "present") << check.dump();
    EXPECT_EQ(check["acl"]["read_users"][0], record.reader_user_id);
  }
  EXPECT_FALSE(doc["policies"]["files"].empty());
  std::string sealed = ReadFile(bundle);
  for (const std::string& form : PayloadForms(vps)) {
    EXPECT_EQ(plain.find(form), std::string::npos);
    EXPECT_EQ(sealed.find(form), std::string::npos);
  }
}

TEST_F(BackupRecoverTest, HealthyVpsIsNothingToDo) {
  std::string vps = Provision("vps-ok");
  std::string before = ReadFile(records_);

  RunResult result = Siq({"recover", vps, "--output", "json"});

  EXPECT_EQ(result.exit_code, 0) << result.err;
  auto doc = nlohmann::json::parse(result.out);
  EXPECT_EQ(doc["rung"], 1);
  EXPECT_TRUE(doc["findings"].empty());
  EXPECT_EQ(ReadFile(records_), before);
}

TEST_F(BackupRecoverTest, DeletedContainerIsRebuiltWithTheSameRefs) {
  std::string vps = Provision("vps-ct");
  Backup();
  records::Deployment before = Record(vps);
  DeleteContainerOf(vps);

  RunResult result = Siq({"recover", vps});

  EXPECT_EQ(result.exit_code, kRebuilt) << result.out << result.err;
  records::Deployment after = Record(vps);
  EXPECT_NE(after.container_ref, before.container_ref);
  EXPECT_EQ(after.state, records::kStateComplete);
  Connected reader(ReaderFromCloudsYaml(ReaderFile(vps)));
  auto container =
      reader.barbican.GetContainer(ContainerRef(after.container_ref));
  ASSERT_TRUE(container.ok()) << container.status().message();
  ASSERT_EQ(container->secrets.size(), before.secrets.size());
  for (const auto& entry : container->secrets) {
    EXPECT_EQ(entry.ref.url(), before.secrets.at(entry.name).current->ref);
    auto payload = reader.barbican.GetPayload(entry.ref);
    EXPECT_TRUE(payload.ok()) << entry.name << payload.status().message();
  }
}

TEST_F(BackupRecoverTest, RecordRemovedFromTheFileIsRestoredFromTheBundle) {
  std::string vps = Provision("vps-rec");
  Backup();
  records::Deployment before = Record(vps);
  records::FileRecordStore store(records_, std::chrono::seconds(5));
  ASSERT_TRUE(store
                  .Update(before.vps,
                          [](std::optional<records::Deployment>& record) {
                            record.reset();
                            return OkStatus();
                          })
                  .ok());
  ASSERT_FALSE(HasRecord(vps));

  RunResult result = Siq({"recover", vps, "--key", keys + "/ops.key", "--cert",
                          keys + "/ops.crt"});

  EXPECT_EQ(result.exit_code, kRebuilt) << result.out << result.err;
  records::Deployment after = Record(vps);
  before.updated_at = after.updated_at;
  EXPECT_EQ(after, before);
}

TEST_F(BackupRecoverTest, DeletedSecretsAreReprovisionedAndTheCustomerTold) {
  MessageSink hook(MessageSink::Kind::kWebhook);
  WriteConfig(
      fmt::format("notifications:\n  - name: customer-hook\n"
                  "    webhook: {}\n    audiences: [customer]\n",
                  hook.url()));
  std::string vps = Provision("vps-gone");
  records::Deployment before = Record(vps);
  DeleteSecretsOf(vps);

  RunResult result = Siq({"recover", vps, "--yes", "--output", "json"});

  EXPECT_EQ(result.exit_code, kReprovisioned) << result.out << result.err;
  records::Deployment after = Record(vps);
  ASSERT_TRUE(after.recovered_at.has_value());
  EXPECT_EQ(after.state, records::kStateComplete);
  Connected reader(ReaderFromCloudsYaml(ReaderFile(vps)));
  for (const auto& [kind, slot] : after.secrets) {
    EXPECT_NE(slot.current->ref, before.secrets.at(kind).current->ref);
    auto payload = reader.barbican.GetPayload(SecretRef(slot.current->ref));
    EXPECT_TRUE(payload.ok()) << kind << payload.status().message();
  }
  auto posts = hook.WaitFor(1);
  ASSERT_EQ(posts.size(), 1u);
  auto notice = nlohmann::json::parse(posts[0]);
  EXPECT_EQ(notice["event"], "customer_reauth");
  EXPECT_EQ(notice["audience"], "customer");
  EXPECT_EQ(notice["vps"], vps);
  EXPECT_NE(notice["text"].get<std::string>().find("re-authenticate"),
            std::string::npos);
  EXPECT_EQ(nlohmann::json::parse(result.out)["notice"][0]["ok"], true);
}

TEST_F(BackupRecoverTest, ReprovisioningKilledHalfWayResumesAsRungThree) {
  std::string vps = Provision("vps-crash");
  DeleteSecretsOf(vps);

  RunResult killed =
      Siq({"recover", vps, "--yes"},
          {.env = {{"SIQ_FAILPOINT", "provision.after-first-secret"}}});
  RunResult rerun = Siq({"recover", vps, "--yes", "--output", "json"});

  EXPECT_EQ(killed.exit_code, 128 + SIGKILL) << killed.err;
  EXPECT_EQ(rerun.exit_code, kReprovisioned) << rerun.out << rerun.err;
  records::Deployment after = Record(vps);
  EXPECT_TRUE(after.recovered_at.has_value());
  EXPECT_EQ(after.state, records::kStateComplete);
  EXPECT_EQ(Siq({"recover", vps}).exit_code, 0);
  Connected reader(ReaderFromCloudsYaml(ReaderFile(vps)));
  for (const auto& [kind, slot] : after.secrets) {
    auto found = deployer_.barbican.FindSecretsNamed(slot.name);
    ASSERT_TRUE(found.ok());
    EXPECT_EQ(found->size(), 1u) << kind;
    auto payload = reader.barbican.GetPayload(SecretRef(slot.current->ref));
    EXPECT_TRUE(payload.ok()) << kind << payload.status().message();
  }
}

TEST_F(BackupRecoverTest, ReprovisioningWithoutYesOffATerminalIsRefused) {
  std::string vps = Provision("vps-noyes");
  DeleteSecretsOf(vps);
  std::string before = ReadFile(records_);
  BarbicanState state = StateOf(vps);

  RunResult result = Siq({"recover", vps});

  EXPECT_EQ(result.exit_code, static_cast<int>(ExitCode::kUsage));
  EXPECT_NE(result.err.find("--yes"), std::string::npos) << result.err;
  EXPECT_EQ(ReadFile(records_), before);
  EXPECT_EQ(StateOf(vps), state);
}

TEST_F(BackupRecoverTest, DryRunOfARebuildChangesNothing) {
  std::string vps = Provision("vps-dry2");
  DeleteContainerOf(vps);
  std::string before = ReadFile(records_);
  BarbicanState state = StateOf(vps);

  RunResult result = Siq({"recover", vps, "--dry-run", "--output", "json"});

  EXPECT_EQ(result.exit_code, kRebuilt) << result.err;
  auto doc = nlohmann::json::parse(result.out);
  EXPECT_EQ(doc["rung"], 2);
  EXPECT_FALSE(doc["plan"].empty());
  EXPECT_TRUE(doc["calls"].empty());
  EXPECT_EQ(ReadFile(records_), before);
  EXPECT_EQ(StateOf(vps), state);
}

TEST_F(BackupRecoverTest, DryRunOfAReprovisioningChangesNothing) {
  std::string vps = Provision("vps-dry3");
  DeleteSecretsOf(vps);
  std::string before = ReadFile(records_);
  BarbicanState state = StateOf(vps);

  RunResult result = Siq({"recover", vps, "--dry-run", "--yes"});

  EXPECT_EQ(result.exit_code, kReprovisioned) << result.err;
  EXPECT_NE(result.out.find("rung 3"), std::string::npos) << result.out;
  EXPECT_EQ(ReadFile(records_), before);
  EXPECT_EQ(StateOf(vps), state);
}

TEST_F(BackupRecoverTest, AllSummarisesEveryVpsAndExitsWithTheHighestRung) {
  std::string healthy = Provision("vps-all-a");
  std::string broken = Provision("vps-all-b");
  DeleteContainerOf(broken);

  RunResult result = Siq({"recover", "--all", "--output", "json"});

  EXPECT_EQ(result.exit_code, kRebuilt) << result.err;
  auto doc = nlohmann::json::parse(result.out);
  EXPECT_EQ(doc["checked"], 2);
  std::map<std::string, int> rungs;
  for (const auto& entry : doc["vps"]) {
    rungs[entry["vps"]] = entry["rung"];
  }
  EXPECT_EQ(rungs[healthy], 1);
  EXPECT_EQ(rungs[broken], 2);
}

TEST_F(BackupRecoverTest, TamperedBundleIsCaughtByVerifyAndRecover) {
  std::string vps = Provision("vps-tamper");
  std::string bundle = Backup();
  std::string sealed = ReadFile(bundle);
  size_t at = sealed.size() - 40;
  sealed[at] = sealed[at] == 'A' ? 'B' : 'A';
  std::ofstream(bundle, std::ios::trunc | std::ios::binary) << sealed;

  RunResult verify = Siq({"backup", "verify", backups_});
  RunResult recover = Siq({"recover", vps, "--from-backup", bundle, "--key",
                           keys + "/ops.key", "--dry-run"});

  EXPECT_EQ(verify.exit_code, static_cast<int>(ExitCode::kRuntime));
  EXPECT_NE(verify.out.find(bundle + ": altered or replaced"),
            std::string::npos)
      << verify.out;
  EXPECT_NE(recover.exit_code, 0);
  EXPECT_NE(recover.err.find(bundle), std::string::npos) << recover.err;
}

TEST_F(BackupRecoverTest, RemovedBundleIsCaughtByVerifyAndRecover) {
  std::string vps = Provision("vps-removed");
  std::string first = Backup();
  Backup();
  fs::remove(first);

  RunResult verify = Siq({"backup", "verify", backups_});
  RunResult recover = Siq({"recover", vps, "--from-backup", first, "--key",
                           keys + "/ops.key", "--dry-run"});

  EXPECT_EQ(verify.exit_code, static_cast<int>(ExitCode::kRuntime));
  EXPECT_NE(verify.out.find(first + ": removed"), std::string::npos)
      << verify.out;
  EXPECT_NE(recover.exit_code, 0);
  EXPECT_NE(recover.err.find("no such backup bundle"), std::string::npos)
      << recover.err;
}

TEST_F(BackupRecoverTest, WrongPassphraseIsAClearError) {
  std::string vps = Provision("vps-pass");
  std::ofstream(dir_ + "/right", std::ios::trunc) << "right horse battery\n";
  std::ofstream(dir_ + "/wrong", std::ios::trunc) << "wrong horse battery\n";
  RunResult backup =
      Siq({"backup", "--out", dir_ + "/one.p7m", "--passphrase-fd", "0"},
          {.stdin_path = dir_ + "/right"});
  ASSERT_EQ(backup.exit_code, 0) << backup.err;

  RunResult wrong = Siq({"recover", vps, "--from-backup", dir_ + "/one.p7m",
                         "--passphrase-fd", "0", "--dry-run"},
                        {.stdin_path = dir_ + "/wrong"});
  RunResult right = Siq({"recover", vps, "--from-backup", dir_ + "/one.p7m",
                         "--passphrase-fd", "0", "--dry-run"},
                        {.stdin_path = dir_ + "/right"});

  EXPECT_EQ(wrong.exit_code, static_cast<int>(ExitCode::kRuntime));
  EXPECT_NE(wrong.err.find("the passphrase does not fit"), std::string::npos)
      << wrong.err;
  EXPECT_EQ(right.exit_code, 0) << right.err;
}

// The house rule for backup and recover: at debug level no payload (old or
// new), passphrase, password or credential secret reaches stdout, stderr or
// a file siq wrote.
TEST_F(BackupRecoverTest, DebugOutputCarriesNoSecret) {
  std::string vps = Provision("vps-canary");
  std::string passphrase = UniqueName("Canary-Passphrase-5e1f");
  std::ofstream(dir_ + "/pass", std::ios::trunc) << passphrase << "\n";
  std::vector<std::string> secrets = PayloadForms(vps);
  keystone::AuthConfig reader = ReaderFromCloudsYaml(ReaderFile(vps));
  secrets.emplace_back(reader.application_credential_secret.Reveal());
  secrets.emplace_back(DeployerConfig().password.Reveal());
  secrets.push_back(passphrase);

  RunResult backup = Siq(
      {"-vv", "backup", "--out", dir_ + "/canary.p7m", "--passphrase-fd", "0"},
      {.stdin_path = dir_ + "/pass"});
  DeleteContainerOf(vps);
  RunResult rebuild = Siq({"-vv", "recover", vps, "--from-backup",
                           dir_ + "/canary.p7m", "--passphrase-fd", "0"},
                          {.stdin_path = dir_ + "/pass"});
  DeleteSecretsOf(vps);
  RunResult reprovision = Siq({"-vv", "recover", vps, "--yes"});
  std::vector<std::string> after = PayloadForms(vps);
  secrets.insert(secrets.end(), after.begin(), after.end());

  ASSERT_EQ(backup.exit_code, 0) << backup.err;
  EXPECT_EQ(rebuild.exit_code, kRebuilt) << rebuild.err;
  EXPECT_EQ(reprovision.exit_code, kReprovisioned) << reprovision.err;
  EXPECT_NE(backup.err.find("GET /v1/secrets/"), std::string::npos)
      << "debug logging was not on";
  std::string files = ReadFile(dir_ + "/canary.p7m") + ReadFile(records_);
  for (const RunResult* run : {&backup, &rebuild, &reprovision}) {
    for (const std::string& secret : secrets) {
      EXPECT_EQ(run->out.find(secret), std::string::npos);
      EXPECT_EQ(run->err.find(secret), std::string::npos);
      EXPECT_EQ(files.find(secret), std::string::npos);
    }
  }
}

}  // namespace
}  // namespace siq::testing
