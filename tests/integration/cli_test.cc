// The built siq binary against the real local stack: what a person or a
// script sees, and what the exit code says.

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "core/base/exit_codes.h"
#include "core/base/version.h"
#include "core/keystone/identity.h"
#include "tests/integration/stack.h"

namespace siq::testing {
namespace {

// A loopback port with a listener that never accepts: connections succeed
// (the kernel queues them) and no answer ever comes.
class SilentListener {
 public:
  SilentListener() {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address));
    listen(fd_, 16);
    socklen_t length = sizeof(address);
    getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &length);
    port_ = ntohs(address.sin_port);
  }
  ~SilentListener() { close(fd_); }
  int port() const { return port_; }

 private:
  int fd_ = -1;
  int port_ = 0;
};

// A loopback port nobody listens on.
int ClosedPort() {
  SilentListener listener;
  return listener.port();
}

TEST(CliTest, VersionPrintsTheVersion) {
  RunResult result = RunSiq({"--version"});

  EXPECT_EQ(result.exit_code, 0);
  EXPECT_EQ(result.out, std::string(kVersion) + "\n");
}

TEST(CliTest, HelpListsEverySubcommand) {
  RunResult result = RunSiq({"--help"});

  EXPECT_EQ(result.exit_code, 0);
  EXPECT_NE(result.out.find("doctor"), std::string::npos) << result.out;
}

TEST(CliTest, UnknownOptionIsAUsageError) {
  RunResult result = RunSiq({"doctor", "--no-such-option"});

  EXPECT_EQ(result.exit_code, static_cast<int>(ExitCode::kUsage));
  EXPECT_NE(result.err.find("--no-such-option"), std::string::npos)
      << result.err;
}

TEST(CliTest, DoctorRoundTripsASecret) {
  RunResult result = RunSiq({"doctor", "--round-trip"});

  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_NE(result.out.find("round-trip"), std::string::npos) << result.out;
  EXPECT_EQ(result.out.find("FAILED"), std::string::npos) << result.out;
}

TEST(CliTest, DoctorJsonReportsEachCheck) {
  RunResult result = RunSiq({"doctor", "--round-trip", "--output", "json"});

  ASSERT_EQ(result.exit_code, 0) << result.err;
  auto doc = nlohmann::json::parse(result.out);
  EXPECT_EQ(doc["ok"], true);
  ASSERT_EQ(doc["checks"].size(), 3u);
  EXPECT_EQ(doc["checks"][0]["check"], "authenticate");
  EXPECT_EQ(doc["checks"][1]["detail"], StackVariable("SIQ_BARBICAN_URL"));
  EXPECT_EQ(doc["checks"][2]["check"], "round-trip");
  EXPECT_EQ(doc["checks"][2]["ok"], true);
}

TEST(CliTest, WrongPasswordExitsWithTheAuthenticationCode) {
  RunResult result =
      RunSiq({"doctor"}, {.env = {{"OS_PASSWORD", "wrong-password"}}});

  EXPECT_EQ(result.exit_code, static_cast<int>(ExitCode::kAuthFailed));
  EXPECT_NE(result.err.find("HTTP 401"), std::string::npos) << result.err;
  EXPECT_NE(result.err.find(StackVariable("OS_AUTH_URL")), std::string::npos)
      << result.err;
  EXPECT_EQ(result.err.find("wrong-password"), std::string::npos);
}

// Refused credentials stop every command before it touches anything: one
// failed attempt at Keystone, exit 7, the record file as it was.
TEST(CliTest, WrongPasswordStopsEveryCommandBeforeItActs) {
  std::string records = ::testing::TempDir() + UniqueName("records") + ".json";
  RunResult provisioned = RunSiq(
      {"provision", "--vps", UniqueName("vps-auth"), "--org", "org-1",
       "--records", records, "--create-reader", "--reader-credential-fd", "3"},
      {.fd3_path = records + ".reader.yaml"});
  ASSERT_EQ(provisioned.exit_code, 0) << provisioned.err;
  std::string before = ReadFile(records);
  std::vector<std::vector<std::string>> commands = {
      {"rotate", "--due", "--records", records},
      {"policy", "apply", "--records", records},
      {"recover", "--all", "--records", records},
      {"backup", "--records", records, "--out",
       ::testing::TempDir() + UniqueName("bundle") + ".p7m", "--passphrase-fd",
       "0"},
      {"audit", "--records", records, "--only", "records_match_barbican"},
  };

  std::string passphrase = records + ".passphrase";
  std::ofstream(passphrase) << "a backup passphrase\n";

  for (const auto& command : commands) {
    RunResult result = RunSiq(
        command,
        {.env = {{"OS_PASSWORD", "wrong-password"}}, .stdin_path = passphrase});

    EXPECT_EQ(result.exit_code, static_cast<int>(ExitCode::kAuthFailed))
        << command[0] << ": " << result.err;
    EXPECT_EQ(ReadFile(records), before) << command[0];
  }
}

TEST(CliTest, MissingCredentialsNameTheSetting) {
  RunResult result = RunSiq({"doctor"}, {.env = {{"OS_PASSWORD", ""}}});

  EXPECT_EQ(result.exit_code, static_cast<int>(ExitCode::kUsage));
  EXPECT_NE(result.err.find("OS_PASSWORD"), std::string::npos) << result.err;
}

TEST(CliTest, StoppedBarbicanIsNamedInTheError) {
  std::string endpoint = fmt::format("http://127.0.0.1:{}", ClosedPort());

  RunResult result = RunSiq({"doctor", "--round-trip", "--barbican-endpoint",
                             endpoint, "--connect-timeout", "1"});

  EXPECT_EQ(result.exit_code, static_cast<int>(ExitCode::kRuntime));
  EXPECT_NE(result.err.find(endpoint), std::string::npos) << result.err;
}

TEST(CliTest, SilentBarbicanTimesOutWithinTheConfiguredTimeout) {
  SilentListener silent;
  std::string endpoint = fmt::format("http://127.0.0.1:{}", silent.port());
  auto start = std::chrono::steady_clock::now();

  RunResult result = RunSiq({"doctor", "--round-trip", "--barbican-endpoint",
                             endpoint, "--timeout", "1"});
  auto elapsed = std::chrono::steady_clock::now() - start;

  EXPECT_EQ(result.exit_code, static_cast<int>(ExitCode::kRuntime));
  EXPECT_NE(result.err.find(endpoint), std::string::npos) << result.err;
  EXPECT_NE(result.err.find("imed out"), std::string::npos) << result.err;
  // A POST that may have arrived is not resent: one 1 s attempt, plus the
  // Keystone round trips. Bounded, so that a hung siq fails the test.
  EXPECT_LT(elapsed, std::chrono::seconds(15));
}

// The house rule: at debug level, no password, token or payload reaches
// stdout or stderr.
TEST(CliTest, DoctorAtDebugLevelPrintsNoPasswordOrToken) {
  keystone::AuthConfig admin_config = AdminConfig();
  Connected admin(std::move(admin_config));
  keystone::Identity identity(admin.session);
  std::string canary = UniqueName("Canary-Password-4b9d");
  std::string user = UniqueName("siq-canary-user");
  auto domain = std::string("default");
  auto project = identity.FindProjectId("siq", domain);
  auto role = identity.FindRoleId("creator");
  ASSERT_TRUE(project.ok() && role.ok()) << project.status().message();
  auto user_id =
      identity.CreateUser(user, domain, *project, SecretBytes(canary));
  ASSERT_TRUE(user_id.ok()) << user_id.status().message();
  ASSERT_TRUE(identity.GrantProjectRole(*project, *user_id, *role).ok());

  RunResult result =
      RunSiq({"-vv", "doctor", "--round-trip"},
             {.env = {{"OS_USERNAME", user}, {"OS_PASSWORD", canary}}});

  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_NE(result.err.find("POST /v1/secrets 201"), std::string::npos)
      << "debug logging was not on: " << result.err;
  for (const std::string* text : {&result.out, &result.err}) {
    EXPECT_EQ(text->find(canary), std::string::npos);
    EXPECT_EQ(text->find("gAAAAA"), std::string::npos) << "a Fernet token";
  }
  EXPECT_TRUE(identity.DeleteUser(*user_id).ok());
}

}  // namespace
}  // namespace siq::testing
