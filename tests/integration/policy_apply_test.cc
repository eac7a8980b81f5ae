// `siq policy apply` and the per-command policy guard against the real
// local stack: what Barbican's ACLs say, and who can read what, before and
// after.

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "core/base/encoding.h"
#include "core/base/exit_codes.h"
#include "core/records/store.h"
#include "tests/integration/stack.h"

extern char** environ;

namespace siq::testing {
namespace {

using barbican::Acl;
using barbican::ContainerRef;
using barbican::SecretRef;

const std::string kPolicies = std::string(SIQ_SOURCE_DIR) + "/policies";

struct Vps {
  std::string id;
  std::string credential;  // the reader's clouds.yaml
  records::Deployment record{.vps = *records::VpsId::Parse("none")};
};

class PolicyApplyTest : public ::testing::Test {
 protected:
  PolicyApplyTest()
      : dir_(::testing::TempDir() + UniqueName("policy-apply")),
        records_(dir_ + "/deployments.json"),
        deployer_(DeployerConfig()) {
    std::filesystem::create_directories(dir_);
  }

  ~PolicyApplyTest() override {
    for (const std::string& id : users_) {
      DeleteUser(id);
    }
    std::filesystem::remove_all(dir_);
  }

  Vps Provision(const std::string& what) {
    Vps vps{.id = UniqueName(what), .credential = dir_ + "/" + what + ".yaml"};
    RunResult result =
        RunSiq({"provision", "--vps", vps.id, "--org", "org-test", "--records",
                records_, "--create-reader", "--reader-credential-fd", "3"},
               {.fd3_path = vps.credential});
    EXPECT_EQ(result.exit_code, 0) << result.err;
    records::FileRecordStore store(records_, std::chrono::seconds(5));
    auto record = store.Load(*records::VpsId::Parse(vps.id));
    if (record.ok() && record->has_value()) {
      vps.record = **record;
      users_.push_back(vps.record.reader_user_id);
    } else {
      ADD_FAILURE() << "no record of " << vps.id;
    }
    return vps;
  }

  static SecretRef Jwt(const Vps& vps) {
    return SecretRef(vps.record.secrets.at("JWT_SECRET").current->ref);
  }

  // The drift of the brief: B's reader on A's secret and container, and
  // A's secret open to its whole project.
  void AddDrift(const Vps& a, const Vps& b) {
    Acl wide{.read_users = {a.record.reader_user_id, b.record.reader_user_id},
             .project_access = true};
    ASSERT_TRUE(deployer_.barbican.SetSecretAcl(Jwt(a), wide).ok());
    ASSERT_TRUE(deployer_.barbican
                    .SetContainerAcl(ContainerRef(a.record.container_ref), wide)
                    .ok());
  }

  // Every ACL of the VPSs' secrets and containers, as the deployer sees it.
  std::map<std::string, Acl> Acls(const std::vector<const Vps*>& fleet) {
    std::map<std::string, Acl> acls;
    for (const Vps* vps : fleet) {
      auto container = deployer_.barbican.GetContainerAcl(
          ContainerRef(vps->record.container_ref));
      EXPECT_TRUE(container.ok()) << container.status().message();
      acls[vps->record.container_ref] = container.ok() ? *container : Acl{};
      for (const auto& [kind, slot] : vps->record.secrets) {
        auto acl =
            deployer_.barbican.GetSecretAcl(SecretRef(slot.current->ref));
        EXPECT_TRUE(acl.ok()) << acl.status().message();
        acls[slot.current->ref] = acl.ok() ? *acl : Acl{};
      }
    }
    return acls;
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

  std::string WriteFile(const std::string& name, const std::string& text) {
    std::string path = dir_ + "/" + name;
    std::ofstream(path) << text;
    return path;
  }

  std::string dir_;
  std::string records_;
  Connected deployer_;
  std::vector<std::string> users_;
};

TEST_F(PolicyApplyTest, ApplyTakesAnotherVpsReaderOffAndClosesTheProject) {
  Vps a = Provision("vps-a");
  Vps b = Provision("vps-b");
  AddDrift(a, b);
  Connected reader_b(ReaderFromCloudsYaml(b.credential));
  ASSERT_TRUE(reader_b.barbican.GetPayload(Jwt(a)).ok())
      << "the drift must let B read A's secret, or the test proves nothing";

  RunResult result =
      RunSiq({"policy", "apply", "--records", records_, "-o", "json"});

  ASSERT_EQ(result.exit_code, 0) << result.err;
  auto doc = nlohmann::json::parse(result.out);
  EXPECT_EQ(doc["dry_run"], false);
  EXPECT_EQ(doc["vps_checked"], 2);
  EXPECT_EQ(doc["acls_checked"], 16);
  EXPECT_EQ(doc["failed"], 0);
  ASSERT_EQ(doc["drifts"].size(), 2u) << result.out;
  for (const auto& drift : doc["drifts"]) {
    EXPECT_EQ(drift["vps"], a.id);
    EXPECT_EQ(drift["outcome"], "fixed");
    EXPECT_EQ(drift["changes"],
              nlohmann::json({"project-access was true",
                              "user " + b.record.reader_user_id + " removed"}));
  }
  EXPECT_EQ(doc["drifts"][0]["resource"], "container");
  EXPECT_EQ(doc["drifts"][1]["resource"], "JWT_SECRET");

  Connected reader_a(ReaderFromCloudsYaml(a.credential));
  Connected reader_b_after(ReaderFromCloudsYaml(b.credential));
  auto own = reader_a.barbican.GetPayload(Jwt(a));
  auto other = reader_b_after.barbican.GetPayload(Jwt(a));
  EXPECT_TRUE(own.ok()) << own.status().message();
  EXPECT_EQ(other.status().http_status(), 403) << other.status().message();
  Acl exact{.read_users = {a.record.reader_user_id}, .project_access = false};
  std::map<std::string, Acl> after = Acls({&a, &b});
  EXPECT_EQ(after[a.record.container_ref], exact);
  EXPECT_EQ(after[Jwt(a).url()], exact);
}

TEST_F(PolicyApplyTest, AppliedTwiceFindsNothingTheSecondTime) {
  Vps a = Provision("vps-a");
  Vps b = Provision("vps-b");
  AddDrift(a, b);
  ASSERT_EQ(RunSiq({"policy", "apply", "--records", records_}).exit_code, 0);

  RunResult again = RunSiq({"policy", "apply", "--records", records_});

  EXPECT_EQ(again.exit_code, 0) << again.err;
  EXPECT_EQ(again.out, "16 ACLs of 2 VPSs checked: 0 drifted, 0 failed\n");
}

TEST_F(PolicyApplyTest, DryRunPrintsTheDriftAndChangesNoAcl) {
  Vps a = Provision("vps-a");
  Vps b = Provision("vps-b");
  AddDrift(a, b);
  std::map<std::string, Acl> before = Acls({&a, &b});

  RunResult result =
      RunSiq({"policy", "apply", "--dry-run", "--records", records_});

  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_NE(result.out.find("would fix"), std::string::npos) << result.out;
  EXPECT_NE(result.out.find("user " + b.record.reader_user_id + " removed"),
            std::string::npos)
      << result.out;
  EXPECT_NE(result.out.find("dry run: 16 ACLs of 2 VPSs checked: 2 drifted"),
            std::string::npos)
      << result.out;
  EXPECT_EQ(Acls({&a, &b}), before);
  Connected reader_b(ReaderFromCloudsYaml(b.credential));
  EXPECT_TRUE(reader_b.barbican.GetPayload(Jwt(a)).ok())
      << "the drift is still there";
}

TEST_F(PolicyApplyTest, AFixThatFailsIsReportedAndTheRestIsFixed) {
  Vps a = Provision("vps-a");
  Vps b = Provision("vps-b");
  AddDrift(a, b);
  SecretRef gone(a.record.secrets.at("DB_PASSWORD").current->ref);
  ASSERT_TRUE(deployer_.barbican.DeleteSecret(gone).ok());

  RunResult result =
      RunSiq({"policy", "apply", "--records", records_, "-o", "json"});

  EXPECT_EQ(result.exit_code, static_cast<int>(ExitCode::kPartialFailure))
      << result.err;
  auto doc = nlohmann::json::parse(result.out);
  EXPECT_EQ(doc["failed"], 1);
  ASSERT_EQ(doc["drifts"].size(), 3u) << result.out;
  EXPECT_EQ(doc["drifts"][1]["resource"], "DB_PASSWORD");
  EXPECT_EQ(doc["drifts"][1]["outcome"], "failed");
  EXPECT_NE(doc["drifts"][1]["error"].get<std::string>().find("HTTP 404"),
            std::string::npos)
      << result.out;
  EXPECT_EQ(doc["drifts"][2]["resource"], "JWT_SECRET");
  EXPECT_EQ(doc["drifts"][2]["outcome"], "fixed");
}

TEST_F(PolicyApplyTest, ARoleThatMayNotWriteAclsExitsThreeAndChangesNothing) {
  Vps a = Provision("vps-a");
  Vps b = Provision("vps-b");
  AddDrift(a, b);
  std::map<std::string, Acl> before = Acls({&a, &b});
  // The shipped policies, plus one that forbids the deployment service to
  // change secrets (their ACLs among them).
  std::string policies = dir_ + "/policies";
  std::filesystem::create_directories(policies);
  for (const char* file : {"deployment-service.yaml", "vps-application.yaml"}) {
    std::filesystem::copy_file(kPolicies + "/" + file, policies + "/" + file);
  }
  WriteFile("policies/roles.yaml", R"(roles:
  - name: deployment-service
    policies: [deployment-secrets-provisioner, deployment-secrets-retirer,
               frozen-secrets]
    keystone_roles: [creator]
  - name: vps-application
    policies: [vps-secrets-reader]
)");
  WriteFile("policies/frozen.yaml", R"(policies:
  - name: frozen-secrets
    rules:
      - resource: "barbican:secrets"
        actions: [update]
        effect: deny
)");
  std::string config = WriteFile("siq.yaml", "policies: " + policies + "\n");

  RunResult result =
      RunSiq({"policy", "apply", "--config", config, "--records", records_});

  EXPECT_EQ(result.exit_code, static_cast<int>(ExitCode::kPolicyDenied))
      << result.err;
  EXPECT_NE(result.err.find("policy denied: role deployment-service may not "
                            "update barbican:secrets " +
                            a.id +
                            "_JWT_SECRET: denied by frozen-secrets "
                            "rule 0 (" +
                            policies + "/frozen.yaml:4)"),
            std::string::npos)
      << result.err;
  std::map<std::string, Acl> after = Acls({&a, &b});
  // The container came first and its update is allowed: fixed. Every
  // secret's ACL is as it was.
  after.erase(a.record.container_ref);
  before.erase(a.record.container_ref);
  EXPECT_EQ(after, before);
}

TEST_F(PolicyApplyTest, AnUnknownActingRoleIsAUsageError) {
  std::string config = WriteFile("siq.yaml", "role: deployment-servce\n");

  RunResult result =
      RunSiq({"policy", "apply", "--config", config, "--records", records_});

  EXPECT_EQ(result.exit_code, static_cast<int>(ExitCode::kUsage));
  EXPECT_NE(result.err.find("role 'deployment-servce' is not in the role "
                            "table"),
            std::string::npos)
      << result.err;
}

TEST_F(PolicyApplyTest, ARoleWithoutAccessSendsNoRequest) {
  TestReader reader = CreateTestReader("reader");
  users_.push_back(reader.id);
  std::string vps = UniqueName("vps-support");
  std::string config = WriteFile("siq.yaml", "role: support\n");

  RunResult result = RunSiq({"-vv", "provision", "--vps", vps, "--org",
                             "org-test", "--records", records_, "--config",
                             config, "--reader-user", reader.id});

  EXPECT_EQ(result.exit_code, static_cast<int>(ExitCode::kPolicyDenied))
      << result.err;
  EXPECT_NE(result.err.find("role 'support' has no policies: no access"),
            std::string::npos)
      << result.err;
  EXPECT_EQ(result.err.find("/v1/"), std::string::npos)
      << "no Barbican request: " << result.err;
  auto secrets = deployer_.barbican.ListSecrets({.name = vps + "_%"});
  ASSERT_TRUE(secrets.ok()) << secrets.status().message();
  EXPECT_TRUE(secrets->empty());
}

TEST_F(PolicyApplyTest, RunRefusesAnotherVpsSecretsEvenWhenTheAclLetsIt) {
  Vps a = Provision("vps-a");
  Vps b = Provision("vps-b");
  AddDrift(a, b);

  // B's reader, on A's container's ACL by drift, claims to be B.
  RunResult other = RunSiq(
      {"run", "--check", "--vps", b.id, "--container", a.record.container_ref},
      AsReader(b));
  RunResult own = RunSiq(
      {"run", "--check", "--vps", a.id, "--container", a.record.container_ref},
      AsReader(a));

  EXPECT_EQ(other.exit_code, static_cast<int>(ExitCode::kPolicyDenied))
      << other.err;
  EXPECT_NE(other.err.find("policy denied: role vps-application may not get "
                           "barbican:containers " +
                           a.id),
            std::string::npos)
      << other.err;
  EXPECT_EQ(own.exit_code, 0) << own.err;
}

// The house rule at -vv: no password, token or payload in what apply
// prints.
TEST_F(PolicyApplyTest, ApplyAtDebugLevelPrintsNoSecret) {
  Vps a = Provision("vps-a");
  Vps b = Provision("vps-b");
  AddDrift(a, b);
  Connected reader_a(ReaderFromCloudsYaml(a.credential));
  auto payload = reader_a.barbican.GetPayload(Jwt(a));
  ASSERT_TRUE(payload.ok()) << payload.status().message();
  std::string password(DeployerConfig().password.Reveal());
  std::string raw(payload->Reveal());
  std::string base64(EncodeBase64(payload->Reveal()).Reveal());
  std::string hex(EncodeHex(payload->Reveal()).Reveal());

  RunResult result = RunSiq({"-vv", "policy", "apply", "--records", records_});

  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_NE(result.err.find("PUT /v1/secrets/"), std::string::npos)
      << "debug logging was not on: " << result.err;
  for (const std::string* text : {&result.out, &result.err}) {
    EXPECT_EQ(text->find(password), std::string::npos);
    EXPECT_EQ(text->find("gAAAAA"), std::string::npos) << "a Fernet token";
    EXPECT_EQ(text->find(raw), std::string::npos);
    EXPECT_EQ(text->find(base64), std::string::npos);
    EXPECT_EQ(text->find(hex), std::string::npos);
  }
}

}  // namespace
}  // namespace siq::testing
