#include "core/policy/policy.h"

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "core/base/status.h"
#include "core/policy/evaluator.h"
#include "core/policy/oslo.h"

namespace siq::policy {
namespace {

const std::string kShipped = std::string(SIQ_SOURCE_DIR) + "/policies";

// Each test gets its own directory for policy files, removed after it.
class PolicyTest : public testing::Test {
 protected:
  void SetUp() override {
    const testing::TestInfo* info =
        testing::UnitTest::GetInstance()->current_test_info();
    std::string name = std::string(info->test_suite_name()) + "_" +
                       info->name() + "_" + std::to_string(getpid());
    std::replace(name.begin(), name.end(), '/', '_');
    dir_ = std::filesystem::path(testing::TempDir()) / ("siq_" + name);
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }

  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string WriteFile(const std::string& name, const std::string& text) {
    std::string path = (dir_ / name).string();
    std::ofstream(path) << text;
    return path;
  }

  PolicySet Shipped() {
    auto set = LoadPolicyDir(kShipped);
    EXPECT_TRUE(set.ok()) << set.status().message();
    return set.ok() ? *set : PolicySet{};
  }

  std::filesystem::path dir_;
};

constexpr char kRoles[] = R"(roles:
  - name: tester
    policies: [p]
    keystone_roles: [member]
)";

// --- The decision table over the shipped policies ---------------------

struct DecisionCase {
  std::string role;
  Action action;
  Resource resource;
  std::string name;
  std::map<std::string, std::string> vars;
  Effect effect;
  // The deciding statement, or "" for the default deny.
  std::string policy;
  int rule_index = 0;
};

constexpr Resource kSecrets = Resource::kSecrets;
constexpr Resource kPayload = Resource::kSecretPayloads;
constexpr Resource kContainers = Resource::kContainers;
constexpr Effect kAllow = Effect::kAllow;
constexpr Effect kDeny = Effect::kDeny;
const std::string kDeployer = "deployment-secrets-provisioner";
const std::string kReader = "vps-secrets-reader";
const std::string kRetirer = "deployment-secrets-retirer";
const std::map<std::string, std::string> kVps1 = {{"vps_id", "vps-1"}};

const std::vector<DecisionCase> kDecisions = {
    // The deployment service generates, lists and wires; never reads values.
    {"deployment-service",
     Action::kCreate,
     kSecrets,
     "vps-1_JWT_SECRET",
     {},
     kAllow,
     kDeployer,
     0},
    {"deployment-service",
     Action::kList,
     kSecrets,
     "",
     {},
     kAllow,
     kDeployer,
     0},
    {"deployment-service",
     Action::kCreate,
     kContainers,
     "vps-1",
     {},
     kAllow,
     kDeployer,
     2},
    {"deployment-service",
     Action::kGet,
     kSecrets,
     "vps-1_JWT_SECRET",
     {},
     kAllow,
     kDeployer,
     3},
    // Deny precedence: rule 3 allows get on barbican:secrets, which covers
    // the payload, and rule 1's deny still wins.
    {"deployment-service",
     Action::kGet,
     kPayload,
     "vps-1_JWT_SECRET",
     {},
     kDeny,
     kDeployer,
     1},
    // siq's addition: rotation retires previous secrets.
    {"deployment-service",
     Action::kDelete,
     kSecrets,
     "vps-1_JWT_SECRET",
     {},
     kAllow,
     kRetirer,
     0},
    {"deployment-service",
     Action::kDelete,
     kContainers,
     "vps-1",
     {},
     kAllow,
     kRetirer,
     1},
    // A VPS reads its own container, named exactly its id, and no other.
    {"vps-application", Action::kGet, kContainers, "vps-1", kVps1, kAllow,
     kReader, 2},
    {"vps-application", Action::kGet, kContainers, "vps-10", kVps1, kDeny, "",
     0},
    {"vps-application", Action::kGet, kContainers, "vps-1", {}, kDeny, "", 0},
    {"vps-application", Action::kList, kContainers, "", kVps1, kDeny, "", 0},
    // A VPS reads its own secrets, metadata and values.
    {"vps-application", Action::kGet, kSecrets, "vps-1_JWT_SECRET", kVps1,
     kAllow, kReader, 0},
    {"vps-application", Action::kGet, kPayload, "vps-1_JWT_SECRET", kVps1,
     kAllow, kReader, 0},
    // Prefix tricks.
    {"vps-application", Action::kGet, kPayload, "vps-10_JWT_SECRET", kVps1,
     kDeny, "", 0},
    {"vps-application",
     Action::kGet,
     kPayload,
     "vps-1_JWT_SECRET",
     {{"vps_id", "vps-10"}},
     kDeny,
     "",
     0},
    {"vps-application", Action::kGet, kPayload, "vps-1JWT_SECRET", kVps1, kDeny,
     "", 0},
    {"vps-application", Action::kGet, kPayload, "VPS-1_JWT_SECRET", kVps1,
     kDeny, "", 0},
    {"vps-application", Action::kGet, kPayload, "vps-%_JWT_SECRET", kVps1,
     kDeny, "", 0},
    {"vps-application",
     Action::kGet,
     kPayload,
     "vps-1_JWT_SECRET",
     {{"vps_id", "vps-%"}},
     kDeny,
     "",
     0},
    {"vps-application",
     Action::kGet,
     kPayload,
     "vps_1_JWT_SECRET",
     {{"vps_id", "vps_1"}},
     kDeny,
     "",
     0},
    {"vps-application",
     Action::kGet,
     kPayload,
     "vps-1_JWT_SECRET",
     {{"vps_id", "%"}},
     kDeny,
     "",
     0},
    // Missing variables and names fail closed.
    {"vps-application",
     Action::kGet,
     kPayload,
     "vps-1_JWT_SECRET",
     {},
     kDeny,
     "",
     0},
    {"vps-application",
     Action::kGet,
     kPayload,
     "vps-1_JWT_SECRET",
     {{"vps_id", ""}},
     kDeny,
     "",
     0},
    {"vps-application", Action::kGet, kPayload, "", kVps1, kDeny, "", 0},
    // A VPS changes nothing, even its own; the deny covers the payload.
    {"vps-application", Action::kUpdate, kSecrets, "vps-1_JWT_SECRET", kVps1,
     kDeny, kReader, 1},
    {"vps-application", Action::kDelete, kPayload, "vps-1_JWT_SECRET", kVps1,
     kDeny, kReader, 1},
    {"vps-application", Action::kCreate, kSecrets, "vps-1_JWT_SECRET", kVps1,
     kDeny, kReader, 1},
    {"vps-application", Action::kList, kSecrets, "", kVps1, kDeny, "", 0},
    // Roles with no policy, and unknown roles, have no access.
    {"portal-admin", Action::kGet, kSecrets, "vps-1_JWT_SECRET", kVps1, kDeny,
     "", 0},
    {"developer", Action::kList, kSecrets, "", {}, kDeny, "", 0},
    {"support", Action::kGet, kPayload, "vps-1_JWT_SECRET", kVps1, kDeny, "",
     0},
    {"root", Action::kGet, kPayload, "vps-1_JWT_SECRET", kVps1, kDeny, "", 0},
    {"VPS-Application", Action::kGet, kPayload, "vps-1_JWT_SECRET", kVps1,
     kDeny, "", 0},
    {"", Action::kGet, kPayload, "vps-1_JWT_SECRET", kVps1, kDeny, "", 0},
};

TEST_F(PolicyTest, ShippedPoliciesDecideEveryCaseOfTheTable) {
  PolicySet set = Shipped();

  for (const DecisionCase& c : kDecisions) {
    SCOPED_TRACE(c.role + " " + std::string(ActionName(c.action)) + " " +
                 std::string(ResourceName(c.resource)) + " '" + c.name + "'");

    Decision decision =
        Evaluate(set, {c.role, c.action, c.resource, c.name, c.vars});

    EXPECT_EQ(decision.effect, c.effect) << decision.reason;
    if (c.policy.empty()) {
      EXPECT_FALSE(decision.statement.has_value()) << decision.reason;
    } else {
      ASSERT_TRUE(decision.statement.has_value()) << decision.reason;
      EXPECT_EQ(decision.statement->policy, c.policy);
      EXPECT_EQ(decision.statement->rule_index, c.rule_index);
    }
  }
}

TEST_F(PolicyTest, DecisionNamesTheFileAndLineOfTheDecidingRule) {
  PolicySet set = Shipped();

  Decision decision = Evaluate(set, {"vps-application", Action::kGet, kPayload,
                                     "vps-1_JWT_SECRET", kVps1});

  ASSERT_TRUE(decision.statement.has_value());
  EXPECT_EQ(decision.statement->location.str(),
            kShipped + "/vps-application.yaml:6");
  EXPECT_EQ(decision.reason, "allowed by vps-secrets-reader rule 0");
}

TEST_F(PolicyTest, UnknownRoleIsDeniedWithAReasonNamingIt) {
  PolicySet set = Shipped();

  Decision decision = Evaluate(set, {"root", Action::kList, kSecrets, "", {}});

  EXPECT_EQ(decision.effect, Effect::kDeny);
  EXPECT_EQ(decision.reason, "unknown role 'root': no access");
}

TEST_F(PolicyTest, DenyWhoseVariableIsUnsetStillDenies) {
  WriteFile("roles.yaml", kRoles);
  WriteFile("p.yaml", R"(policies:
  - name: p
    rules:
      - resource: "barbican:secrets"
        actions: [get]
        effect: allow
      - resource: "barbican:secrets"
        actions: [get]
        conditions:
          - name_prefix: "${vps_id}_"
        effect: deny
)");
  auto set = LoadPolicyDir(dir_.string());
  ASSERT_TRUE(set.ok()) << set.status().message();

  Decision decision =
      Evaluate(*set, {"tester", Action::kGet, kSecrets, "vps-2_X", {}});

  EXPECT_EQ(decision.effect, Effect::kDeny);
  ASSERT_TRUE(decision.statement.has_value());
  EXPECT_EQ(decision.statement->rule_index, 1);
  EXPECT_EQ(decision.reason,
            "denied by p rule 1 (its condition fails closed: variable vps_id "
            "is not set)");
}

TEST_F(PolicyTest, DenyWhoseConditionDoesNotHoldLeavesTheAllow) {
  WriteFile("roles.yaml", kRoles);
  WriteFile("p.yaml", R"(policies:
  - name: p
    rules:
      - resource: "barbican:secrets"
        actions: [get]
        effect: allow
      - resource: "barbican:secrets"
        actions: [get]
        conditions:
          - name_prefix: "${vps_id}_"
        effect: deny
)");
  auto set = LoadPolicyDir(dir_.string());
  ASSERT_TRUE(set.ok()) << set.status().message();

  Decision decision =
      Evaluate(*set, {"tester", Action::kGet, kSecrets, "vps-2_X", kVps1});

  EXPECT_EQ(decision.effect, Effect::kAllow);
  ASSERT_TRUE(decision.statement.has_value());
  EXPECT_EQ(decision.statement->rule_index, 0);
}

// --- Summaries and the oslo rendering ---------------------------------

TEST_F(PolicyTest, SummaryOfAVpsReadIsConditionalOnItsPrefix) {
  PolicySet set = Shipped();

  Summary summary = Summarize(set, "vps-application", Action::kGet, kPayload);

  EXPECT_EQ(summary.verdict, Verdict::kConditional);
  EXPECT_EQ(summary.Text(), "if name_prefix ${vps_id}_");
}

TEST_F(PolicyTest, SummaryOfADeployerPayloadReadIsDeny) {
  PolicySet set = Shipped();

  Summary summary =
      Summarize(set, "deployment-service", Action::kGet, kPayload);

  EXPECT_EQ(summary.verdict, Verdict::kDeny);
}

TEST_F(PolicyTest, OsloRulesKeepTheDeployerFromDecrypting) {
  PolicySet set = Shipped();

  auto rules = OsloRules(set);

  ASSERT_TRUE(rules.ok()) << rules.status().message();
  std::map<std::string, std::string> by_name(rules->begin(), rules->end());
  EXPECT_EQ(by_name["secret:decrypt"],
            "(role:siq-vps-reader and rule:secret_acl_read)");
  EXPECT_EQ(by_name["orders:post"], "role:creator");
  EXPECT_EQ(by_name["secrets:post"], "role:creator");
  EXPECT_EQ(by_name["secret_acls:put_patch"],
            "(role:creator and rule:secret_project_match)");
  // siq's retire step: the deployment role deletes secrets, containers and
  // orders of its own project; nobody else does.
  EXPECT_EQ(by_name["secret:delete"],
            "(role:creator and rule:secret_project_match)");
  EXPECT_EQ(by_name["order:delete"],
            "(role:creator and rule:order_project_match)");
  EXPECT_EQ(by_name["container_secret:delete"],
            "(role:creator and rule:container_project_match)");
  // A VPS reads its container through the container's read ACL.
  EXPECT_EQ(by_name["container:get"],
            "(role:creator and rule:container_project_match) or "
            "(role:siq-vps-reader and rule:container_acl_read)");
  EXPECT_EQ(rules->size(), 33u);
}

TEST_F(PolicyTest, OsloRulesRefuseAKeystoneRoleThatIsNotAPlainName) {
  WriteFile("roles.yaml", R"(roles:
  - name: tester
    policies: [p]
    keystone_roles: ["member or True:True"]
)");
  WriteFile("p.yaml", R"(policies:
  - name: p
    rules:
      - resource: "barbican:secrets"
        actions: [get]
        effect: allow
)");
  auto set = LoadPolicyDir(dir_.string());
  ASSERT_TRUE(set.ok()) << set.status().message();

  auto rules = OsloRules(*set);

  EXPECT_EQ(rules.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(rules.status().message(),
            (dir_ / "roles.yaml").string() +
                ":2: role 'tester': Keystone role 'member or True:True' may "
                "hold only letters, digits and '_-.'");
}

// --- Bad policy files: each kind of error, with its file:line ---------

struct BadFile {
  const char* what;
  const char* yaml;
  const char* message;  // after "<path>:"
};

constexpr char kRuleHead[] = R"(policies:
  - name: p
    rules:
      - resource: "barbican:secrets"
)";

const std::vector<BadFile> kBadFiles = {
    {"unknown top-level key", "policy:\n  - name: p\n",
     "1: unknown key 'policy' in the file (known: policies, roles)"},
    {"unknown key in a rule",
     "policies:\n  - name: p\n    rules:\n      - resource: barbican:secrets\n"
     "        actions: [get]\n        effects: allow\n",
     "6: unknown key 'effects' in a rule (known: resource, actions, "
     "conditions, effect)"},
    {"unknown resource",
     "policies:\n  - name: p\n    rules:\n      - resource: barbican:keys\n"
     "        actions: [get]\n        effect: allow\n",
     "4: unknown resource 'barbican:keys' (known: barbican:secrets, "
     "barbican:secrets:payload, barbican:containers)"},
    {"unknown action",
     "policies:\n  - name: p\n    rules:\n      - resource: barbican:secrets\n"
     "        actions:\n          - get\n          - read\n"
     "        effect: allow\n",
     "7: unknown action 'read' (known: create, list, get, update, delete)"},
    {"unknown effect",
     "policies:\n  - name: p\n    rules:\n      - resource: barbican:secrets\n"
     "        actions: [get]\n        effect: permit\n",
     "6: unknown effect 'permit' (known: allow, deny)"},
    {"missing effect",
     "policies:\n  - name: p\n    rules:\n      - resource: barbican:secrets\n"
     "        actions: [get]\n",
     "4: a rule needs 'effect'"},
    {"empty actions",
     "policies:\n  - name: p\n    rules:\n      - resource: barbican:secrets\n"
     "        actions: []\n        effect: allow\n",
     "5: actions must be a non-empty list"},
    {"condition that is not a mapping",
     "policies:\n  - name: p\n    rules:\n      - resource: barbican:secrets\n"
     "        actions: [get]\n        conditions:\n          - vps-1_\n"
     "        effect: allow\n",
     "7: a condition must be a mapping"},
    {"unknown condition",
     "policies:\n  - name: p\n    rules:\n      - resource: barbican:secrets\n"
     "        actions: [get]\n        conditions:\n"
     "          - name_suffix: _JWT\n        effect: allow\n",
     "7: unknown key 'name_suffix' in a condition (known: name_prefix, "
     "name)"},
    {"unknown variable in an exact name",
     "policies:\n  - name: p\n    rules:\n      - resource: barbican:secrets\n"
     "        actions: [get]\n        conditions:\n"
     "          - name: \"${org_id}\"\n        effect: allow\n",
     "7: name '${org_id}': use ${vps_id} and literal text only"},
    {"unknown variable",
     "policies:\n  - name: p\n    rules:\n      - resource: barbican:secrets\n"
     "        actions: [get]\n        conditions:\n"
     "          - name_prefix: \"${org_id}_\"\n        effect: allow\n",
     "7: name_prefix '${org_id}_': unknown variable 'org_id' (known: "
     "vps_id)"},
    {"unterminated variable",
     "policies:\n  - name: p\n    rules:\n      - resource: barbican:secrets\n"
     "        actions: [get]\n        conditions:\n"
     "          - name_prefix: \"${vps_id_\"\n        effect: allow\n",
     "7: name_prefix '${vps_id_': unterminated '${'"},
    {"prefix ending in a variable",
     "policies:\n  - name: p\n    rules:\n      - resource: barbican:secrets\n"
     "        actions: [get]\n        conditions:\n"
     "          - name_prefix: \"${vps_id}\"\n        effect: allow\n",
     "7: name_prefix '${vps_id}' must end with a separator after the last "
     "variable, such as '${vps_id}_', or vps-1 would match vps-10"},
    {"empty prefix",
     "policies:\n  - name: p\n    rules:\n      - resource: barbican:secrets\n"
     "        actions: [get]\n        conditions:\n"
     "          - name_prefix: \"\"\n        effect: allow\n",
     "7: name_prefix must be a non-empty string"},
    {"YAML syntax error", "policies:\n  - name: p\n    rules: [\n",
     "4: end of sequence flow not "
     "found"},
};

TEST_F(PolicyTest, EachKindOfBadFileNamesItsFileAndLine) {
  for (const BadFile& bad : kBadFiles) {
    SCOPED_TRACE(bad.what);
    std::string path = WriteFile("bad.yaml", bad.yaml);

    auto file = LoadPolicyFile(path);

    EXPECT_EQ(file.status().code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(file.status().message(), path + ":" + bad.message);
  }
}

TEST_F(PolicyTest, PolicyDefinedInTwoFilesNamesBothPlaces) {
  WriteFile("roles.yaml", kRoles);
  std::string policy = std::string(kRuleHead) +
                       "        actions: [get]\n        effect: allow\n";
  std::string first = WriteFile("a.yaml", policy);
  std::string second = WriteFile("b.yaml", policy);

  auto set = LoadPolicyDir(dir_.string());

  EXPECT_EQ(set.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(set.status().message(),
            second + ":2: policy 'p' is already defined at " + first + ":2");
}

TEST_F(PolicyTest, RoleNamingAnUndefinedPolicyNamesTheRoleLine) {
  std::string roles = WriteFile("roles.yaml", kRoles);

  auto set = LoadPolicyDir(dir_.string());

  EXPECT_EQ(set.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(set.status().message(),
            roles + ":2: role 'tester' names policy 'p', which no file in " +
                dir_.string() + " defines");
}

TEST_F(PolicyTest, DirectoryWithoutARoleTableIsRefused) {
  WriteFile("a.yaml", std::string(kRuleHead) +
                          "        actions: [get]\n        effect: allow\n");

  auto set = LoadPolicyDir(dir_.string());

  EXPECT_EQ(set.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(set.status().message(),
            dir_.string() + ": no role table (a file with 'roles:')");
}

TEST_F(PolicyTest, RoleWithoutPoliciesKeyIsRefused) {
  std::string path = WriteFile("roles.yaml", "roles:\n  - name: support\n");

  auto file = LoadPolicyFile(path);

  EXPECT_EQ(file.status().message(),
            path +
                ":2: a role needs 'policies' (an empty list for no "
                "access)");
}

TEST_F(PolicyTest, MissingFileIsAnIoError) {
  auto file = LoadPolicyFile((dir_ / "nope.yaml").string());

  EXPECT_EQ(file.status().code(), StatusCode::kIoError);
}

}  // namespace
}  // namespace siq::policy
