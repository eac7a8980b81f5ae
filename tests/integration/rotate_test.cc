// `siq rotate` against the real local stack, with a catalog of short
// intervals: a full rotation read by the VPS's reader through its container,
// a SIGKILL after each state followed by a converging re-run, two runners
// at once, an order refused by Barbican's own policy, notices received by a
// real SMTP server and webhook endpoint, and a canary at debug level.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <openssl/evp.h>

#include "core/base/encoding.h"
#include "core/base/exit_codes.h"
#include "core/records/store.h"
#include "core/run/secret_loader.h"
#include "tests/integration/message_sink.h"
#include "tests/integration/stack.h"

extern char** environ;  // NOLINT: POSIX declares it nowhere else

namespace siq::testing {
namespace {

using barbican::ContainerEntry;
using barbican::ContainerRef;
using barbican::SecretRef;
using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr int kPartial = static_cast<int>(ExitCode::kPartialFailure);
constexpr int kLocked = static_cast<int>(ExitCode::kLocked);

// A real SMTP server and webhook endpoint (message_sink.py), and the
// config's notifications that route to them: mail for admins, the webhook
// for operations and admins.
struct Sinks {
  MessageSink mail{MessageSink::Kind::kSmtp};
  MessageSink hook{MessageSink::Kind::kWebhook};

  std::string ConfigYaml() const {
    return fmt::format(R"(notifications:
  - name: test-mail
    smtp: {}
    from: siq@example.com
    to: [admins@example.com]
    audiences: [admins]
  - name: test-hook
    webhook: {}
    audiences: [operations, admins]
)",
                       mail.url(), hook.url());
  }
};

// A VPS's confirmation endpoint: Python's own file server on a free port,
// answering GET /<name> with the file's text.
class ConfirmEndpoint {
 public:
  explicit ConfirmEndpoint(std::string dir) : dir_(std::move(dir)) {
    std::filesystem::create_directories(dir_);
    int probe = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{.sin_family = AF_INET};
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t size = sizeof(address);
    bind(probe, reinterpret_cast<sockaddr*>(&address), size);
    getsockname(probe, reinterpret_cast<sockaddr*>(&address), &size);
    port_ = ntohs(address.sin_port);
    close(probe);
    pid_ = fork();
    if (pid_ == 0) {
      std::string port = std::to_string(port_);
      execl("/usr/bin/python3", "python3", "-m", "http.server", "--bind",
            "127.0.0.1", "--directory", dir_.c_str(), port.c_str(), nullptr);
      _exit(127);
    }
    auto deadline = std::chrono::steady_clock::now() + seconds(10);
    while (!Listening() && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(milliseconds(50));
    }
  }
  ~ConfirmEndpoint() {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
  ConfirmEndpoint(const ConfirmEndpoint&) = delete;
  ConfirmEndpoint& operator=(const ConfirmEndpoint&) = delete;

  std::string Url(const std::string& path) const {
    return fmt::format("http://127.0.0.1:{}/{}", port_, path);
  }
  void Answer(const std::string& name, const std::string& text) const {
    std::ofstream(dir_ + "/" + name, std::ios::trunc) << text;
  }

 private:
  bool Listening() const {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{.sin_family = AF_INET, .sin_port = htons(port_)};
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bool up = connect(fd, reinterpret_cast<sockaddr*>(&address),
                      sizeof(address)) == 0;
    close(fd);
    return up;
  }

  std::string dir_;
  int port_ = 0;
  pid_t pid_ = -1;
};

struct Settings {
  std::string rotate_every = "1h";
  std::string notify_before;  // empty: no notice
  std::string grace = "1s";
  std::string confirm = "{command: \"true\"}";
  std::string extra;  // more top-level YAML (notifications)
};

class RotateTest : public ::testing::Test {
 protected:
  RotateTest()
      : dir_(::testing::TempDir() + UniqueName("rotate")),
        records_(dir_ + "/deployments.json"),
        config_(dir_ + "/siq.yaml"),
        deployer_(DeployerConfig()) {
    std::filesystem::create_directories(dir_);
  }

  ~RotateTest() override {
    for (const std::string& id : users_) {
      DeleteUser(id);
    }
    std::filesystem::remove_all(dir_);
  }

  void WriteConfig(const Settings& settings) {
    std::string notice =
        settings.notify_before.empty()
            ? ""
            : fmt::format("    notify_before: {}\n    notify: [admins]\n",
                          settings.notify_before);
    std::ofstream(config_, std::ios::trunc) << fmt::format(
        R"(records: {}
secret_kinds:
  - kind: JWT_SECRET
    rotate_every: {}
{}rotation:
  grace: {}
  confirm_timeout: 5m
  attempts: 2
  backoff: 1s
  confirm: {}
{})",
        records_, settings.rotate_every, notice, settings.grace,
        settings.confirm, settings.extra);
  }

  // Provisions `what` with a new reader; its clouds.yaml in dir_.
  std::string Provision(const std::string& what) {
    std::string vps = UniqueName(what);
    RunResult result =
        RunSiq({"provision", "--vps", vps, "--org", "org-test", "--config",
                config_, "--create-reader", "--reader-credential-fd", "3"},
               {.fd3_path = Credential(vps)});
    EXPECT_EQ(result.exit_code, 0) << result.err;
    users_.push_back(Record(vps).reader_user_id);
    return vps;
  }
  std::string Credential(const std::string& vps) const {
    return dir_ + "/" + vps + ".yaml";
  }

  RunResult Rotate(std::vector<std::string> args,
                   std::map<std::string, std::string> env = {}) {
    args.insert(args.begin(), "rotate");
    args.insert(args.end(), {"--config", config_, "--output", "json"});
    return RunSiq(args, {.env = std::move(env)});
  }

  records::Deployment Record(const std::string& vps) {
    records::FileRecordStore store(records_, seconds(5));
    auto id = records::VpsId::Parse(vps);
    auto record = store.Load(*id);
    EXPECT_TRUE(record.ok() && record->has_value()) << "no record of " << vps;
    return record.ok() && *record ? **record : records::Deployment{.vps = *id};
  }
  records::SecretSlot Slot(const std::string& vps) {
    return Record(vps).secrets["JWT_SECRET"];
  }

  // Barbican's secrets of that name, as refs.
  std::set<std::string> SecretsNamed(const std::string& name) {
    auto found = deployer_.barbican.FindSecretsNamed(name);
    EXPECT_TRUE(found.ok()) << found.status().message();
    std::set<std::string> refs;
    if (found.ok()) {
      for (const auto& meta : *found) {
        refs.insert(meta.ref.url());
      }
    }
    return refs;
  }
  std::vector<ContainerEntry> ContainerOf(const std::string& vps) {
    auto container = deployer_.barbican.GetContainer(
        ContainerRef(Record(vps).container_ref));
    EXPECT_TRUE(container.ok()) << container.status().message();
    return container.ok() ? container->secrets : std::vector<ContainerEntry>{};
  }

  // No rotation running, one current secret, nothing else under its name in
  // Barbican, and the container holding exactly it.
  void ExpectConverged(const std::string& vps, const std::string& original) {
    records::SecretSlot slot = Slot(vps);
    EXPECT_EQ(slot.rotation_state, "");
    EXPECT_EQ(slot.last_error, "");
    ASSERT_TRUE(slot.current.has_value());
    EXPECT_NE(slot.current->ref, original) << "rotated";
    EXPECT_FALSE(slot.pending.has_value());
    EXPECT_FALSE(slot.previous.has_value());
    EXPECT_EQ(SecretsNamed(vps + "_JWT_SECRET"),
              std::set<std::string>{slot.current->ref});
    EXPECT_EQ(ContainerOf(vps),
              (std::vector<ContainerEntry>{
                  {"JWT_SECRET", SecretRef(slot.current->ref)}}));
  }

  std::string dir_;
  std::string records_;
  std::string config_;
  Connected deployer_;
  std::vector<std::string> users_;
};

TEST_F(RotateTest, FullRotationIsReadThroughTheContainerAndRetiresAfterGrace) {
  WriteConfig({.grace = "2s", .confirm = "consumer"});
  std::string vps = Provision("vps-rot");
  std::string original = Slot(vps).current->ref;
  Connected reader(ReaderFromCloudsYaml(Credential(vps)));
  run::SecretLoader loader(reader.barbican, vps);
  ContainerRef container(Record(vps).container_ref);
  // What `siq run --watch` does after loading: consumer of what it holds.
  auto load = [&](std::vector<SecretRef> dropped) {
    auto found = loader.FindContainer(container);
    EXPECT_TRUE(found.ok()) << found.status().message();
    auto selection = loader.Select(*found);
    EXPECT_TRUE(selection.ok()) << selection.status().message();
    auto loaded = loader.Load(*selection);
    EXPECT_TRUE(loaded.ok()) << loaded.status().message();
    std::vector<SecretRef> refs;
    for (const auto& secret : *loaded) {
      refs.push_back(secret.selection.ref);
    }
    EXPECT_TRUE(loader.UpdateConsumers(refs, dropped).ok());
    return std::move(*loaded);
  };
  (void)load({});

  RunResult started = Rotate({vps});
  std::string pending = Slot(vps).pending->ref;
  RunResult unconfirmed = Rotate({"--due"});
  auto during = load({});
  RunResult promoted = Rotate({"--due"});
  std::this_thread::sleep_for(milliseconds(2100));
  RunResult still_used = Rotate({"--due"});
  bool old_kept = SecretsNamed(vps + "_JWT_SECRET").count(original) == 1;
  auto after = load({SecretRef(original)});
  RunResult retired = Rotate({"--due"});

  ASSERT_EQ(started.exit_code, 0) << started.err;
  EXPECT_EQ(nlohmann::json::parse(started.out)["items"][0]["state"], "told");
  EXPECT_EQ(nlohmann::json::parse(unconfirmed.out)["items"][0]["outcome"],
            "waiting");
  ASSERT_EQ(during.size(), 2u);
  EXPECT_EQ(during[0].selection.variable, "JWT_SECRET");
  EXPECT_EQ(during[0].selection.ref.url(), pending);
  EXPECT_EQ(during[1].selection.variable, "JWT_SECRET_PREVIOUS");
  EXPECT_EQ(during[1].selection.ref.url(), original);
  EXPECT_EQ(nlohmann::json::parse(promoted.out)["items"][0]["outcome"],
            "rotated");
  EXPECT_EQ(nlohmann::json::parse(still_used.out)["items"][0]["state"],
            "retiring");
  EXPECT_TRUE(old_kept) << "deleted while the VPS was still its consumer";
  EXPECT_EQ(nlohmann::json::parse(retired.out)["items"][0]["outcome"],
            "retired")
      << retired.out;
  ExpectConverged(vps, original);
  ASSERT_EQ(after.size(), 1u);
  EXPECT_EQ(after[0].selection.ref.url(), pending);
  auto direct = reader.barbican.GetPayload(SecretRef(pending));
  ASSERT_TRUE(direct.ok());
  EXPECT_EQ(after[0].value.Reveal(), direct->Reveal());
  EXPECT_EQ(direct->size(), 32u);
}

std::string Sha256Hex(std::string_view bytes) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  EVP_Digest(bytes.data(), bytes.size(), digest, &size, EVP_sha256(), nullptr);
  return std::string(
      EncodeHex(std::string_view(reinterpret_cast<char*>(digest), size))
          .Reveal());
}

// The default handshake end to end: the VPS runs the real `siq run --watch`
// as its reader, and cron-like `siq rotate --due` runs carry the rotation
// through confirmation, grace and retirement on what it registers.
TEST_F(RotateTest, SiqRunWatchConfirmsAndReleasesForTheRotation) {
  WriteConfig({.grace = "1s", .confirm = "consumer"});
  std::string vps = Provision("vps-watch");
  std::string original = Slot(vps).current->ref;
  RunOptions as_reader;
  for (char** entry = environ; *entry != nullptr; ++entry) {
    std::string_view line(*entry);
    if (line.starts_with("OS_")) {
      as_reader.env[std::string(line.substr(0, line.find('=')))] = "";
    }
  }
  as_reader.env["OS_CLIENT_CONFIG_FILE"] = Credential(vps);
  as_reader.env["OS_CLOUD"] = "siq-reader";
  std::string out = dir_ + "/hashes";
  SiqProcess watcher(
      {"run", "--vps", vps, "--container", Record(vps).container_ref, "--watch",
       "1s", "--restart", "--", SIQ_ENV_HASHER, "--out", out, "JWT_SECRET"},
      as_reader);
  auto deadline = std::chrono::steady_clock::now() + seconds(40);
  while (ReadFile(out).empty() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(milliseconds(200));
  }

  RunResult started = Rotate({vps});
  std::string new_ref = Slot(vps).pending ? Slot(vps).pending->ref : "";
  std::vector<std::string> outcomes;
  while (!Slot(vps).rotation_state.empty() &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(milliseconds(1000));
    RunResult run = Rotate({"--due"});
    EXPECT_EQ(run.exit_code, 0) << run.err;
    auto items = nlohmann::json::parse(run.out, nullptr, false)["items"];
    if (items.is_array() && !items.empty()) {
      outcomes.push_back(items[0]["outcome"]);
    }
  }
  std::string seen = ReadFile(out);
  kill(watcher.pid(), SIGTERM);
  RunResult watched = watcher.Wait();

  ASSERT_EQ(started.exit_code, 0) << started.err;
  ExpectConverged(vps, original);
  EXPECT_EQ(Slot(vps).current->ref, new_ref);
  EXPECT_NE(std::find(outcomes.begin(), outcomes.end(), "rotated"),
            outcomes.end());
  EXPECT_EQ(outcomes.back(), "retired") << watched.err;
  Connected reader(ReaderFromCloudsYaml(Credential(vps)));
  auto payload = reader.barbican.GetPayload(SecretRef(new_ref));
  ASSERT_TRUE(payload.ok()) << payload.status().message();
  EXPECT_NE(seen.find("JWT_SECRET " + Sha256Hex(payload->Reveal())),
            std::string::npos)
      << "the application runs with the new value: " << seen;
}

class RotateCrashTest : public RotateTest,
                        public ::testing::WithParamInterface<const char*> {};

// Killed at the named step, then run again until nothing is left to do:
// the same end state as an uninterrupted rotation.
TEST_P(RotateCrashTest, RerunAfterSigkillConverges) {
  WriteConfig({});
  std::string vps = Provision("vps-crash");
  std::string original = Slot(vps).current->ref;

  int killed = 0;
  RunResult first = Rotate({vps}, {{"SIQ_FAILPOINT", GetParam()}});
  killed += first.exit_code == 128 + SIGKILL ? 1 : 0;
  for (int i = 0; i < 4 && killed == 0; ++i) {
    std::this_thread::sleep_for(milliseconds(1100));
    killed += Rotate({"--due"}, {{"SIQ_FAILPOINT", GetParam()}}).exit_code ==
                      128 + SIGKILL
                  ? 1
                  : 0;
  }
  for (int i = 0; i < 4 && !Slot(vps).rotation_state.empty(); ++i) {
    std::this_thread::sleep_for(milliseconds(1100));
    RunResult rerun = Rotate({"--due"});
    EXPECT_EQ(rerun.exit_code, 0) << rerun.err;
  }

  EXPECT_EQ(killed, 1) << "the failpoint was never reached";
  ExpectConverged(vps, original);
}

INSTANTIATE_TEST_SUITE_P(EachState,
                         RotateCrashTest,
                         ::testing::Values("rotate.ordering",
                                           "rotate.order-unrecorded",
                                           "rotate.created",
                                           "rotate.granted",
                                           "rotate.told",
                                           "rotate.confirmed",
                                           "rotate.promoted",
                                           "rotate.retiring",
                                           "rotate.previous-unlisted",
                                           "rotate.previous-deleted",
                                           "rotate.idle"));

TEST_F(RotateTest, TwoRunnersAtOnceRotateEachSecretExactlyOnce) {
  WriteConfig({.rotate_every = "2s", .grace = "1h"});
  std::string first = Provision("vps-race");
  std::string second = Provision("vps-race");
  std::map<std::string, std::string> original = {
      {first, Slot(first).current->ref}, {second, Slot(second).current->ref}};
  std::this_thread::sleep_for(milliseconds(2100));

  std::vector<std::string> args = {"rotate", "--due", "--config", config_};
  SiqProcess one(args, {});
  SiqProcess two(args, {});
  RunResult a = one.Wait();
  RunResult b = two.Wait();

  std::multiset<int> codes = {a.exit_code, b.exit_code};
  EXPECT_EQ(codes, (std::multiset<int>{0, kLocked})) << a.err << b.err;
  const RunResult& locked = a.exit_code == kLocked ? a : b;
  EXPECT_NE(locked.err.find("another siq rotate is running"), std::string::npos)
      << locked.err;
  for (const auto& [vps, ref] : original) {
    records::SecretSlot slot = Slot(vps);
    EXPECT_EQ(slot.rotation_state, "promoted") << vps;
    ASSERT_TRUE(slot.previous.has_value());
    EXPECT_EQ(slot.previous->ref, ref);
    EXPECT_EQ(SecretsNamed(vps + "_JWT_SECRET"),
              (std::set<std::string>{ref, slot.current->ref}))
        << "exactly one new secret";
  }
}

TEST_F(RotateTest, HeldLockExitsLockedAtOnceAndAKilledHolderDoesNot) {
  WriteConfig({});
  std::string vps = Provision("vps-lock");
  RunResult killed = Rotate({vps}, {{"SIQ_FAILPOINT", "rotate.ordering"}});
  RunResult refused;
  std::chrono::steady_clock::duration waited{};
  std::string state_while_locked;
  {
    records::FileRecordStore store(records_, seconds(1));
    auto lock = store.LockFor(".rotate.lock", milliseconds(0));
    ASSERT_TRUE(lock.ok()) << "the killed holder's lock is gone";
    auto started = std::chrono::steady_clock::now();
    refused = Rotate({"--due"});
    waited = std::chrono::steady_clock::now() - started;
    state_while_locked = Slot(vps).rotation_state;
  }

  RunResult after = Rotate({"--due"});

  EXPECT_EQ(killed.exit_code, 128 + SIGKILL);
  EXPECT_EQ(refused.exit_code, kLocked) << refused.err;
  EXPECT_LT(waited, seconds(5));
  EXPECT_EQ(state_while_locked, "ordering") << "nothing moved";
  EXPECT_EQ(after.exit_code, 0) << after.err;
  EXPECT_EQ(Slot(vps).rotation_state, "promoted");
}

// Barbican's own policy refuses the order: the real server fails the step.
class OrdersRefused {
 public:
  OrdersRefused()
      : path_(StackVariable("SIQ_STACK_DIR") + "/barbican-policy.yaml") {
    std::ofstream(path_, std::ios::trunc) << "\"orders:post\": \"!\"\n";
  }
  ~OrdersRefused() { std::ofstream(path_, std::ios::trunc) << "{}\n"; }
  OrdersRefused(const OrdersRefused&) = delete;
  OrdersRefused& operator=(const OrdersRefused&) = delete;

 private:
  std::string path_;
};

TEST_F(RotateTest, OrderRefusedByTheServerFailsOnlyThatRotation) {
  Sinks sinks;
  WriteConfig({.extra = sinks.ConfigYaml()});
  std::string vps = Provision("vps-fail");
  std::string original = Slot(vps).current->ref;

  RunResult failed;
  RunResult listed;
  {
    OrdersRefused refused;
    failed = Rotate({vps});
    listed = Rotate({"--due"});
  }
  Connected reader(ReaderFromCloudsYaml(Credential(vps)));
  run::SecretLoader loader(reader.barbican, vps);
  auto container =
      loader.FindContainer(ContainerRef(Record(vps).container_ref));

  EXPECT_EQ(failed.exit_code, kPartial) << failed.err;
  auto doc = nlohmann::json::parse(failed.out);
  EXPECT_EQ(doc["items"][0]["outcome"], "failed");
  EXPECT_NE(doc["items"][0]["detail"].get<std::string>().find("403"),
            std::string::npos)
      << doc.dump();
  EXPECT_EQ(listed.exit_code, kPartial);
  EXPECT_EQ(nlohmann::json::parse(listed.out)["items"][0]["outcome"], "failed");
  records::SecretSlot slot = Slot(vps);
  EXPECT_EQ(slot.current->ref, original);
  EXPECT_NE(slot.last_error, "");
  EXPECT_EQ(slot.rotation_failures, 1);
  EXPECT_EQ(SecretsNamed(vps + "_JWT_SECRET"), std::set<std::string>{original});
  ASSERT_TRUE(container.ok()) << container.status().message();
  auto selection = loader.Select(*container);
  ASSERT_TRUE(selection.ok());
  auto loaded = loader.Load(*selection);
  ASSERT_TRUE(loaded.ok()) << "the current secret still works";
  EXPECT_EQ(loaded->front().selection.ref.url(), original);
  auto hooks = sinks.hook.WaitFor(1);
  ASSERT_EQ(hooks.size(), 1u) << "operations alerted once";
  auto alert = nlohmann::json::parse(hooks[0]);
  EXPECT_EQ(alert["event"], "rotation_failed");
  EXPECT_EQ(alert["audience"], "operations");
  EXPECT_EQ(alert["vps"], vps);
  EXPECT_TRUE(sinks.mail.Messages().empty()) << "admins are not operations";
}

TEST_F(RotateTest, NoticeReachesMailAndWebhookOnceAcrossRuns) {
  Sinks sinks;
  WriteConfig({.rotate_every = "1h",
               .notify_before = "3599s",
               .extra = sinks.ConfigYaml()});
  std::string vps = Provision("vps-notice");
  std::this_thread::sleep_for(milliseconds(1100));

  RunResult first = Rotate({"--due"});
  RunResult second = Rotate({"--due"});

  ASSERT_EQ(first.exit_code, 0) << first.err;
  ASSERT_EQ(second.exit_code, 0) << second.err;
  EXPECT_EQ(nlohmann::json::parse(first.out)["items"][0]["outcome"], "noticed");
  EXPECT_EQ(nlohmann::json::parse(second.out)["items"].size(), 0u);
  auto mails = sinks.mail.WaitFor(1);
  ASSERT_EQ(mails.size(), 1u);
  EXPECT_NE(mails[0].find("admins@example.com"), std::string::npos);
  EXPECT_NE(mails[0].find(vps + " rotates on"), std::string::npos) << mails[0];
  auto hooks = sinks.hook.WaitFor(1);
  ASSERT_EQ(hooks.size(), 1u);
  auto notice = nlohmann::json::parse(hooks[0]);
  EXPECT_EQ(notice["event"], "rotation_notice");
  EXPECT_EQ(notice["fields"]["kind"], "JWT_SECRET");
  EXPECT_EQ(notice["fields"]["due_at"],
            nlohmann::json::parse(first.out)["items"][0]["due_at"]);
  EXPECT_EQ(Slot(vps).rotation_state, "") << "a notice rotates nothing";
}

TEST_F(RotateTest, HttpConfirmationWaitsForTheFingerprint) {
  ConfirmEndpoint endpoint(dir_ + "/www");
  Sinks sinks;
  WriteConfig(
      {.grace = "1h",
       .confirm = fmt::format("{{http: \"{}\"}}", endpoint.Url("{vps}.txt")),
       .extra = sinks.ConfigYaml()});
  std::string vps = Provision("vps-http");
  endpoint.Answer(vps + ".txt", "nothing loaded yet\n");

  RunResult waiting = Rotate({vps});
  endpoint.Answer(vps + ".txt",
                  run::Fingerprint(SecretRef(Slot(vps).pending->ref)) + "\n");
  RunResult confirmed = Rotate({"--due"});

  EXPECT_EQ(nlohmann::json::parse(waiting.out)["items"][0]["state"], "told");
  auto hooks = sinks.hook.WaitFor(1);
  ASSERT_EQ(hooks.size(), 1u) << "rotation done, to operations";
  auto done = nlohmann::json::parse(hooks[0]);
  EXPECT_EQ(done["event"], "rotation_done");
  EXPECT_EQ(done["fields"]["secret_ref"], Slot(vps).current->ref);
  EXPECT_EQ(nlohmann::json::parse(confirmed.out)["items"][0]["outcome"],
            "rotated")
      << confirmed.out;
}

TEST_F(RotateTest, DryRunAsOfAFutureDateNeedsNoCredentials) {
  WriteConfig({.rotate_every = "90d"});
  std::string vps = Provision("vps-dry");
  std::string before = ReadFile(records_);
  std::map<std::string, std::string> no_credentials = {
      {"OS_AUTH_URL", ""},
      {"OS_PASSWORD", ""},
      {"OS_CLOUD", ""},
      {"OS_CLIENT_CONFIG_FILE", ""}};

  RunResult now = Rotate({"--due", "--dry-run"}, no_credentials);
  RunResult later =
      Rotate({"--due", "--dry-run", "--as-of", "2099-01-01"}, no_credentials);

  ASSERT_EQ(now.exit_code, 0) << now.err;
  EXPECT_EQ(nlohmann::json::parse(now.out)["items"].size(), 0u);
  ASSERT_EQ(later.exit_code, 0) << later.err;
  auto doc = nlohmann::json::parse(later.out);
  EXPECT_EQ(doc["as_of"], "2099-01-01T00:00:00Z");
  EXPECT_EQ(doc["items"][0]["vps"], vps);
  EXPECT_EQ(doc["items"][0]["outcome"], "planned");
  EXPECT_EQ(ReadFile(records_), before);
}

// A fleet of 25 due records written directly (a dry run calls nothing).
class RotateFleetTest : public RotateTest {
 protected:
  void WriteFleet() {
    WriteConfig({.rotate_every = "90d"});
    records::FileRecordStore store(records_, seconds(5));
    TimePoint old = std::chrono::system_clock::now() - std::chrono::days(100);
    for (int i = 0; i < 25; ++i) {
      auto vps = *records::VpsId::Parse(fmt::format("vps-fleet-{:02}", i));
      records::Deployment record{.vps = vps,
                                 .state = std::string(records::kStateComplete),
                                 .provisioned_at = old,
                                 .updated_at = old};
      record.secrets["JWT_SECRET"] = records::SecretSlot{
          .kind = "JWT_SECRET",
          .name = vps.str() + "_JWT_SECRET",
          .current = records::SecretVersion{
              .ref = "http://x/v1/secrets/" + vps.str(), .created_at = old}};
      EXPECT_TRUE(store
                      .Update(vps,
                              [&](std::optional<records::Deployment>& stored) {
                                stored = record;
                                return OkStatus();
                              })
                      .ok());
    }
  }
};

// Under script(1), stderr is a terminal.
TEST_F(RotateFleetTest, ProgressLineOnlyWhenStderrIsATerminal) {
  WriteFleet();
  std::string command = fmt::format(
      "{} rotate --due --dry-run --config {} --output json >/dev/null",
      SIQ_BINARY, config_);

  FILE* pipe =
      popen(fmt::format("script -qec '{}' /dev/null", command).c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  std::string terminal;
  char buffer[4096];
  for (size_t n; (n = fread(buffer, 1, sizeof(buffer), pipe)) > 0;) {
    terminal.append(buffer, n);
  }
  int status = pclose(pipe);
  RunResult plain = Rotate({"--due", "--dry-run"});

  EXPECT_EQ(WEXITSTATUS(status), 0) << terminal;
  EXPECT_NE(terminal.find("rotate: 25/25 deployments"), std::string::npos)
      << terminal;
  ASSERT_EQ(plain.exit_code, 0) << plain.err;
  EXPECT_EQ(plain.err.find("rotate: "), std::string::npos) << plain.err;
  EXPECT_EQ(nlohmann::json::parse(plain.out)["items"].size(), 25u);
}

TEST_F(RotateFleetTest, TableListsEachRotationAndASummary) {
  WriteFleet();

  RunResult table =
      RunSiq({"rotate", "--due", "--dry-run", "--config", config_});

  ASSERT_EQ(table.exit_code, 0) << table.err;
  EXPECT_NE(table.out.find("VPS"), std::string::npos) << table.out;
  EXPECT_NE(table.out.find("vps-fleet-07  JWT_SECRET  planned"),
            std::string::npos)
      << table.out;
  EXPECT_NE(table.out.find(": 25 planned, 0 not due\n"), std::string::npos)
      << table.out;
}

TEST_F(RotateTest, BadArgumentsAreUsageErrors) {
  WriteConfig({});

  RunResult both = Rotate({"--due", "vps-1"});
  RunResult neither = Rotate({});
  RunResult as_of = Rotate({"--due", "--as-of", "2027-01-01"});
  RunResult bad_date = Rotate({"--due", "--dry-run", "--as-of", "soon"});

  for (const RunResult* result : {&both, &neither, &as_of, &bad_date}) {
    EXPECT_EQ(result->exit_code, static_cast<int>(ExitCode::kUsage))
        << result->err;
  }
  EXPECT_NE(bad_date.err.find("soon"), std::string::npos);
  EXPECT_FALSE(std::filesystem::exists(records_));
}

// The house rule: at debug level no payload, password, token or credential
// secret reaches stdout or stderr.
TEST_F(RotateTest, DebugOutputCarriesNoSecret) {
  WriteConfig({.grace = "1h"});
  std::string vps = Provision("vps-canary");
  std::string original = Slot(vps).current->ref;

  RunResult result = Rotate({"-vv", vps});

  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_NE(result.err.find("POST /v1/orders 202"), std::string::npos)
      << "debug logging was not on";
  keystone::AuthConfig reader_config = ReaderFromCloudsYaml(Credential(vps));
  std::vector<std::string> secrets = {
      std::string(reader_config.application_credential_secret.Reveal()),
      std::string(DeployerConfig().password.Reveal()), "gAAAAA"};
  Connected reader(std::move(reader_config));
  for (const std::string& ref : {original, Slot(vps).current->ref}) {
    auto payload = reader.barbican.GetPayload(SecretRef(ref));
    ASSERT_TRUE(payload.ok()) << payload.status().message();
    secrets.emplace_back(payload->Reveal());
    secrets.emplace_back(EncodeBase64(payload->Reveal()).Reveal());
    secrets.emplace_back(EncodeHex(payload->Reveal()).Reveal());
  }
  std::string record_file = ReadFile(records_);
  for (const std::string& secret : secrets) {
    EXPECT_EQ(result.out.find(secret), std::string::npos);
    EXPECT_EQ(result.err.find(secret), std::string::npos);
    EXPECT_EQ(record_file.find(secret), std::string::npos);
  }
}

}  // namespace
}  // namespace siq::testing
