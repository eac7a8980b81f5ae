// Keystone authentication against the real local stack.

#include <chrono>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "core/keystone/identity.h"
#include "core/keystone/session.h"
#include "tests/integration/stack.h"

namespace siq::testing {
namespace {

TEST(KeystoneTest, PasswordAuthenticationGivesAProjectToken) {
  Connected deployer(DeployerConfig());

  Status status = deployer.session.Authenticate();

  ASSERT_TRUE(status.ok()) << status.message();
  const keystone::TokenInfo& info = deployer.session.token_info();
  EXPECT_EQ(info.project_name, "siq");
  EXPECT_EQ(info.user_name, "siq-deployer");
  EXPECT_NE(std::find(info.roles.begin(), info.roles.end(), "creator"),
            info.roles.end());
  auto endpoint = deployer.session.EndpointFor("key-manager");
  ASSERT_TRUE(endpoint.ok()) << endpoint.status().message();
  EXPECT_EQ(*endpoint, StackVariable("SIQ_BARBICAN_URL"));
}

TEST(KeystoneTest, ApplicationCredentialAuthenticationWorks) {
  Connected deployer(DeployerConfig());
  keystone::Identity identity(deployer.session);
  auto credential = identity.CreateApplicationCredential(UniqueName("siq-test"),
                                                         "integration test");
  ASSERT_TRUE(credential.ok()) << credential.status().message();
  keystone::AuthConfig config = DeployerConfig();
  config.auth_type = keystone::AuthType::kApplicationCredential;
  config.application_credential_id = credential->id;
  config.application_credential_secret = credential->secret.Clone();
  config.password.Clear();

  Connected app(std::move(config));
  Status status = app.session.Authenticate();

  ASSERT_TRUE(status.ok()) << status.message();
  EXPECT_EQ(app.session.token_info().user_id,
            deployer.session.token_info().user_id);
  EXPECT_EQ(app.session.token_info().project_id,
            deployer.session.token_info().project_id);
  auto listed = app.barbican.ListSecrets({.name = UniqueName("none")});
  EXPECT_TRUE(listed.ok()) << listed.status().message();
  EXPECT_TRUE(identity.DeleteApplicationCredential(credential->id).ok());
}

TEST(KeystoneTest, WrongPasswordIsRefusedWithKeystoneStatus) {
  keystone::AuthConfig config = DeployerConfig();
  config.password = SecretBytes("not-the-password");
  Connected deployer(std::move(config));

  Status status = deployer.session.Authenticate();

  EXPECT_EQ(status.code(), StatusCode::kUnauthenticated);
  EXPECT_EQ(status.http_status(), 401);
  EXPECT_NE(status.message().find("HTTP 401"), std::string::npos)
      << status.message();
  EXPECT_NE(status.message().find(deployer.session.config().auth_url),
            std::string::npos)
      << status.message();
}

TEST(KeystoneTest, ShortLivedTokensAreRenewedDuringALongRun) {
  keystone::AuthConfig config = DeployerConfig();
  config.auth_url = StackVariable("SIQ_SHORT_AUTH_URL");
  Connected deployer(std::move(config));
  ASSERT_TRUE(deployer.session.Authenticate().ok());
  const keystone::TokenInfo& info = deployer.session.token_info();
  auto life = info.expires_at - info.issued_at;
  ASSERT_LT(life, std::chrono::minutes(1)) << "the short Keystone is not";

  auto stop = std::chrono::system_clock::now() + life * 5 / 2;
  int calls = 0;
  while (std::chrono::system_clock::now() < stop) {
    auto listed = deployer.barbican.ListSecrets({.name = "no-such-secret"});
    ASSERT_TRUE(listed.ok())
        << "call " << calls << ": " << listed.status().message();
    ++calls;
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }

  EXPECT_GE(deployer.transport.CountRequestsTo("/auth/tokens"), 3);
  for (const auto& exchange : deployer.transport.exchanges()) {
    EXPECT_NE(exchange.status, 401) << exchange.url;
  }
}

}  // namespace
}  // namespace siq::testing
