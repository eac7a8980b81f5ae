// `siq policy` as a person or a script runs it, and the rendered oslo
// policy loaded into the real local Barbican.

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "core/base/exit_codes.h"
#include "tests/integration/stack.h"

namespace siq::testing {
namespace {

const std::string kPolicies = std::string(SIQ_SOURCE_DIR) + "/policies";

class PolicyCliTest : public ::testing::Test {
 protected:
  PolicyCliTest() : dir_(::testing::TempDir() + UniqueName("policy")) {
    std::filesystem::create_directories(dir_);
  }
  ~PolicyCliTest() override { std::filesystem::remove_all(dir_); }

  std::string WriteFile(const std::string& name, const std::string& text) {
    std::string path = dir_ + "/" + name;
    std::ofstream(path) << text;
    return path;
  }

  std::string dir_;
};

TEST_F(PolicyCliTest, CheckAcceptsTheShippedPolicies) {
  RunResult result = RunSiq({"policy", "check", kPolicies});

  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(result.out, kPolicies + ": ok\n");
}

TEST_F(PolicyCliTest, CheckNamesTheFileAndLineOfABadFile) {
  std::string bad = WriteFile("bad.yaml", R"(policies:
  - name: p
    rules:
      - resource: "barbican:secrets"
        actions: [get, read]
        effect: allow
)");

  RunResult result = RunSiq({"policy", "check", bad});

  EXPECT_EQ(result.exit_code, static_cast<int>(ExitCode::kUsage));
  EXPECT_EQ(result.err, "siq: error: " + bad +
                            ":5: unknown action 'read' (known: create, list, "
                            "get, update, delete)\n");
}

TEST_F(PolicyCliTest, TestAllowsAVpsItsOwnSecretAndNamesTheRule) {
  RunResult result = RunSiq(
      {"policy", "test", "--policies", kPolicies, "--role", "vps-application",
       "--action", "get", "--resource", "barbican:secrets:payload", "--name",
       "vps-1_JWT_SECRET", "--var", "vps_id=vps-1", "--output", "json"});

  ASSERT_EQ(result.exit_code, 0) << result.err;
  auto doc = nlohmann::json::parse(result.out);
  EXPECT_EQ(doc["decision"], "allow");
  EXPECT_EQ(doc["statement"]["policy"], "vps-secrets-reader");
  EXPECT_EQ(doc["statement"]["rule"], 0);
  EXPECT_EQ(doc["statement"]["file"], kPolicies + "/vps-application.yaml");
  EXPECT_EQ(doc["statement"]["line"], 6);
}

TEST_F(PolicyCliTest, TestDeniesAnotherVpsSecretWithThePolicyDeniedCode) {
  RunResult result = RunSiq({"policy", "test", "--policies", kPolicies,
                             "--role", "vps-application", "--action", "get",
                             "--resource", "barbican:secrets", "--name",
                             "vps-10_JWT_SECRET", "--var", "vps_id=vps-1"});

  EXPECT_EQ(result.exit_code, static_cast<int>(ExitCode::kPolicyDenied));
  EXPECT_EQ(result.out,
            "decision   deny\n"
            "reason     no rule allows it (default deny)\n");
}

TEST_F(PolicyCliTest, TestNamesTheDenyThatKeepsTheDeployerFromPayloads) {
  RunResult result = RunSiq({"policy", "test", "--policies", kPolicies,
                             "--role", "deployment-service", "--action", "get",
                             "--resource", "barbican:secrets:payload"});

  EXPECT_EQ(result.exit_code, static_cast<int>(ExitCode::kPolicyDenied));
  EXPECT_EQ(result.out,
            "decision   deny\n"
            "statement  deployment-secrets-provisioner rule 1 (" +
                kPolicies +
                "/deployment-service.yaml:17)\n"
                "reason     denied by deployment-secrets-provisioner rule 1\n");
}

TEST_F(PolicyCliTest, TestRefusesAnUnknownActionAsAUsageError) {
  RunResult result =
      RunSiq({"policy", "test", "--policies", kPolicies, "--role", "support",
              "--action", "read", "--resource", "barbican:secrets"});

  EXPECT_EQ(result.exit_code, static_cast<int>(ExitCode::kUsage));
  EXPECT_EQ(result.err,
            "siq: error: --action: unknown action 'read' (known: create, "
            "list, get, update, delete)\n");
}

TEST_F(PolicyCliTest, TestFindsThePoliciesThroughTheConfig) {
  std::string config = WriteFile("siq.yaml", "policies: " + kPolicies + "\n");

  RunResult result =
      RunSiq({"policy", "test", "--role", "developer", "--action", "list",
              "--resource", "barbican:secrets", "--output", "json"},
             {.env = {{"SIQ_CONFIG", config}}});

  EXPECT_EQ(result.exit_code, static_cast<int>(ExitCode::kPolicyDenied))
      << result.err;
  auto doc = nlohmann::json::parse(result.out);
  EXPECT_EQ(doc["reason"], "role 'developer' has no policies: no access");
}

TEST_F(PolicyCliTest, ExplainPrintsEachRoleAndResource) {
  RunResult result =
      RunSiq({"policy", "explain", "--policies", kPolicies, "-o", "json"});

  ASSERT_EQ(result.exit_code, 0) << result.err;
  auto doc = nlohmann::json::parse(result.out);
  ASSERT_EQ(doc["entries"].size(), 5u * 3u * 5u);
  nlohmann::json vps_read = doc["entries"][2 * 15 + 1 * 5 + 2];
  EXPECT_EQ(vps_read["role"], "vps-application");
  EXPECT_EQ(vps_read["resource"], "barbican:secrets:payload");
  EXPECT_EQ(vps_read["action"], "get");
  EXPECT_EQ(vps_read["verdict"], "conditional");
  EXPECT_EQ(vps_read["conditions"], "if name_prefix ${vps_id}_");
}

TEST_F(PolicyCliTest, RenderWithoutAFormatIsAUsageError) {
  RunResult result = RunSiq({"policy", "render", "--policies", kPolicies});

  EXPECT_EQ(result.exit_code, static_cast<int>(ExitCode::kUsage));
}

TEST_F(PolicyCliTest, RenderOsloKeepsDecryptFromTheDeploymentRole) {
  RunResult result =
      RunSiq({"policy", "render", "--oslo", "--policies", kPolicies});

  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_NE(result.out.find("\n\"secret:decrypt\": \"(role:siq-vps-reader "
                            "and rule:secret_acl_read)\"\n"),
            std::string::npos)
      << result.out;
  EXPECT_NE(result.out.find("\n\"orders:post\": \"role:creator\"\n"),
            std::string::npos)
      << result.out;
}

// Writes the rendered policy into the stack's Barbican policy file, and
// puts `{}` back when the test ends, however it ends: other tests share
// the stack.
class OsloPolicyOnStack {
 public:
  OsloPolicyOnStack()
      : path_(StackVariable("SIQ_STACK_DIR") + "/barbican-policy.yaml") {}
  ~OsloPolicyOnStack() { std::ofstream(path_, std::ios::trunc) << "{}\n"; }
  OsloPolicyOnStack(const OsloPolicyOnStack&) = delete;
  OsloPolicyOnStack& operator=(const OsloPolicyOnStack&) = delete;

  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

TEST(PolicyStackTest, RenderedOsloPolicyRefusesTheDeployerPayloadReads) {
  Connected deployer(DeployerConfig());
  auto before =
      deployer.barbican.CreateKeyOrder({.name = UniqueName("policy-before")});
  ASSERT_TRUE(before.ok()) << before.status().message();
  auto made = deployer.barbican.WaitForOrder(*before, std::chrono::seconds(30));
  ASSERT_TRUE(made.ok()) << made.status().message();
  ASSERT_TRUE(deployer.barbican.GetPayload(made->secret_ref).ok())
      << "without the override the deployer reads payloads: the test "
         "would prove nothing";
  std::vector<barbican::SecretRef> secrets = {made->secret_ref};

  {
    OsloPolicyOnStack installed;
    RunResult rendered = RunSiq({"policy", "render", "--oslo", "--policies",
                                 kPolicies, "--out", installed.path()});
    ASSERT_EQ(rendered.exit_code, 0) << rendered.err;

    auto order =
        deployer.barbican.CreateKeyOrder({.name = UniqueName("policy-after")});
    ASSERT_TRUE(order.ok()) << order.status().message();
    auto active =
        deployer.barbican.WaitForOrder(*order, std::chrono::seconds(30));
    ASSERT_TRUE(active.ok()) << active.status().message();
    secrets.push_back(active->secret_ref);
    auto old_read = deployer.barbican.GetPayload(made->secret_ref);
    auto new_read = deployer.barbican.GetPayload(active->secret_ref);

    EXPECT_EQ(active->status, "ACTIVE");
    EXPECT_EQ(old_read.status().http_status(), 403)
        << old_read.status().message();
    EXPECT_EQ(new_read.status().http_status(), 403)
        << new_read.status().message();
    // Rotation's retire step: the deployment role deletes a secret.
    Status retired = deployer.barbican.DeleteSecret(active->secret_ref);
    EXPECT_TRUE(retired.ok()) << retired.message();
    if (retired.ok()) {
      secrets.pop_back();
    }
  }

  // (Orders stay: Barbican's default policy leaves deleting them to admins.)
  for (const auto& ref : secrets) {
    Status deleted = deployer.barbican.DeleteSecret(ref);
    EXPECT_TRUE(deleted.ok()) << deleted.message();
  }
}

}  // namespace
}  // namespace siq::testing
