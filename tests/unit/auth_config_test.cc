#include "core/keystone/auth_config.h"

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>

#include "core/base/status.h"

namespace siq::keystone {
namespace {

// Each test gets its own directory for clouds.yaml files, removed after it,
// and an environment that is a map instead of the process's.
class AuthConfigTest : public testing::Test {
 protected:
  void SetUp() override {
    const testing::TestInfo* info =
        testing::UnitTest::GetInstance()->current_test_info();
    std::string name = std::string(info->test_suite_name()) + "_" +
                       info->name() + "_" + std::to_string(getpid());
    std::replace(name.begin(), name.end(), '/', '_');  // parameterised names
    dir_ = std::filesystem::path(testing::TempDir()) / ("siq_" + name);
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }

  void TearDown() override { std::filesystem::remove_all(dir_); }

  // Writes `text` to `name` in the test's directory; returns the path.
  std::string WriteFile(const std::string& name, const std::string& text) {
    std::string path = (dir_ / name).string();
    std::ofstream(path) << text;
    return path;
  }

  EnvLookup Env() const {
    return [this](std::string_view name) -> std::optional<std::string> {
      auto it = env_.find(std::string(name));
      if (it == env_.end() || it->second.empty()) {
        return std::nullopt;
      }
      return it->second;
    };
  }

  Result<AuthConfig> Load(const AuthFlags& flags,
                          const std::vector<std::string>& paths = {}) {
    return LoadAuthConfig(flags, Env(), paths);
  }

  // The smallest environment that makes a complete password config.
  void SetPasswordEnvironment() {
    env_["OS_AUTH_URL"] = "https://keystone.example:5000/v3";
    env_["OS_USERNAME"] = "deployer";
    env_["OS_PASSWORD"] = "env-password";
  }

  std::filesystem::path dir_;
  std::map<std::string, std::string> env_;
};

constexpr char kCloudsYaml[] = R"(clouds:
  dev:
    auth:
      auth_url: https://yaml.example:5000
      username: yaml-user
      password: yaml-password
      project_name: yaml-project
      user_domain_name: YamlUsers
    region_name: RegionYaml
    interface: admin
)";

TEST_F(AuthConfigTest, FlagsOverrideEnvironmentAndCloudsYaml) {
  std::string clouds = WriteFile("clouds.yaml", kCloudsYaml);
  env_["OS_AUTH_URL"] = "https://env.example:5000/v3";
  env_["OS_USERNAME"] = "env-user";
  env_["OS_REGION_NAME"] = "RegionEnv";
  AuthFlags flags{.os_cloud = "dev",
                  .os_auth_url = "https://flag.example:5000/v3",
                  .os_username = "flag-user",
                  .os_region_name = "RegionFlag"};

  auto config = Load(flags, {clouds});

  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_EQ(config->auth_url, "https://flag.example:5000/v3");
  EXPECT_EQ(config->username, "flag-user");
  EXPECT_EQ(config->region_name, "RegionFlag");
}

TEST_F(AuthConfigTest, EnvironmentOverridesCloudsYaml) {
  std::string clouds = WriteFile("clouds.yaml", kCloudsYaml);
  env_["OS_CLOUD"] = "dev";
  env_["OS_AUTH_URL"] = "https://env.example:5000/v3";
  env_["OS_USERNAME"] = "env-user";
  env_["OS_PROJECT_NAME"] = "env-project";
  env_["OS_REGION_NAME"] = "RegionEnv";
  env_["OS_INTERFACE"] = "internal";

  auto config = Load({}, {clouds});

  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_EQ(config->auth_url, "https://env.example:5000/v3");
  EXPECT_EQ(config->username, "env-user");
  EXPECT_EQ(config->project_name, "env-project");
  EXPECT_EQ(config->region_name, "RegionEnv");
  EXPECT_EQ(config->interface, "internal");
}

TEST_F(AuthConfigTest, CloudsYamlFillsWhatFlagsAndEnvironmentLeaveOpen) {
  std::string clouds = WriteFile("clouds.yaml", kCloudsYaml);

  auto config = Load({.os_cloud = "dev"}, {clouds});

  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_EQ(config->auth_url, "https://yaml.example:5000/v3");
  EXPECT_EQ(config->username, "yaml-user");
  EXPECT_EQ(config->project_name, "yaml-project");
  EXPECT_EQ(config->user_domain_name, "YamlUsers");
  EXPECT_EQ(config->region_name, "RegionYaml");
  EXPECT_EQ(config->interface, "admin");
}

TEST_F(AuthConfigTest, UsesFirstCloudsYamlThatNamesTheCloud) {
  std::string other = WriteFile("other.yaml", "clouds:\n  prod: {}\n");
  std::string clouds = WriteFile("clouds.yaml", kCloudsYaml);
  std::string missing = (dir_ / "missing.yaml").string();

  auto config = Load({.os_cloud = "dev"}, {missing, other, clouds});

  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_EQ(config->username, "yaml-user");
}

TEST_F(AuthConfigTest, PasswordFromEnvironmentOverridesCloudsYaml) {
  std::string clouds = WriteFile("clouds.yaml", kCloudsYaml);
  env_["OS_PASSWORD"] = "env-password";

  auto config = Load({.os_cloud = "dev"}, {clouds});

  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_EQ(config->password.Reveal(), "env-password");
}

TEST_F(AuthConfigTest, PasswordComesFromCloudsYamlWithoutEnvironment) {
  std::string clouds = WriteFile("clouds.yaml", kCloudsYaml);

  auto config = Load({.os_cloud = "dev"}, {clouds});

  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_EQ(config->password.Reveal(), "yaml-password");
}

TEST_F(AuthConfigTest,
       ApplicationCredentialSecretFromEnvironmentOverridesYaml) {
  std::string clouds = WriteFile("clouds.yaml", R"(clouds:
  ci:
    auth_type: v3applicationcredential
    auth:
      auth_url: https://keystone.example:5000/v3
      application_credential_id: ac-yaml
      application_credential_secret: yaml-secret
)");
  env_["OS_APPLICATION_CREDENTIAL_SECRET"] = "env-secret";

  auto config = Load({.os_cloud = "ci"}, {clouds});

  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_EQ(config->auth_type, AuthType::kApplicationCredential);
  EXPECT_EQ(config->application_credential_id, "ac-yaml");
  EXPECT_EQ(config->application_credential_secret.Reveal(), "env-secret");
}

TEST_F(AuthConfigTest, ApplicationCredentialFromEnvironmentIsComplete) {
  env_["OS_AUTH_URL"] = "https://keystone.example:5000";
  env_["OS_AUTH_TYPE"] = "v3applicationcredential";
  env_["OS_APPLICATION_CREDENTIAL_ID"] = "ac-0123";
  env_["OS_APPLICATION_CREDENTIAL_SECRET"] = "ac-secret";

  auto config = Load({});

  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_EQ(config->auth_type, AuthType::kApplicationCredential);
  EXPECT_EQ(config->auth_url, "https://keystone.example:5000/v3");
  EXPECT_EQ(config->application_credential_id, "ac-0123");
  EXPECT_EQ(config->application_credential_secret.Reveal(), "ac-secret");
  EXPECT_TRUE(config->password.empty());
}

TEST_F(AuthConfigTest, ApplicationCredentialWithoutSecretNamesVariable) {
  env_["OS_AUTH_URL"] = "https://keystone.example:5000/v3";
  env_["OS_AUTH_TYPE"] = "v3applicationcredential";
  env_["OS_APPLICATION_CREDENTIAL_ID"] = "ac-0123";

  auto config = Load({});

  EXPECT_EQ(config.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(config.status().message(),
            "no application credential secret: set "
            "OS_APPLICATION_CREDENTIAL_SECRET, or "
            "application_credential_secret in a clouds.yaml entry");
}

struct UrlCase {
  const char* given;
  const char* normalised;
};

class AuthUrlTest : public AuthConfigTest,
                    public testing::WithParamInterface<UrlCase> {};

TEST_P(AuthUrlTest, EndsInV3) {
  SetPasswordEnvironment();
  env_["OS_AUTH_URL"] = GetParam().given;

  auto config = Load({});

  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_EQ(config->auth_url, GetParam().normalised);
}

INSTANTIATE_TEST_SUITE_P(
    Spellings,
    AuthUrlTest,
    testing::Values(
        UrlCase{"https://ks.example:5000", "https://ks.example:5000/v3"},
        UrlCase{"https://ks.example:5000/", "https://ks.example:5000/v3"},
        UrlCase{"https://ks.example:5000/v3", "https://ks.example:5000/v3"},
        UrlCase{"https://ks.example:5000/v3/", "https://ks.example:5000/v3"},
        UrlCase{"https://ks.example/identity",
                "https://ks.example/identity/v3"}));

TEST_F(AuthConfigTest, FillsInDefaultDomains) {
  SetPasswordEnvironment();
  env_["OS_PROJECT_NAME"] = "siq";

  auto config = Load({});

  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_EQ(config->user_domain_name, "Default");
  EXPECT_EQ(config->project_domain_name, "Default");
}

TEST_F(AuthConfigTest, LeavesDomainNamesEmptyWhenDomainIdsAreGiven) {
  SetPasswordEnvironment();
  env_["OS_USER_DOMAIN_ID"] = "d-users";
  env_["OS_PROJECT_DOMAIN_ID"] = "d-projects";

  auto config = Load({});

  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_EQ(config->user_domain_id, "d-users");
  EXPECT_EQ(config->user_domain_name, "");
  EXPECT_EQ(config->project_domain_id, "d-projects");
  EXPECT_EQ(config->project_domain_name, "");
}

TEST_F(AuthConfigTest, MissingAuthUrlNamesFlagAndVariable) {
  env_["OS_USERNAME"] = "deployer";
  env_["OS_PASSWORD"] = "env-password";

  auto config = Load({});

  EXPECT_EQ(config.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(config.status().message(),
            "no auth URL: set --os-auth-url, OS_AUTH_URL, or auth_url in a "
            "clouds.yaml entry");
}

TEST_F(AuthConfigTest, MissingPasswordNamesVariable) {
  env_["OS_AUTH_URL"] = "https://keystone.example:5000/v3";
  env_["OS_USERNAME"] = "deployer";

  auto config = Load({});

  EXPECT_EQ(config.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(config.status().message(),
            "no password: set OS_PASSWORD, or password in a clouds.yaml entry");
}

TEST_F(AuthConfigTest, MissingUserNamesFlagAndVariable) {
  env_["OS_AUTH_URL"] = "https://keystone.example:5000/v3";
  env_["OS_PASSWORD"] = "env-password";

  auto config = Load({});

  EXPECT_EQ(config.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(config.status().message(),
            "no user: set --os-username, OS_USERNAME, or username in a "
            "clouds.yaml entry");
}

TEST_F(AuthConfigTest, UnknownCloudNamesCloudAndSearchedFiles) {
  std::string clouds = WriteFile("clouds.yaml", kCloudsYaml);
  std::string missing = (dir_ / "missing.yaml").string();
  env_["OS_CLOUD"] = "prod";

  auto config = Load({}, {missing, clouds});

  EXPECT_EQ(config.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(config.status().message(),
            "cloud 'prod' not found in clouds.yaml (searched " + missing +
                ", " + clouds + ")");
}

TEST_F(AuthConfigTest, MalformedCloudsYamlNamesFileAndLine) {
  std::string clouds = WriteFile("clouds.yaml", R"(clouds:
  dev:
    auth: [unclosed
    region_name: RegionOne
)");

  auto config = Load({.os_cloud = "dev"}, {clouds});

  EXPECT_EQ(config.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(config.status().message(),
            clouds + ":4: end of sequence flow not found");
}

TEST_F(AuthConfigTest, CloudsYamlThatIsNotAMappingHoldsNoClouds) {
  std::string scalar = WriteFile("scalar.yaml", "just a string\n");
  std::string clouds = WriteFile("clouds.yaml", kCloudsYaml);

  auto config = Load({.os_cloud = "dev"}, {scalar, clouds});

  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_EQ(config->username, "yaml-user");
}

TEST_F(AuthConfigTest, CloudEntryThatIsNotAMappingNamesFileAndLine) {
  std::string clouds =
      WriteFile("clouds.yaml", "clouds:\n  other: {}\n  dev: just-a-string\n");

  auto config = Load({.os_cloud = "dev"}, {clouds});

  EXPECT_EQ(config.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(config.status().message(),
            clouds + ":3: cloud 'dev' must be a mapping");
}

TEST_F(AuthConfigTest, AuthThatIsNotAMappingNamesFileAndLine) {
  std::string clouds = WriteFile("clouds.yaml", R"(clouds:
  dev:
    region_name: RegionOne
    auth: https://keystone.example:5000/v3
)");

  auto config = Load({.os_cloud = "dev"}, {clouds});

  EXPECT_EQ(config.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(config.status().message(), clouds + ":4: 'auth' must be a mapping");
}

TEST_F(AuthConfigTest, SettingThatIsNotAStringNamesFileAndLine) {
  std::string clouds = WriteFile("clouds.yaml", R"(clouds:
  dev:
    auth:
      auth_url: https://keystone.example:5000/v3
      username: [deployer, other]
)");

  auto config = Load({.os_cloud = "dev"}, {clouds});

  EXPECT_EQ(config.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(config.status().message(),
            clouds + ":5: 'username' must be a string");
}

class VerifyFalseTest : public AuthConfigTest,
                        public testing::WithParamInterface<const char*> {};

TEST_P(VerifyFalseTest, IsRefusedNamingFileAndLine) {
  std::string clouds = WriteFile("clouds.yaml", std::string(R"(clouds:
  dev:
    auth:
      auth_url: https://keystone.example:5000/v3
      username: deployer
      password: yaml-password
    verify: )") + GetParam() + "\n");

  auto config = Load({.os_cloud = "dev"}, {clouds});

  EXPECT_EQ(config.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(config.status().message(),
            clouds +
                ":7: 'verify: false' is refused: siq always verifies TLS; "
                "name a CA bundle with cacert");
}

// YAML 1.1, which clouds.yaml is read as, has several spellings of false.
INSTANTIATE_TEST_SUITE_P(
    YamlSpellings,
    VerifyFalseTest,
    testing::Values("false", "False", "FALSE", "no", "off"));

TEST_F(AuthConfigTest, AcceptsVerifyTrue) {
  std::string clouds = WriteFile("clouds.yaml", R"(clouds:
  dev:
    auth:
      auth_url: https://keystone.example:5000/v3
      username: deployer
      password: yaml-password
    verify: true
    cacert: /etc/siq/ca.pem
)");

  auto config = Load({.os_cloud = "dev"}, {clouds});

  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_EQ(config->cacert, "/etc/siq/ca.pem");
}

TEST(CloudsYamlPathsTest, SearchesConfigFileThenCwdThenHomeThenEtc) {
  std::map<std::string, std::string> env = {
      {"OS_CLIENT_CONFIG_FILE", "/srv/siq/clouds.yaml"}, {"HOME", "/home/ops"}};
  EnvLookup lookup = [&](std::string_view name) -> std::optional<std::string> {
    auto it = env.find(std::string(name));
    return it == env.end() ? std::nullopt : std::optional(it->second);
  };

  std::vector<std::string> paths = CloudsYamlPaths(lookup);

  EXPECT_EQ(paths,
            (std::vector<std::string>{"/srv/siq/clouds.yaml", "clouds.yaml",
                                      "/home/ops/.config/openstack/clouds.yaml",
                                      "/etc/openstack/clouds.yaml"}));
}

TEST(CloudsYamlPathsTest, SkipsConfigFileAndHomeWhenUnset) {
  EnvLookup lookup = [](std::string_view) -> std::optional<std::string> {
    return std::nullopt;
  };

  std::vector<std::string> paths = CloudsYamlPaths(lookup);

  EXPECT_EQ(paths, (std::vector<std::string>{"clouds.yaml",
                                             "/etc/openstack/clouds.yaml"}));
}

}  // namespace
}  // namespace siq::keystone
