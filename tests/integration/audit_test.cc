// `siq audit` against the real local stack: real CADF events written by the
// stack's Barbican, a fleet provisioned by siq in a project of its own (so
// that no other test's secrets count as orphans), a real HTTP server for
// the /.env probe, and the built siq binary.

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "core/base/encoding.h"
#include "core/base/exit_codes.h"
#include "core/base/iso_time.h"
#include "core/keystone/identity.h"
#include "core/records/store.h"
#include "tests/integration/stack.h"

extern char** environ;  // NOLINT: POSIX declares it nowhere else

namespace siq::testing {
namespace {

using barbican::SecretRef;
using nlohmann::json;

// A project and a deployment account of the test's own: creator on the
// project, reader manager on the readers' domain, like siq-deployer.
class Account {
 public:
  Account() : admin_(AdminConfig()), identity_(admin_.session) { Create(); }

  ~Account() {
    for (const std::string& id : readers_) {
      (void)identity_.DeleteUser(id);
    }
    (void)identity_.DeleteUser(user_id_);
  }

  Account(const Account&) = delete;
  Account& operator=(const Account&) = delete;

  void Create() {
    project_name_ = UniqueName("audit-project");
    user_name_ = UniqueName("audit-deployer");
    password_ = keystone::RandomPassword();
    auto domain = identity_.FindDomainId("siq-readers");
    auto creator = identity_.FindRoleId("creator");
    auto manager = identity_.FindRoleId("siq-reader-manager");
    ASSERT_TRUE(domain.ok() && creator.ok() && manager.ok());

    auto project = Post(
        "/projects",
        {{"project", {{"name", project_name_}, {"domain_id", "default"}}}});
    ASSERT_TRUE(project.is_object()) << "cannot create a project";
    project_id_ = project["project"]["id"];
    auto user =
        identity_.CreateUser(user_name_, "default", project_id_, password_);
    ASSERT_TRUE(user.ok()) << user.status().message();
    user_id_ = *user;
    ASSERT_TRUE(
        identity_.GrantProjectRole(project_id_, user_id_, *creator).ok());
    Put(fmt::format("/domains/{}/users/{}/roles/{}", *domain, user_id_,
                    *manager));
    // The stack's admin becomes the project's admin too: people who may
    // read any payload of the project.
    auto admin_role = identity_.FindRoleId("admin");
    auto admin_user = identity_.FindUserId("admin", "default");
    ASSERT_TRUE(admin_role.ok() && admin_user.ok());
    ASSERT_TRUE(
        identity_.GrantProjectRole(project_id_, *admin_user, *admin_role).ok());
  }

  // The stack's admin, scoped to this project.
  keystone::AuthConfig AdminHere() const {
    keystone::AuthConfig config = AdminConfig();
    config.project_id.clear();
    config.project_name = project_name_;
    return config;
  }

  // Settings for a siq process: this account instead of siq-deployer.
  std::map<std::string, std::string> Env() const {
    return {{"OS_USERNAME", user_name_},
            {"OS_PASSWORD", std::string(password_.Reveal())},
            {"OS_PROJECT_NAME", project_name_},
            {"OS_CLOUD", ""}};
  }

  keystone::AuthConfig Config() const {
    keystone::AuthConfig config = DeployerConfig();
    config.username = user_name_;
    config.password = password_.Clone();
    config.project_name = project_name_;
    return config;
  }

  void ForgetReader(const std::string& id) { readers_.push_back(id); }
  const std::string& user_name() const { return user_name_; }
  std::string password() const { return std::string(password_.Reveal()); }

 private:
  json Post(const std::string& path, const json& body) {
    http::Request request{.method = http::Method::kPost,
                          .url = admin_.session.config().auth_url + path,
                          .headers = {{"Content-Type", "application/json"}},
                          .body = SecretBytes(body.dump())};
    auto response = admin_.session.Send(std::move(request));
    if (!response.ok() || response->status != 201) {
      return nullptr;
    }
    return json::parse(response->body, nullptr, false);
  }

  void Put(const std::string& path) {
    auto response =
        admin_.session.Send({.method = http::Method::kPut,
                             .url = admin_.session.config().auth_url + path});
    ASSERT_TRUE(response.ok() && response->status == 204) << path;
  }

  Connected admin_;
  keystone::Identity identity_;
  std::string project_name_;
  std::string project_id_;
  std::string user_name_;
  std::string user_id_;
  SecretBytes password_;
  std::vector<std::string> readers_;
};

// A python3 http.server on a free loopback port serving `dir`.
class HttpServer {
 public:
  explicit HttpServer(const std::string& dir) : port_(FreePort()) {
    std::string port = std::to_string(port_);
    std::vector<std::string> args = {
        "/usr/bin/python3", "-m",        "http.server", port,
        "--bind",           "127.0.0.1", "--directory", dir};
    std::vector<char*> argv;
    for (std::string& arg : args) {
      argv.push_back(arg.data());
    }
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
    EXPECT_EQ(
        posix_spawn(&pid_, argv[0], &actions, nullptr, argv.data(), environ),
        0);
    posix_spawn_file_actions_destroy(&actions);
    WaitUntilListening();
  }
  ~HttpServer() {
    if (pid_ > 0) {
      kill(pid_, SIGTERM);
      waitpid(pid_, nullptr, 0);
    }
  }
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  std::string url() const { return fmt::format("http://127.0.0.1:{}", port_); }

 private:
  static int FreePort() {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t size = sizeof address;
    bind(fd, reinterpret_cast<sockaddr*>(&address), size);
    getsockname(fd, reinterpret_cast<sockaddr*>(&address), &size);
    close(fd);
    return ntohs(address.sin_port);
  }

  void WaitUntilListening() const {
    for (int attempt = 0; attempt < 100; ++attempt) {
      int fd = socket(AF_INET, SOCK_STREAM, 0);
      sockaddr_in address{};
      address.sin_family = AF_INET;
      address.sin_port = htons(static_cast<uint16_t>(port_));
      address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      bool up = connect(fd, reinterpret_cast<sockaddr*>(&address),
                        sizeof address) == 0;
      close(fd);
      if (up) {
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    ADD_FAILURE() << "python3 http.server did not start on " << port_;
  }

  int port_;
  pid_t pid_ = -1;
};

class AuditTest : public ::testing::Test {
 protected:
  AuditTest()
      : dir_(::testing::TempDir() + UniqueName("audit")),
        records_(dir_ + "/deployments.json"),
        config_(dir_ + "/siq.yaml"),
        audit_log_(StackVariable("SIQ_AUDIT_LOG")) {
    std::filesystem::create_directories(dir_ + "/clean");
    std::filesystem::create_directories(dir_ + "/backups");
    log_start_ = std::filesystem::file_size(audit_log_);
  }
  ~AuditTest() override { std::filesystem::remove_all(dir_); }

  void WriteConfig(const std::string& extra = "") {
    std::ofstream(config_) << fmt::format(
        "records: {}\n"
        "audit:\n"
        "  service_accounts: [{}]\n"
        "  backup_dirs: [{}]\n{}",
        records_, account_.user_name(), dir_ + "/backups", extra);
  }

  // Provisions `vps` with a new reader; returns its record.
  records::Deployment Provision(const std::string& vps) {
    RunResult result =
        RunSiq({"provision", "--vps", vps, "--org", "org-audit", "--records",
                records_, "--create-reader", "--reader-credential-fd", "3"},
               {.env = account_.Env(), .fd3_path = dir_ + "/" + vps + ".yaml"});
    EXPECT_EQ(result.exit_code, 0) << result.err;
    records::FileRecordStore store(records_, std::chrono::seconds(5));
    auto record = store.Load(*records::VpsId::Parse(vps));
    EXPECT_TRUE(record.ok() && record->has_value());
    records::Deployment deployment = **record;
    account_.ForgetReader(deployment.reader_user_id);
    return deployment;
  }

  Connected Reader(const std::string& vps) {
    return Connected(ReaderFromCloudsYaml(dir_ + "/" + vps + ".yaml"));
  }

  // The stack's audit lines written since the test began that name one of
  // `ids`, once Barbican has written the outcome of `expected` of them:
  // other tests' events on a shared stack stay out.
  std::string AuditSlice(const std::vector<std::string>& ids,
                         size_t expected_outcomes) {
    std::string slice = dir_ + "/audit-slice.jsonl";
    for (int attempt = 0; attempt < 50; ++attempt) {
      std::ifstream in(audit_log_);
      in.seekg(static_cast<std::streamoff>(log_start_));
      std::ofstream out(slice, std::ios::trunc);
      std::string line;
      size_t outcomes = 0;
      while (std::getline(in, line)) {
        for (const std::string& id : ids) {
          if (line.find(id) != std::string::npos) {
            out << line << '\n';
            outcomes +=
                line.find("\"outcome\": \"pending\"") == std::string::npos;
            break;
          }
        }
      }
      if (outcomes >= expected_outcomes) {
        return slice;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    ADD_FAILURE() << "Barbican did not write the expected audit events";
    return slice;
  }

  RunResult Audit(std::vector<std::string> args) {
    std::vector<std::string> all = {"audit", "--config", config_, "--output",
                                    "json"};
    all.insert(all.end(), args.begin(), args.end());
    return RunSiq(all, {.env = account_.Env()});
  }

  static json Check(const json& report, std::string_view id) {
    for (const json& check : report["checks"]) {
      if (check["id"] == id) {
        return check;
      }
    }
    ADD_FAILURE() << "no check " << id << " in " << report.dump(2);
    return json::object();
  }

  std::string dir_;
  std::string records_;
  std::string config_;
  std::string audit_log_;
  uintmax_t log_start_ = 0;
  Account account_;
};

std::vector<std::string> SecretIds(const records::Deployment& deployment) {
  std::vector<std::string> ids;
  for (const auto& [kind, slot] : deployment.secrets) {
    ids.emplace_back(SecretRef(slot.current->ref).id());
  }
  return ids;
}

TEST_F(AuditTest, CompliantFleetPassesEveryCheck) {
  records::Deployment vps = Provision(UniqueName("vps-ok"));
  Connected reader = Reader(vps.vps.str());
  for (const auto& [kind, slot] : vps.secrets) {
    ASSERT_TRUE(reader.barbican.GetPayload(SecretRef(slot.current->ref)).ok());
  }
  HttpServer server(dir_ + "/clean");
  WriteConfig(
      fmt::format("  endpoints:\n    {}: {}\n", vps.vps.str(), server.url()));
  std::string slice = AuditSlice(SecretIds(vps), 7 * 2);

  RunResult result = Audit({"--audit-log", slice, "--scan", dir_ + "/clean"});

  ASSERT_EQ(result.exit_code, 0) << result.out << result.err;
  json report = json::parse(result.out);
  EXPECT_EQ(report["status"], "pass");
  ASSERT_EQ(report["checks"].size(), 6u);
  for (const json& check : report["checks"]) {
    EXPECT_EQ(check["status"], "pass") << check.dump(2);
  }
  json access = Check(report, "no_human_access");
  EXPECT_EQ(access["evidence"]["payload_reads"], 7);
  EXPECT_EQ(access["evidence"]["malformed_lines"], 0);
  EXPECT_EQ(Check(report, "acl_least_privilege")["evidence"]["acls_checked"],
            8);
  EXPECT_EQ(Check(report, "uses_barbican")["evidence"]["endpoints_probed"], 1);
}

TEST_F(AuditTest, HumanReadsThroughEachPathAreFlaggedWithWhoWhatWhen) {
  records::Deployment vps = Provision(UniqueName("vps-read"));
  WriteConfig();
  const records::SecretSlot& jwt = vps.secrets.at("JWT_SECRET");
  SecretRef ref(jwt.current->ref);
  std::string before =
      FormatIso8601(std::chrono::system_clock::now() - std::chrono::seconds(1));
  Connected reader = Reader(vps.vps.str());
  ASSERT_TRUE(reader.barbican.GetPayload(ref).ok());
  Connected deployer(account_.Config());
  ASSERT_TRUE(deployer.barbican.GetSecret(ref).ok());
  Connected admin(account_.AdminHere());
  for (const std::string& url : {ref.url() + "/payload", ref.url()}) {
    auto answer =
        admin.session.Send({.url = url,
                            .headers = {{"Accept", "application/octet-stream"}},
                            .sensitive_body = http::SensitiveBody::kYes});
    ASSERT_TRUE(answer.ok() && answer->status == 200) << url;
  }
  std::string admin_id = admin.session.token_info().user_id;
  // Reader: metadata + payload; deployer: metadata; admin: two.
  std::string slice = AuditSlice({std::string(ref.id())}, 5);

  RunResult result = Audit({"--audit-log", slice, "--only", "no_human_access"});

  EXPECT_EQ(result.exit_code, static_cast<int>(ExitCode::kAuditFailed));
  json check = Check(json::parse(result.out), "no_human_access");
  EXPECT_EQ(check["status"], "fail");
  EXPECT_GE(check["evidence"]["secret_reads"].get<int>(), 5);
  ASSERT_EQ(check["items"].size(), 2u) << check.dump(2);
  const json& payload = check["items"][0];
  const json& possible = check["items"][1];
  EXPECT_EQ(payload["severity"], "fail");
  EXPECT_EQ(payload["reason"], "payload read by a person");
  EXPECT_EQ(payload["request_path"],
            "/v1/secrets/" + std::string(ref.id()) + "/payload");
  EXPECT_EQ(possible["severity"], "warn");
  EXPECT_EQ(possible["request_path"], "/v1/secrets/" + std::string(ref.id()));
  for (const json* item : {&payload, &possible}) {
    EXPECT_EQ((*item)["initiator_id"], admin_id);
    EXPECT_EQ((*item)["initiator_name"], "admin");
    EXPECT_EQ((*item)["vps"], vps.vps.str());
    EXPECT_EQ((*item)["kind"], "JWT_SECRET");
    EXPECT_EQ((*item)["secret_id"], std::string(ref.id()));
    EXPECT_GE((*item)["time"].get<std::string>(), before);
  }
}

TEST_F(AuditTest, DotenvServedByAVpsFailsCheckOne) {
  std::filesystem::create_directories(dir_ + "/site");
  std::ofstream(dir_ + "/site/.env") << "DB_PASSWORD=canary-dotenv-value\n";
  HttpServer server(dir_ + "/site");
  records::FileRecordStore store(records_, std::chrono::seconds(5));
  ASSERT_TRUE(store
                  .Update(*records::VpsId::Parse("vps-web"),
                          [](std::optional<records::Deployment>& record) {
                            record = records::Deployment{
                                .vps = *records::VpsId::Parse("vps-web"),
                                .environment = "production",
                                .state = std::string(records::kStateComplete)};
                            return OkStatus();
                          })
                  .ok());
  WriteConfig(fmt::format("  endpoints:\n    vps-web: {}/\n", server.url()));

  RunResult result = Audit({"--only", "uses_barbican", "-vv"});

  EXPECT_EQ(result.exit_code, static_cast<int>(ExitCode::kAuditFailed));
  json check = Check(json::parse(result.out), "uses_barbican");
  EXPECT_EQ(check["status"], "fail");
  ASSERT_EQ(check["items"].size(), 1u);
  EXPECT_EQ(check["items"][0]["url"], server.url() + "/.env");
  EXPECT_EQ(check["items"][0]["http_status"], 200);
  EXPECT_EQ(result.out.find("canary-dotenv-value"), std::string::npos);
  EXPECT_EQ(result.err.find("canary-dotenv-value"), std::string::npos);
}

TEST_F(AuditTest, NamedPipeCalledDotenvIsReportedAsSuch) {
  std::filesystem::create_directories(dir_ + "/srv/app");
  ASSERT_EQ(mkfifo((dir_ + "/srv/app/.env").c_str(), 0600), 0);
  WriteConfig();

  RunResult result =
      Audit({"--only", "uses_barbican", "--scan", dir_ + "/srv"});

  EXPECT_EQ(result.exit_code, static_cast<int>(ExitCode::kAuditFailed));
  json check = Check(json::parse(result.out), "uses_barbican");
  ASSERT_EQ(check["items"].size(), 1u);
  EXPECT_EQ(check["items"][0]["subject"], dir_ + "/srv/app/.env");
  EXPECT_EQ(check["items"][0]["type"], "named pipe");
}

TEST_F(AuditTest, AclGrantingASecondUserFailsCheckFive) {
  records::Deployment vps = Provision(UniqueName("vps-acl"));
  WriteConfig();
  TestReader second = CreateTestReader("second");
  account_.ForgetReader(second.id);
  Connected deployer(account_.Config());
  SecretRef ref(vps.secrets.at("DB_PASSWORD").current->ref);
  ASSERT_TRUE(
      deployer.barbican
          .SetSecretAcl(ref, {.read_users = {vps.reader_user_id, second.id},
                              .project_access = false})
          .ok());

  RunResult result = Audit({"--only", "acl_least_privilege"});

  EXPECT_EQ(result.exit_code, static_cast<int>(ExitCode::kAuditFailed));
  json check = Check(json::parse(result.out), "acl_least_privilege");
  ASSERT_EQ(check["items"].size(), 1u) << check.dump(2);
  EXPECT_EQ(check["items"][0]["ref"], ref.url());
  std::vector<std::string> users = check["items"][0]["read_users"];
  std::vector<std::string> expected = {vps.reader_user_id, second.id};
  std::sort(users.begin(), users.end());
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(users, expected);
}

TEST_F(AuditTest, SecretCreatedOutsideSiqFailsCheckSix) {
  Provision(UniqueName("vps-orphan"));
  WriteConfig();
  Connected deployer(account_.Config());
  auto outside = deployer.barbican.CreateSecret({.name = "made-by-hand"},
                                                SecretBytes("not from siq"));
  ASSERT_TRUE(outside.ok()) << outside.status().message();

  RunResult result = Audit({"--only", "records_match_barbican"});

  EXPECT_EQ(result.exit_code, static_cast<int>(ExitCode::kAuditFailed));
  json check = Check(json::parse(result.out), "records_match_barbican");
  ASSERT_EQ(check["items"].size(), 1u) << check.dump(2);
  EXPECT_EQ(check["items"][0]["ref"], outside->url());
  EXPECT_EQ(check["items"][0]["name"], "made-by-hand");
  EXPECT_EQ(check["evidence"]["orphans"], 1);
}

// The house rule: at -vv, neither a payload nor a password or token gets
// into what siq prints, whatever the checks find.
TEST_F(AuditTest, DebugOutputCarriesNoSecret) {
  records::Deployment vps = Provision(UniqueName("vps-canary"));
  Connected reader = Reader(vps.vps.str());
  std::vector<std::string> secrets = {
      account_.password(), std::string(DeployerConfig().password.Reveal()),
      "gAAAAA"};
  for (const auto& [kind, slot] : vps.secrets) {
    auto payload = reader.barbican.GetPayload(SecretRef(slot.current->ref));
    ASSERT_TRUE(payload.ok());
    secrets.emplace_back(payload->Reveal());
    secrets.emplace_back(EncodeBase64(payload->Reveal()).Reveal());
    secrets.emplace_back(EncodeHex(payload->Reveal()).Reveal());
  }
  WriteConfig();
  std::string slice = AuditSlice(SecretIds(vps), 7 * 2);

  RunResult result = RunSiq({"-vv", "audit", "--config", config_, "--audit-log",
                             slice, "--scan", dir_ + "/clean"},
                            {.env = account_.Env()});

  EXPECT_EQ(result.exit_code, 0) << result.out << result.err;
  EXPECT_NE(result.err.find("GET /v1/secrets"), std::string::npos)
      << "debug logging was not on";
  for (const std::string& secret : secrets) {
    EXPECT_EQ(result.out.find(secret), std::string::npos);
    EXPECT_EQ(result.err.find(secret), std::string::npos);
  }
}

TEST_F(AuditTest, MissingAuditLogIsAUsageErrorNamingIt) {
  WriteConfig();

  RunResult result = Audit(
      {"--only", "no_human_access", "--audit-log", dir_ + "/no-such.jsonl"});

  EXPECT_EQ(result.exit_code, static_cast<int>(ExitCode::kUsage));
  EXPECT_NE(result.err.find(dir_ + "/no-such.jsonl"), std::string::npos);
}

TEST_F(AuditTest, RecordedSecretGoneFromBarbicanIsDangling) {
  records::Deployment vps = Provision(UniqueName("vps-gone"));
  WriteConfig();
  Connected deployer(account_.Config());
  SecretRef ref(vps.secrets.at("SESSION_SECRET").current->ref);
  ASSERT_TRUE(deployer.barbican.DeleteSecret(ref).ok());

  RunResult result = Audit({"--only", "records_match_barbican"});

  EXPECT_EQ(result.exit_code, static_cast<int>(ExitCode::kAuditFailed));
  json check = Check(json::parse(result.out), "records_match_barbican");
  ASSERT_EQ(check["items"].size(), 1u) << check.dump(2);
  EXPECT_EQ(check["items"][0]["ref"], ref.url());
  EXPECT_EQ(check["evidence"]["dangling"], 1);
}

// Backups: an encrypted CMS bundle (DER or S/MIME) passes; a plain copy of the
// records, readable by others, fails twice.
TEST_F(AuditTest, PlainOrOpenBackupFailsCheckFourAndCmsBundlePasses) {
  WriteConfig();
  std::string backups = dir_ + "/backups";
  std::ofstream(backups + "/plain.json")
      << R"({"deployments": {"vps-1": {"ref": "http://b/v1/secrets/x"}}})";
  chmod((backups + "/plain.json").c_str(), 0644);
  std::string make_bundle = fmt::format(
      "cd {0} && openssl req -x509 -newkey rsa:2048 -nodes -keyout key.pem "
      "-out cert.pem -subj /CN=siq-test -days 1 2>/dev/null && "
      "openssl cms -encrypt -aes-256-gcm -in {1}/plain.json -outform DER "
      "-out {1}/bundle.cms cert.pem && chmod 600 {1}/bundle.cms && "
      "openssl cms -encrypt -aes-256-gcm -in {1}/plain.json "
      "-out {1}/bundle.p7m cert.pem && chmod 600 {1}/bundle.p7m",
      dir_, backups);
  ASSERT_EQ(std::system(make_bundle.c_str()), 0);  // NOLINT: test setup

  RunResult result = Audit({"--only", "encryption_at_rest"});

  EXPECT_EQ(result.exit_code, static_cast<int>(ExitCode::kAuditFailed));
  json check = Check(json::parse(result.out), "encryption_at_rest");
  // One DER, one S/MIME (the form siq backup writes).
  EXPECT_EQ(check["evidence"]["backup_files"]["encrypted_bundles"], 2);
  EXPECT_EQ(check["evidence"]["backup_files"]["plaintext_backups"], 1);
  EXPECT_EQ(check["evidence"]["secret_stores"]["listed"], false);
  ASSERT_EQ(check["items"].size(), 2u) << check.dump(2);
  for (const json& item : check["items"]) {
    EXPECT_EQ(item["subject"], backups + "/plain.json");
  }
}

TEST_F(AuditTest, TableListsTheWorstCheckFirst) {
  std::filesystem::create_directories(dir_ + "/srv");
  std::ofstream(dir_ + "/srv/.env") << "A=1\n";
  WriteConfig();

  RunResult result =
      RunSiq({"audit", "--config", config_, "--only", "rotation_configured",
              "--only", "uses_barbican", "--scan", dir_ + "/srv"});

  EXPECT_EQ(result.exit_code, static_cast<int>(ExitCode::kAuditFailed));
  std::string second_line = result.out.substr(result.out.find('\n') + 1);
  EXPECT_TRUE(second_line.starts_with("fail    uses_barbican")) << result.out;
  EXPECT_NE(result.out.find("pass    rotation_configured"), std::string::npos);
  EXPECT_NE(result.out.find("a dotenv file (4 bytes)"), std::string::npos);
}

TEST_F(AuditTest, WarningFailsOnlyWithFailOnWarn) {
  WriteConfig();

  RunResult lenient = Audit({"--only", "no_human_access"});
  RunResult strict = Audit({"--only", "no_human_access", "--fail-on", "warn"});

  EXPECT_EQ(lenient.exit_code, 0) << lenient.err;
  EXPECT_EQ(json::parse(lenient.out)["status"], "warn");
  EXPECT_EQ(strict.exit_code, static_cast<int>(ExitCode::kAuditFailed));
}

}  // namespace
}  // namespace siq::testing
