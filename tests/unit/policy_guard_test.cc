#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "core/barbican/client.h"
#include "core/base/exit_codes.h"
#include "core/keystone/session.h"
#include "core/policy/apply.h"
#include "core/policy/guard.h"
#include "core/policy/policy.h"
#include "tests/unit/fake_keystone.h"
#include "tests/unit/fake_transport.h"

namespace siq::policy {
namespace {

using nlohmann::json;
using test::FakeClock;
using test::FakeTransport;
using test::JsonAnswer;

constexpr char kBarbican[] = "https://barbican.example:9311";

std::string Url(std::string_view path) {
  return std::string(kBarbican) + std::string(path);
}

TimePoint Noon() {
  return std::chrono::sys_days{std::chrono::year{2026} / 12 / 3} +
         std::chrono::hours{12};
}

json SecretJson(const std::string& id, const std::string& name) {
  return {{"secret_ref", Url("/v1/secrets/" + id)},
          {"name", name},
          {"status", "ACTIVE"},
          {"content_types", {{"default", "application/octet-stream"}}}};
}

json ContainerJson(const std::string& id, const std::string& name) {
  return {{"container_ref", Url("/v1/containers/" + id)},
          {"name", name},
          {"type", "generic"},
          {"secret_refs", json::array()}};
}

json AclJson(std::vector<std::string> users, bool project_access) {
  return {{"read", {{"users", users}, {"project-access", project_access}}}};
}

test::ScriptedAnswer Payload(std::string bytes) {
  test::ScriptedAnswer answer;
  answer.body = std::move(bytes);
  return answer;
}

// A client acting as `role` (with `vars`) under the shipped policies, as
// built into siq. The token answer is queued: a request that the guard
// refuses first may leave it unasked, so tests count Barbican requests.
class PolicyGuardTest : public testing::Test {
 protected:
  void SetUp() override {
    transport_.Enqueue(test::KeystoneTokenAnswer(
        "gAAAA-token", "2026-12-03T12:00:00.000000Z",
        "2026-12-03T13:00:00.000000Z", test::KeyManagerCatalog(kBarbican)));
  }

  void ActAs(const std::string& role,
             std::map<std::string, std::string> vars = {}) {
    auto set = BuiltinPolicies();
    ASSERT_TRUE(set.ok()) << set.status().message();
    guard_ =
        std::make_unique<PolicyGuard>(std::move(*set), role, std::move(vars));
    client_.set_guard(guard_.get());
  }

  // The requests that went to Barbican (not Keystone).
  std::vector<std::string> BarbicanRequests() const {
    std::vector<std::string> seen;
    for (const auto& request : transport_.Requests()) {
      if (request.url.starts_with(kBarbican)) {
        seen.push_back(std::string(http::MethodName(request.method)) + " " +
                       request.url.substr(std::string(kBarbican).size()));
      }
    }
    return seen;
  }

  FakeTransport transport_;
  FakeClock clock_{Noon()};
  keystone::Session session_{transport_, test::DeployerConfig(), clock_};
  barbican::Client client_{session_, clock_};
  std::unique_ptr<PolicyGuard> guard_;
};

TEST_F(PolicyGuardTest, DeployerPayloadReadIsRefusedBeforeTheRequest) {
  ActAs("deployment-service");
  transport_.Enqueue(JsonAnswer(200, SecretJson("s1", "vps-1_JWT_SECRET")));

  auto payload = client_.GetPayload(barbican::SecretRef(Url("/v1/secrets/s1")));

  ASSERT_FALSE(payload.ok());
  EXPECT_EQ(ExitCodeFor(payload.status()), ExitCode::kPolicyDenied);
  EXPECT_NE(payload.status().message().find(
                "denied by deployment-secrets-provisioner rule 1 ((built in) "
                "policies/deployment-service.yaml:17)"),
            std::string::npos)
      << payload.status().message();
  EXPECT_EQ(BarbicanRequests(), std::vector<std::string>{"GET /v1/secrets/s1"});
}

TEST_F(PolicyGuardTest, VpsReadsThePayloadOfItsOwnSecret) {
  ActAs("vps-application", {{"vps_id", "vps-1"}});
  transport_.Enqueue(JsonAnswer(200, SecretJson("s1", "vps-1_JWT_SECRET")));
  transport_.Enqueue(Payload("value"));

  auto payload = client_.GetPayload(barbican::SecretRef(Url("/v1/secrets/s1")));

  ASSERT_TRUE(payload.ok()) << payload.status().message();
  EXPECT_EQ(BarbicanRequests(),
            (std::vector<std::string>{"GET /v1/secrets/s1",
                                      "GET /v1/secrets/s1/payload"}));
}

TEST_F(PolicyGuardTest, VpsNeverReadsThePayloadOfALongerVpsId) {
  ActAs("vps-application", {{"vps_id", "vps-1"}});
  transport_.Enqueue(JsonAnswer(200, SecretJson("s1", "vps-10_JWT_SECRET")));

  auto payload = client_.GetPayload(barbican::SecretRef(Url("/v1/secrets/s1")));

  ASSERT_FALSE(payload.ok());
  EXPECT_EQ(ExitCodeFor(payload.status()), ExitCode::kPolicyDenied);
  // The metadata read went out (its name decides), the payload read not.
  EXPECT_EQ(BarbicanRequests(), std::vector<std::string>{"GET /v1/secrets/s1"});
}

TEST_F(PolicyGuardTest, VpsDeleteIsRefusedWithoutARequest) {
  ActAs("vps-application", {{"vps_id", "vps-1"}});

  Status deleted =
      client_.DeleteSecret(barbican::SecretRef(Url("/v1/secrets/s1")));

  EXPECT_EQ(ExitCodeFor(deleted), ExitCode::kPolicyDenied);
  EXPECT_NE(deleted.message().find("denied by vps-secrets-reader rule 1"),
            std::string::npos)
      << deleted.message();
  EXPECT_TRUE(BarbicanRequests().empty());
}

TEST_F(PolicyGuardTest, VpsReadsOnlyTheContainerNamedExactlyItsId) {
  ActAs("vps-application", {{"vps_id", "vps-1"}});
  transport_.Enqueue(JsonAnswer(200, ContainerJson("c1", "vps-1")));
  transport_.Enqueue(JsonAnswer(200, ContainerJson("c2", "vps-10")));

  auto own =
      client_.GetContainer(barbican::ContainerRef(Url("/v1/containers/c1")));
  auto other =
      client_.GetContainer(barbican::ContainerRef(Url("/v1/containers/c2")));

  EXPECT_TRUE(own.ok()) << own.status().message();
  ASSERT_FALSE(other.ok());
  EXPECT_EQ(ExitCodeFor(other.status()), ExitCode::kPolicyDenied);
}

TEST_F(PolicyGuardTest, VpsMayNotListContainers) {
  ActAs("vps-application", {{"vps_id", "vps-1"}});

  auto listed = client_.ListContainers("vps-1");

  EXPECT_EQ(ExitCodeFor(listed.status()), ExitCode::kPolicyDenied);
  EXPECT_TRUE(BarbicanRequests().empty());
}

TEST_F(PolicyGuardTest, VpsWithoutItsIdReadsNothing) {
  ActAs("vps-application");
  transport_.Enqueue(JsonAnswer(200, SecretJson("s1", "vps-1_JWT_SECRET")));

  auto payload = client_.GetPayload(barbican::SecretRef(Url("/v1/secrets/s1")));

  EXPECT_EQ(ExitCodeFor(payload.status()), ExitCode::kPolicyDenied);
  EXPECT_EQ(BarbicanRequests(), std::vector<std::string>{"GET /v1/secrets/s1"});
}

TEST_F(PolicyGuardTest, DeployerRetiresAPreviousSecret) {
  ActAs("deployment-service");
  transport_.Enqueue({.status = 204});
  transport_.Enqueue({.status = 204});
  barbican::ContainerRef container(Url("/v1/containers/c1"));
  barbican::SecretRef previous(Url("/v1/secrets/s0"));

  Status removed =
      client_.RemoveContainerSecret(container, {"JWT_SECRET", previous});
  Status deleted = client_.DeleteSecret(previous);

  EXPECT_TRUE(removed.ok()) << removed.message();
  EXPECT_TRUE(deleted.ok()) << deleted.message();
  EXPECT_EQ(BarbicanRequests(),
            (std::vector<std::string>{"DELETE /v1/containers/c1/secrets",
                                      "DELETE /v1/secrets/s0"}));
}

TEST_F(PolicyGuardTest, UnknownRoleSendsNothing) {
  ActAs("nobody-we-know");

  auto listed = client_.ListSecrets({});

  EXPECT_EQ(ExitCodeFor(listed.status()), ExitCode::kPolicyDenied);
  EXPECT_NE(listed.status().message().find("unknown role 'nobody-we-know'"),
            std::string::npos);
  EXPECT_TRUE(BarbicanRequests().empty());
}

// --- siq policy apply ---------------------------------------------------

records::Deployment Deployed(const std::string& vps,
                             const std::string& reader) {
  records::Deployment deployment{.vps = *records::VpsId::Parse(vps)};
  deployment.state = std::string(records::kStateComplete);
  deployment.container_ref = Url("/v1/containers/c-" + vps);
  deployment.reader_user_id = reader;
  records::SecretSlot slot{.kind = "JWT_SECRET", .name = vps + "_JWT_SECRET"};
  slot.current = records::SecretVersion{.ref = Url("/v1/secrets/s-" + vps)};
  deployment.secrets["JWT_SECRET"] = slot;
  return deployment;
}

TEST_F(PolicyGuardTest, ApplyRemovesAStrangerAndClosesProjectAccess) {
  ActAs("deployment-service");
  transport_.Enqueue(JsonAnswer(200, AclJson({"reader-a"}, false)));
  transport_.Enqueue(JsonAnswer(200, AclJson({"reader-a", "reader-b"}, true)));
  transport_.Enqueue(JsonAnswer(200, {{"acl_ref", "x"}}));

  auto report =
      ApplyAcls(client_, {Deployed("vps-a", "reader-a")}, DryRun::kNo);

  ASSERT_TRUE(report.ok()) << report.status().message();
  EXPECT_EQ(report->acls_checked, 2);
  ASSERT_EQ(report->drifts.size(), 1u);
  EXPECT_EQ(report->drifts[0].resource, "JWT_SECRET");
  EXPECT_EQ(report->drifts[0].changes,
            (std::vector<std::string>{"project-access was true",
                                      "user reader-b removed"}));
  EXPECT_EQ(report->drifts[0].outcome, AclDrift::Outcome::kFixed);
  const auto& put = transport_.Requests().back();
  EXPECT_EQ(put.method, http::Method::kPut);
  EXPECT_EQ(put.url, Url("/v1/secrets/s-vps-a/acl"));
  EXPECT_EQ(put.JsonBody(), AclJson({"reader-a"}, false));
}

TEST_F(PolicyGuardTest, ApplyDryRunWritesNothing) {
  ActAs("deployment-service");
  transport_.Enqueue(JsonAnswer(200, AclJson({}, true)));
  transport_.Enqueue(JsonAnswer(200, AclJson({"reader-a"}, false)));

  auto report =
      ApplyAcls(client_, {Deployed("vps-a", "reader-a")}, DryRun::kYes);

  ASSERT_TRUE(report.ok()) << report.status().message();
  ASSERT_EQ(report->drifts.size(), 1u);
  EXPECT_EQ(report->drifts[0].resource, "container");
  EXPECT_EQ(report->drifts[0].outcome, AclDrift::Outcome::kWouldFix);
  EXPECT_EQ(BarbicanRequests(),
            (std::vector<std::string>{"GET /v1/containers/c-vps-a/acl",
                                      "GET /v1/secrets/s-vps-a/acl"}));
}

TEST_F(PolicyGuardTest, ApplyReportsAFailedFixAndGoesOn) {
  ActAs("deployment-service");
  transport_.Enqueue(JsonAnswer(404, {{"code", 404}, {"title", "Not Found"}}));
  transport_.Enqueue(JsonAnswer(200, AclJson({"reader-a"}, false)));

  auto report =
      ApplyAcls(client_, {Deployed("vps-a", "reader-a")}, DryRun::kNo);

  ASSERT_TRUE(report.ok()) << report.status().message();
  EXPECT_EQ(report->failed(), 1);
  EXPECT_EQ(report->acls_checked, 2);
}

TEST_F(PolicyGuardTest, ApplyStopsWhenThePolicyRefusesIt) {
  ActAs("vps-application", {{"vps_id", "vps-a"}});

  auto report =
      ApplyAcls(client_, {Deployed("vps-a", "reader-a")}, DryRun::kNo);

  ASSERT_FALSE(report.ok());
  EXPECT_EQ(ExitCodeFor(report.status()), ExitCode::kPolicyDenied);
  EXPECT_TRUE(BarbicanRequests().empty());
}

TEST(BuiltinPoliciesTest, AreTheShippedFiles) {
  auto builtin = BuiltinPolicies();
  auto shipped = LoadPolicyDir(std::string(SIQ_SOURCE_DIR) + "/policies");

  ASSERT_TRUE(builtin.ok()) << builtin.status().message();
  ASSERT_TRUE(shipped.ok()) << shipped.status().message();
  ASSERT_EQ(builtin->policies.size(), shipped->policies.size());
  for (size_t i = 0; i < builtin->policies.size(); ++i) {
    EXPECT_EQ(builtin->policies[i].name, shipped->policies[i].name);
    EXPECT_EQ(builtin->policies[i].rules.size(),
              shipped->policies[i].rules.size());
  }
  EXPECT_EQ(builtin->roles.size(), shipped->roles.size());
}

}  // namespace
}  // namespace siq::policy
