// The recovery ladder's diagnosis without a server: a scripted Barbican
// (FakeTransport) and a record file in a temporary directory, with a
// catalog of one kind so that each answer Barbican gives is spelled out.

#include <unistd.h>

#include <filesystem>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "core/barbican/client.h"
#include "core/base/iso_time.h"
#include "core/keystone/session.h"
#include "core/provision/readers.h"
#include "core/records/store.h"
#include "core/recover/ladder.h"
#include "tests/unit/fake_keystone.h"
#include "tests/unit/fake_notifier.h"
#include "tests/unit/fake_transport.h"

namespace siq::recover {
namespace {

using nlohmann::json;
using test::FakeTransport;
using test::JsonAnswer;

constexpr char kBarbican[] = "https://barbican.example:9311";
constexpr char kSecret[] = "https://barbican.example:9311/v1/secrets/s-1";
constexpr char kContainer[] = "https://barbican.example:9311/v1/containers/c-1";
constexpr char kReader[] = "0123456789abcdef0123456789abcdef";

json PrivateAcl() {
  return {{"read", {{"users", {kReader}}, {"project-access", false}}}};
}

class RecoverTest : public ::testing::Test {
 protected:
  RecoverTest()
      : dir_(std::filesystem::path(::testing::TempDir()) /
             fmt::format("recover-unit-{}", getpid())),
        store_(dir_ + "/deployments.json", std::chrono::seconds(1)) {
    std::filesystem::create_directories(dir_);
    config::SecretKind kind;
    kind.kind = "JWT_SECRET";
    kind.rotate_every = std::chrono::hours(24 * 90);
    kinds_ = {kind};
  }
  ~RecoverTest() override { std::filesystem::remove_all(dir_); }

  void ExpectToken() {
    transport_.Enqueue(test::KeystoneTokenAnswer(
        "gAAAA-token", "2026-12-03T12:00:00.000000Z",
        "2026-12-03T13:00:00.000000Z", test::KeyManagerCatalog(kBarbican)));
  }

  void StoreRecord(std::string state = "complete",
                   std::optional<TimePoint> recovered_at = std::nullopt) {
    records::Deployment record{.vps = vps_,
                               .organization = "org-1",
                               .environment = "production",
                               .state = std::move(state),
                               .container_name = "vps-1",
                               .container_ref = kContainer,
                               .reader_user_id = kReader,
                               .recovered_at = recovered_at};
    record.secrets["JWT_SECRET"] = {
        .kind = "JWT_SECRET",
        .name = "vps-1_JWT_SECRET",
        .current = records::SecretVersion{.ref = kSecret}};
    ASSERT_TRUE(store_
                    .Update(vps_,
                            [&record](std::optional<records::Deployment>& r) {
                              r = record;
                              return OkStatus();
                            })
                    .ok());
  }

  Result<Diagnosis> Diagnose() {
    Recoverer recoverer(client_, store_, readers_, kinds_, notifier_, clock_);
    return recoverer.Diagnose(vps_, nullptr);
  }

  records::VpsId vps_ = *records::VpsId::Parse("vps-1");
  std::string dir_;
  records::FileRecordStore store_;
  std::vector<config::SecretKind> kinds_;
  FakeTransport transport_;
  test::FakeClock clock_{*ParseIso8601("2026-12-03T12:00:00Z")};
  keystone::Session session_{transport_, test::DeployerConfig(), clock_};
  barbican::Client client_{session_, clock_};
  provision::Readers readers_{transport_, test::DeployerConfig(),
                              config::ReaderSettings{}};
  test::RecordingNotifier notifier_;
};

TEST_F(RecoverTest, IntactVpsIsRungOneWithNothingPlanned) {
  StoreRecord();
  ExpectToken();
  transport_.Enqueue(
      JsonAnswer(200, {{"secret_ref", kSecret}, {"name", "vps-1_JWT_SECRET"}}));
  transport_.Enqueue(JsonAnswer(
      200,
      {{"container_ref", kContainer},
       {"name", "vps-1"},
       {"secret_refs", {{{"name", "JWT_SECRET"}, {"secret_ref", kSecret}}}}}));
  transport_.Enqueue(JsonAnswer(200, PrivateAcl()));
  transport_.Enqueue(JsonAnswer(200, PrivateAcl()));

  auto diagnosis = Diagnose();

  ASSERT_TRUE(diagnosis.ok()) << diagnosis.status().message();
  EXPECT_EQ(diagnosis->rung, Rung::kNothingToDo);
  EXPECT_TRUE(diagnosis->findings.empty());
  EXPECT_TRUE(diagnosis->plan.empty());
  EXPECT_EQ(transport_.Pending(), 0u);
}

// Found by a newcomer: recover took a promoted rotation's previous secret
// out of the container in its grace period, and a told one's pending.
TEST_F(RecoverTest, ARotationsEntriesInTheContainerAreNotDamage) {
  constexpr char kOther[] = "https://barbican.example:9311/v1/secrets/s-0";
  for (std::string state : {"told", "promoted", "retiring"}) {
    StoreRecord();
    ASSERT_TRUE(store_
                    .Update(vps_,
                            [&](std::optional<records::Deployment>& r) {
                              records::SecretSlot& slot =
                                  r->secrets["JWT_SECRET"];
                              slot.rotation_state = state;
                              auto other =
                                  records::SecretVersion{.ref = kOther};
                              if (state == "told") {
                                slot.pending = other;
                              } else {
                                slot.previous = other;
                              }
                              return OkStatus();
                            })
                    .ok());
    if (state == "told") {
      ExpectToken();  // the session keeps its token for the later rounds
    }
    transport_.Enqueue(JsonAnswer(
        200, {{"secret_ref", kSecret}, {"name", "vps-1_JWT_SECRET"}}));
    transport_.Enqueue(JsonAnswer(
        200, {{"container_ref", kContainer},
              {"name", "vps-1"},
              {"secret_refs",
               {{{"name", "JWT_SECRET"}, {"secret_ref", kSecret}},
                {{"name", "JWT_SECRET"}, {"secret_ref", kOther}}}}}));
    transport_.Enqueue(JsonAnswer(200, PrivateAcl()));
    transport_.Enqueue(JsonAnswer(200, PrivateAcl()));

    auto diagnosis = Diagnose();

    ASSERT_TRUE(diagnosis.ok()) << diagnosis.status().message();
    EXPECT_EQ(diagnosis->rung, Rung::kNothingToDo) << state;
    EXPECT_TRUE(diagnosis->findings.empty()) << state;
  }
}

TEST_F(RecoverTest, OpenAclIsRungTwo) {
  StoreRecord();
  ExpectToken();
  transport_.Enqueue(
      JsonAnswer(200, {{"secret_ref", kSecret}, {"name", "vps-1_JWT_SECRET"}}));
  transport_.Enqueue(JsonAnswer(
      200,
      {{"container_ref", kContainer},
       {"name", "vps-1"},
       {"secret_refs", {{{"name", "JWT_SECRET"}, {"secret_ref", kSecret}}}}}));
  transport_.Enqueue(JsonAnswer(200, json::object()));  // project access
  transport_.Enqueue(JsonAnswer(200, PrivateAcl()));

  auto diagnosis = Diagnose();

  ASSERT_TRUE(diagnosis.ok()) << diagnosis.status().message();
  EXPECT_EQ(diagnosis->rung, Rung::kRebuild);
  ASSERT_EQ(diagnosis->findings.size(), 1u);
  EXPECT_NE(diagnosis->findings[0].find("read ACL"), std::string::npos);
}

TEST_F(RecoverTest, GoneSecretIsRungThreeWithACustomerNoticePlanned) {
  StoreRecord();
  ExpectToken();
  transport_.Enqueue(JsonAnswer(
      404, {{"code", 404}, {"title", "Not Found"}, {"description", "gone"}}));
  transport_.Enqueue(
      JsonAnswer(200, {{"secrets", json::array()}, {"total", 0}}));
  transport_.Enqueue(JsonAnswer(200, {{"container_ref", kContainer},
                                      {"name", "vps-1"},
                                      {"secret_refs", json::array()}}));
  transport_.Enqueue(JsonAnswer(200, PrivateAcl()));

  auto diagnosis = Diagnose();

  ASSERT_TRUE(diagnosis.ok()) << diagnosis.status().message();
  EXPECT_EQ(diagnosis->rung, Rung::kReprovision);
  EXPECT_EQ(diagnosis->lost, std::vector<std::string>{"JWT_SECRET"});
  EXPECT_EQ(diagnosis->plan.back(),
            "notify customer  vps-1: all users must re-authenticate");
  EXPECT_TRUE(notifier_.events.empty()) << "a diagnosis tells nobody";
}

TEST_F(RecoverTest, InterruptedReprovisioningIsResumedAsRungThree) {
  StoreRecord("provisioning", *ParseIso8601("2026-12-03T11:00:00Z"));
  ExpectToken();
  transport_.Enqueue(
      JsonAnswer(200, {{"secret_ref", kSecret}, {"name", "vps-1_JWT_SECRET"}}));
  transport_.Enqueue(JsonAnswer(
      200,
      {{"container_ref", kContainer},
       {"name", "vps-1"},
       {"secret_refs", {{{"name", "JWT_SECRET"}, {"secret_ref", kSecret}}}}}));
  transport_.Enqueue(JsonAnswer(200, PrivateAcl()));
  transport_.Enqueue(JsonAnswer(200, PrivateAcl()));

  auto diagnosis = Diagnose();

  ASSERT_TRUE(diagnosis.ok()) << diagnosis.status().message();
  EXPECT_EQ(diagnosis->rung, Rung::kReprovision);
  EXPECT_TRUE(diagnosis->resumed);
  EXPECT_TRUE(diagnosis->lost.empty());
}

TEST_F(RecoverTest, NoRecordAndNoBundleIsNotFoundWithoutAnyRequest) {
  auto diagnosis = Diagnose();

  EXPECT_EQ(diagnosis.status().code(), StatusCode::kNotFound);
  EXPECT_NE(diagnosis.status().message().find("--from-backup"),
            std::string::npos);
  EXPECT_TRUE(transport_.Requests().empty());
}

}  // namespace
}  // namespace siq::recover
