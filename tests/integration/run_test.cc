// `siq run` against the real local stack: a VPS provisioned with a reader,
// `siq run` started as that reader with siq_env_hasher as the child, and
// what the child saw, what siq's own /proc shows, and the consumers that
// Barbican records.

#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <openssl/evp.h>

#include "core/base/encoding.h"
#include "core/base/exit_codes.h"
#include "core/records/store.h"
#include "core/run/secret_loader.h"
#include "tests/integration/stack.h"

extern char** environ;  // NOLINT: POSIX declares it nowhere else

namespace siq::testing {
namespace {

using barbican::Acl;
using barbican::ContainerRef;
using barbican::SecretRef;
using std::chrono::seconds;

const std::vector<std::string> kKinds = {
    "API_KEY_PRIMARY", "API_KEY_SECONDARY",  "DB_PASSWORD",
    "ENCRYPTION_KEY",  "JWT_REFRESH_SECRET", "JWT_SECRET",
    "SESSION_SECRET"};

std::string Sha256Hex(std::string_view bytes) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  EVP_Digest(bytes.data(), bytes.size(), digest, &size, EVP_sha256(), nullptr);
  return std::string(
      EncodeHex(std::string_view(reinterpret_cast<char*>(digest), size))
          .Reveal());
}

// The hasher's file as name -> value ("pid", "generation", and kinds).
std::map<std::string, std::string> ParseHashes(const std::string& text) {
  std::map<std::string, std::string> lines;
  std::istringstream in(text);
  std::string name;
  std::string value;
  while (in >> name >> value) {
    lines[name] = value;
  }
  return lines;
}

// Polls `condition` until it holds or 30 seconds pass.
bool Eventually(const std::function<bool()>& condition) {
  auto deadline = std::chrono::steady_clock::now() + seconds(30);
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition()) {
      return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return condition();
}

struct Vps {
  std::string id;
  std::string credential;  // the reader's clouds.yaml
  std::optional<records::Deployment> record_storage;
  const records::Deployment& record() const { return *record_storage; }
};

class RunTest : public ::testing::Test {
 protected:
  RunTest()
      : dir_(::testing::TempDir() + UniqueName("run")),
        records_(dir_ + "/deployments.json"),
        deployer_(DeployerConfig()) {
    std::filesystem::create_directories(dir_);
  }

  ~RunTest() override {
    for (const std::string& id : users_) {
      DeleteUser(id);
    }
    std::filesystem::remove_all(dir_);
  }

  Vps Provision(const std::string& what) {
    Vps vps{UniqueName(what), dir_ + "/" + what + ".yaml", std::nullopt};
    RunResult result =
        RunSiq({"provision", "--vps", vps.id, "--org", "org-test", "--records",
                records_, "--create-reader", "--reader-credential-fd", "3"},
               {.fd3_path = vps.credential});
    EXPECT_EQ(result.exit_code, 0) << result.err;
    records::FileRecordStore store(records_, seconds(5));
    auto record = store.Load(*records::VpsId::Parse(vps.id));
    if (record.ok() && record->has_value()) {
      vps.record_storage = **record;
      users_.push_back(vps.record().reader_user_id);
    } else {
      ADD_FAILURE() << "no record of " << vps.id;
    }
    return vps;
  }

  // Runs as the VPS's reader: every OS_* of the deployer removed, the
  // reader's clouds.yaml in their place.
  static RunOptions AsReader(const Vps& vps) {
    RunOptions options;
    for (char** entry = environ; *entry != nullptr; ++entry) {
      std::string_view line(*entry);
      if (line.starts_with("OS_")) {
        options.env[std::string(line.substr(0, line.find('=')))] = "";
      }
    }
    options.env["OS_CLIENT_CONFIG_FILE"] = vps.credential;
    options.env["OS_CLOUD"] = "siq-reader";
    return options;
  }

  // siq run for `vps` with the hasher as child, writing to `out`.
  std::vector<std::string> RunArgs(const Vps& vps,
                                   const std::string& out,
                                   const std::vector<std::string>& flags,
                                   const std::vector<std::string>& child) {
    std::vector<std::string> args = {"run", "--vps", vps.id, "--container",
                                     vps.record().container_ref};
    args.insert(args.end(), flags.begin(), flags.end());
    args.insert(args.end(), {"--", SIQ_ENV_HASHER, "--out", out});
    args.insert(args.end(), child.begin(), child.end());
    return args;
  }

  SecretRef CurrentRef(const Vps& vps, const std::string& kind) {
    return SecretRef(vps.record().secrets.at(kind).current->ref);
  }

  std::string PayloadHash(Connected& reader, const SecretRef& ref) {
    auto payload = reader.barbican.GetPayload(ref);
    EXPECT_TRUE(payload.ok()) << payload.status().message();
    return payload.ok() ? Sha256Hex(payload->Reveal()) : "";
  }

  // A new secret for `kind` the way a rotation makes one: a key order, the
  // reader alone on its ACL, added to the container under the kind name.
  SecretRef AddRotatedSecret(const Vps& vps, const std::string& kind) {
    auto order =
        deployer_.barbican.CreateKeyOrder({.name = vps.id + "_" + kind});
    EXPECT_TRUE(order.ok()) << order.status().message();
    auto done = deployer_.barbican.WaitForOrder(*order, seconds(30));
    EXPECT_TRUE(done.ok()) << done.status().message();
    SecretRef ref = done->secret_ref;
    Acl acl{.read_users = {vps.record().reader_user_id},
            .project_access = false};
    EXPECT_TRUE(deployer_.barbican.SetSecretAcl(ref, acl).ok());
    EXPECT_TRUE(deployer_.barbican
                    .AddContainerSecret(
                        ContainerRef(vps.record().container_ref), {kind, ref})
                    .ok());
    return ref;
  }

  bool IsConsumer(const Vps& vps, const SecretRef& ref) {
    auto consumers = deployer_.barbican.ListSecretConsumers(ref);
    if (!consumers.ok()) {
      return false;
    }
    barbican::Consumer expected{"siq-run", "vps", vps.id};
    return std::find(consumers->begin(), consumers->end(), expected) !=
           consumers->end();
  }

  std::string dir_;
  std::string records_;
  Connected deployer_;
  std::vector<std::string> users_;
};

TEST_F(RunTest, ChildSeesThePayloadsOfItsSecrets) {
  Vps vps = Provision("vps-run");
  std::string out = dir_ + "/hashes";
  std::vector<std::string> child = {"--exit", "0"};
  child.insert(child.end(), kKinds.begin(), kKinds.end());

  RunResult result = RunSiq(RunArgs(vps, out, {}, child), AsReader(vps));

  ASSERT_EQ(result.exit_code, 0) << result.err;
  auto hashes = ParseHashes(ReadFile(out));
  Connected reader(ReaderFromCloudsYaml(vps.credential));
  for (const std::string& kind : kKinds) {
    EXPECT_EQ(hashes[kind], PayloadHash(reader, CurrentRef(vps, kind))) << kind;
  }
}

TEST_F(RunTest, HexEncodingCarriesTheSamePayloads) {
  Vps vps = Provision("vps-hex");
  std::string out = dir_ + "/hashes";

  RunResult result =
      RunSiq(RunArgs(vps, out, {"--encoding", "hex"},
                     {"--decode", "hex", "--exit", "0", "JWT_SECRET"}),
             AsReader(vps));

  ASSERT_EQ(result.exit_code, 0) << result.err;
  Connected reader(ReaderFromCloudsYaml(vps.credential));
  EXPECT_EQ(ParseHashes(ReadFile(out))["JWT_SECRET"],
            PayloadHash(reader, CurrentRef(vps, "JWT_SECRET")));
}

TEST_F(RunTest, ExitsWithTheChildsExitCode) {
  Vps vps = Provision("vps-exit");

  RunResult result =
      RunSiq(RunArgs(vps, dir_ + "/h", {}, {"--exit", "7"}), AsReader(vps));

  EXPECT_EQ(result.exit_code, 7) << result.err;
}

TEST_F(RunTest, TermIsForwardedAndTheExitCodeIs128PlusTheSignal) {
  Vps vps = Provision("vps-term");
  std::string out = dir_ + "/hashes";
  SiqProcess siq(RunArgs(vps, out, {}, {"JWT_SECRET"}), AsReader(vps));
  ASSERT_TRUE(Eventually([&] { return !ReadFile(out).empty(); }));

  kill(siq.pid(), SIGTERM);
  RunResult result = siq.Wait();

  EXPECT_EQ(result.exit_code, 128 + SIGTERM) << result.err;
  std::string child_pid = ParseHashes(ReadFile(out))["pid"];
  EXPECT_FALSE(std::filesystem::exists("/proc/" + child_pid + "/status"));
}

TEST_F(RunTest, SiqsOwnEnvironAndCmdlineHoldNoValue) {
  Vps vps = Provision("vps-proc");
  std::string out = dir_ + "/hashes";
  SiqProcess siq(RunArgs(vps, out, {}, {"JWT_SECRET"}), AsReader(vps));
  ASSERT_TRUE(Eventually([&] { return !ReadFile(out).empty(); }));

  std::string proc = "/proc/" + std::to_string(siq.pid());
  std::string environ_text = ReadFile(proc + "/environ");
  std::string cmdline = ReadFile(proc + "/cmdline");
  kill(siq.pid(), SIGTERM);
  siq.Wait();

  ASSERT_FALSE(environ_text.empty());
  ASSERT_NE(cmdline.find("JWT_SECRET"), std::string::npos) << "siq's argv";
  Connected reader(ReaderFromCloudsYaml(vps.credential));
  for (const std::string& kind : kKinds) {
    auto payload = reader.barbican.GetPayload(CurrentRef(vps, kind));
    ASSERT_TRUE(payload.ok());
    for (const SecretBytes& form :
         {payload->Clone(), EncodeBase64(payload->Reveal()),
          EncodeHex(payload->Reveal())}) {
      EXPECT_EQ(environ_text.find(form.Reveal()), std::string::npos) << kind;
      EXPECT_EQ(cmdline.find(form.Reveal()), std::string::npos) << kind;
    }
  }
}

TEST_F(RunTest, CredentialFileIsUsedInsteadOfTheEnvironment) {
  Vps vps = Provision("vps-file");
  std::filesystem::permissions(
      vps.credential,
      std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);

  // The deployer's OS_* stay in the environment: only the file may count.
  RunResult result =
      RunSiq(RunArgs(vps, dir_ + "/h", {"--credential-file", vps.credential},
                     {"--exit", "0", "JWT_SECRET"}));

  ASSERT_EQ(result.exit_code, 0) << result.err;
  Connected reader(ReaderFromCloudsYaml(vps.credential));
  EXPECT_EQ(ParseHashes(ReadFile(dir_ + "/h"))["JWT_SECRET"],
            PayloadHash(reader, CurrentRef(vps, "JWT_SECRET")));
}

TEST_F(RunTest, CredentialFileReadableByOthersIsRefused) {
  std::string file = dir_ + "/open.yaml";
  {
    std::ofstream out(file);
    out << "clouds: {}\n";
  }
  std::filesystem::permissions(file, std::filesystem::perms::owner_read |
                                         std::filesystem::perms::group_read);

  RunResult result = RunSiq({"run", "--vps", "vps-x", "--credential-file", file,
                             "--", SIQ_ENV_HASHER, "--out", dir_ + "/h"});

  EXPECT_EQ(result.exit_code, static_cast<int>(ExitCode::kUsage));
  EXPECT_NE(result.err.find(file), std::string::npos) << result.err;
  EXPECT_NE(result.err.find("0600"), std::string::npos) << result.err;
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/h"));
}

TEST_F(RunTest, AnotherVpsReaderGetsAClear403) {
  Vps a = Provision("vps-a");
  Vps b = Provision("vps-b");
  RunOptions as_b = AsReader(b);

  RunResult result =
      RunSiq({"run", "--vps", a.id, "--container", a.record().container_ref,
              "--", SIQ_ENV_HASHER, "--out", dir_ + "/h", "--exit", "0"},
             as_b);

  EXPECT_EQ(result.exit_code, static_cast<int>(ExitCode::kRuntime));
  EXPECT_NE(result.err.find("HTTP 403"), std::string::npos) << result.err;
  EXPECT_NE(result.err.find(a.record().container_ref), std::string::npos)
      << result.err;
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/h")) << "no child started";
}

TEST_F(RunTest, CheckPrintsKindsAndFingerprintsAndNoValue) {
  Vps vps = Provision("vps-check");

  RunResult result = RunSiq({"run", "--check", "--vps", vps.id, "--container",
                             vps.record().container_ref, "-o", "json"},
                            AsReader(vps));

  ASSERT_EQ(result.exit_code, 0) << result.err;
  auto doc = nlohmann::json::parse(result.out);
  ASSERT_EQ(doc["secrets"].size(), kKinds.size());
  Connected reader(ReaderFromCloudsYaml(vps.credential));
  for (size_t i = 0; i < kKinds.size(); ++i) {
    const auto& secret = doc["secrets"][i];
    EXPECT_EQ(secret["variable"], kKinds[i]);
    EXPECT_EQ(secret["readable"], true);
    EXPECT_EQ(secret["fingerprint"],
              run::Fingerprint(CurrentRef(vps, kKinds[i])));
    auto payload = reader.barbican.GetPayload(CurrentRef(vps, kKinds[i]));
    ASSERT_TRUE(payload.ok());
    EXPECT_EQ(result.out.find(EncodeBase64(payload->Reveal()).Reveal()),
              std::string::npos);
    EXPECT_EQ(result.out.find(EncodeHex(payload->Reveal()).Reveal()),
              std::string::npos);
  }
}

TEST_F(RunTest, DebugOutputCarriesNoSecret) {
  Vps vps = Provision("vps-canary");
  std::vector<std::string> args =
      RunArgs(vps, dir_ + "/h", {}, {"--exit", "0", "JWT_SECRET"});
  args.insert(args.begin(), "-vv");

  RunResult result = RunSiq(args, AsReader(vps));

  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_NE(result.err.find("/payload 200"), std::string::npos)
      << "debug logging was not on: " << result.err;
  keystone::AuthConfig config = ReaderFromCloudsYaml(vps.credential);
  std::vector<std::string> secrets = {
      std::string(config.application_credential_secret.Reveal()),
      std::string(DeployerConfig().password.Reveal()), "gAAAAA"};
  Connected reader(std::move(config));
  for (const std::string& kind : kKinds) {
    auto payload = reader.barbican.GetPayload(CurrentRef(vps, kind));
    ASSERT_TRUE(payload.ok());
    secrets.emplace_back(payload->Reveal());
    secrets.emplace_back(EncodeBase64(payload->Reveal()).Reveal());
    secrets.emplace_back(EncodeHex(payload->Reveal()).Reveal());
  }
  for (const std::string& secret : secrets) {
    EXPECT_EQ(result.out.find(secret), std::string::npos);
    EXPECT_EQ(result.err.find(secret), std::string::npos);
  }
}

TEST_F(RunTest, DuringGraceTheOlderSecretIsPassedAsPrevious) {
  Vps vps = Provision("vps-grace");
  // Creation times decide which is current; Barbican keeps whole seconds.
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  SecretRef newer = AddRotatedSecret(vps, "JWT_SECRET");
  std::string out = dir_ + "/hashes";

  RunResult result =
      RunSiq(RunArgs(vps, out, {},
                     {"--exit", "0", "JWT_SECRET", "JWT_SECRET_PREVIOUS"}),
             AsReader(vps));

  ASSERT_EQ(result.exit_code, 0) << result.err;
  auto hashes = ParseHashes(ReadFile(out));
  Connected reader(ReaderFromCloudsYaml(vps.credential));
  EXPECT_EQ(hashes["JWT_SECRET"], PayloadHash(reader, newer));
  EXPECT_EQ(hashes["JWT_SECRET_PREVIOUS"],
            PayloadHash(reader, CurrentRef(vps, "JWT_SECRET")));
}

// Rotation while watching, done by hand as the deployer: a new secret added
// under the kind name, then the old entry removed.
class RunWatchTest : public RunTest {
 protected:
  SecretRef Rotate(const Vps& vps) {
    SecretRef newer = AddRotatedSecret(vps, "JWT_SECRET");
    EXPECT_TRUE(deployer_.barbican
                    .RemoveContainerSecret(
                        ContainerRef(vps.record().container_ref),
                        {"JWT_SECRET", CurrentRef(vps, "JWT_SECRET")})
                    .ok());
    return newer;
  }
};

TEST_F(RunWatchTest, RestartModeRestartsTheChildWithTheNewValue) {
  Vps vps = Provision("vps-restart");
  std::string out = dir_ + "/hashes";
  SiqProcess siq(
      RunArgs(vps, out, {"--watch", "1s", "--restart"}, {"JWT_SECRET"}),
      AsReader(vps));
  ASSERT_TRUE(Eventually([&] { return !ReadFile(out).empty(); }));
  std::string first_pid = ParseHashes(ReadFile(out))["pid"];

  SecretRef newer = Rotate(vps);
  Connected reader(ReaderFromCloudsYaml(vps.credential));
  std::string expected = PayloadHash(reader, newer);
  bool picked_up = Eventually(
      [&] { return ParseHashes(ReadFile(out))["JWT_SECRET"] == expected; });
  kill(siq.pid(), SIGTERM);
  RunResult result = siq.Wait();

  EXPECT_TRUE(picked_up) << result.err;
  EXPECT_NE(ParseHashes(ReadFile(out))["pid"], first_pid) << "restarted";
}

TEST_F(RunWatchTest, ConsumerEntriesMoveFromTheOldSecretToTheNewOne) {
  Vps vps = Provision("vps-consumer");
  SecretRef old_ref = CurrentRef(vps, "JWT_SECRET");
  SiqProcess siq(
      RunArgs(vps, dir_ + "/h", {"--watch", "1s", "--restart"}, {"JWT_SECRET"}),
      AsReader(vps));
  bool registered = Eventually([&] { return IsConsumer(vps, old_ref); });

  SecretRef newer = Rotate(vps);
  bool moved = Eventually(
      [&] { return IsConsumer(vps, newer) && !IsConsumer(vps, old_ref); });
  kill(siq.pid(), SIGTERM);
  RunResult result = siq.Wait();

  EXPECT_TRUE(registered) << result.err;
  EXPECT_TRUE(moved) << result.err;
  EXPECT_TRUE(IsConsumer(vps, CurrentRef(vps, "DB_PASSWORD")));
}

TEST_F(RunWatchTest, SignalModeHandsTheNewValueThroughThePipe) {
  Vps vps = Provision("vps-reload");
  std::string out = dir_ + "/hashes";
  SiqProcess siq(RunArgs(vps, out, {"--watch", "1s"}, {"JWT_SECRET"}),
                 AsReader(vps));
  ASSERT_TRUE(Eventually([&] { return !ReadFile(out).empty(); }));
  std::string first_pid = ParseHashes(ReadFile(out))["pid"];

  SecretRef newer = Rotate(vps);
  Connected reader(ReaderFromCloudsYaml(vps.credential));
  std::string expected = PayloadHash(reader, newer);
  bool picked_up = Eventually(
      [&] { return ParseHashes(ReadFile(out))["JWT_SECRET"] == expected; });
  kill(siq.pid(), SIGTERM);
  RunResult result = siq.Wait();

  EXPECT_TRUE(picked_up) << result.err;
  auto hashes = ParseHashes(ReadFile(out));
  EXPECT_EQ(hashes["pid"], first_pid) << "the same process";
  EXPECT_EQ(hashes["generation"], "1");
}

}  // namespace
}  // namespace siq::testing
