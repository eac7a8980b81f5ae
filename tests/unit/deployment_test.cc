#include "core/records/deployment.h"

#include <chrono>
#include <map>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "core/base/iso_time.h"

namespace siq::records {
namespace {

using nlohmann::json;

TimePoint At(std::string_view iso) {
  return ParseIso8601(iso).value();
}

VpsId Vps(std::string_view text) {
  return VpsId::Parse(text).value();
}

// A record with every field set, optional ones included.
Deployment FullDeployment() {
  SecretSlot jwt{
      .kind = "JWT_SECRET",
      .name = "vps-1_JWT_SECRET",
      .current = SecretVersion{.ref = "https://kms/v1/secrets/c1",
                               .order_ref = "https://kms/v1/orders/o1",
                               .created_at = At("2026-09-04T13:00:00Z")},
      .pending = SecretVersion{.ref = "",
                               .order_ref = "https://kms/v1/orders/o2",
                               .created_at = At("2026-12-03T13:00:00Z")},
      .previous = SecretVersion{.ref = "https://kms/v1/secrets/c0",
                                .order_ref = "https://kms/v1/orders/o0",
                                .created_at = At("2026-06-06T13:00:00Z")},
      .due_at = At("2026-12-03T13:00:00Z"),
      .rotation_state = "pending_created",
      .rotation_started_at = At("2026-12-03T13:00:05Z"),
      .rotation_failures = 2,
      .last_error = "creating order vps-1_JWT_SECRET: HTTP 500",
      .notice_sent_for_due = At("2026-12-03T13:00:00Z"),
  };
  SecretSlot session{
      .kind = "SESSION_SECRET",
      .name = "vps-1_SESSION_SECRET",
      .current = SecretVersion{.ref = "https://kms/v1/secrets/s1",
                               .order_ref = "https://kms/v1/orders/s1",
                               .created_at = At("2026-09-04T13:00:00Z")},
      .due_at = At("2026-12-03T13:00:00Z"),
  };
  return Deployment{
      .vps = Vps("vps-1"),
      .organization = "org-123",
      .environment = "production",
      .region = "RegionOne",
      .state = std::string(kStateComplete),
      .container_name = "vps-1",
      .container_ref = "https://kms/v1/containers/k1",
      .reader_user_id = "u-42",
      .reader_user_name = "siq-reader-vps-1",
      .reader_credential_id = "ac-7",
      .provisioned_at = At("2026-09-04T12:59:00Z"),
      .updated_at = At("2026-12-03T13:00:05Z"),
      .recovered_at = At("2026-10-01T03:00:00Z"),
      .secrets = {{"JWT_SECRET", jwt}, {"SESSION_SECRET", session}},
  };
}

// The smallest valid record document.
json MinimalDocument() {
  return json::parse(R"({
    "vps": "vps-1", "organization": "org-123", "environment": "",
    "region": "", "state": "provisioning", "container_name": "",
    "container_ref": "", "reader_user_id": "", "reader_user_name": "",
    "reader_credential_id": "",
    "provisioned_at": "2026-12-03T13:00:00Z",
    "updated_at": "2026-12-03T13:00:00Z",
    "secrets": {"JWT_SECRET": {
      "kind": "JWT_SECRET", "name": "vps-1_JWT_SECRET",
      "due_at": "2027-03-03T13:00:00Z", "rotation_state": "",
      "rotation_failures": 0, "last_error": ""}}
  })");
}

std::string ErrorOf(const json& doc) {
  Result<Deployment> deployment = DeploymentFromJson(doc, "deployments.vps-1");
  EXPECT_FALSE(deployment.ok());
  EXPECT_EQ(deployment.status().code(), StatusCode::kInvalidArgument);
  return deployment.status().message();
}

TEST(VpsIdTest, ParseAcceptsLettersDigitsAndDashes) {
  Result<VpsId> vps = VpsId::Parse("vps-Prod-001");

  ASSERT_TRUE(vps.ok()) << vps.status().message();
  EXPECT_EQ(vps->str(), "vps-Prod-001");
}

TEST(VpsIdTest, ParseAcceptsSixtyFourCharacters) {
  std::string text(64, 'a');

  Result<VpsId> vps = VpsId::Parse(text);

  ASSERT_TRUE(vps.ok()) << vps.status().message();
  EXPECT_EQ(vps->str(), text);
}

TEST(VpsIdTest, ParseRefusesAnEmptyId) {
  Result<VpsId> vps = VpsId::Parse("");

  ASSERT_FALSE(vps.ok());
  EXPECT_EQ(vps.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(vps.status().message(),
            "VPS id is empty: a VPS id is 1 to 64 ASCII letters, digits and "
            "'-'");
}

TEST(VpsIdTest, ParseRefusesSixtyFiveCharactersQuotingOnlySixtyFour) {
  std::string text = std::string(64, 'a') + "Z";

  Result<VpsId> vps = VpsId::Parse(text);

  ASSERT_FALSE(vps.ok());
  EXPECT_EQ(vps.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(vps.status().message(),
            "VPS id '" + std::string(64, 'a') +
                "'... is too long (65 bytes): a VPS id is 1 to 64 ASCII "
                "letters, digits and '-'");
}

TEST(VpsIdTest, ParseNamesTheCharacterItRefuses) {
  Result<VpsId> vps = VpsId::Parse("vps_1");

  ASSERT_FALSE(vps.ok());
  EXPECT_EQ(vps.status().message(),
            "VPS id 'vps_1' has '_' at position 4: a VPS id is 1 to 64 ASCII "
            "letters, digits and '-'");
}

TEST(VpsIdTest, ParseRefusesEveryCharacterOutsideTheRule) {
  for (const char* text :
       {"vps%1", "vps/1", "vps 1", "vps.1", "vps*1", "vps\n1", "vps\xC3\xA9"}) {
    Result<VpsId> vps = VpsId::Parse(text);

    EXPECT_EQ(vps.status().code(), StatusCode::kInvalidArgument) << text;
  }
}

TEST(VpsIdTest, ParseEscapesANonAsciiByteInItsMessage) {
  Result<VpsId> vps = VpsId::Parse("vps-\xC3\xA9");

  ASSERT_FALSE(vps.ok());
  EXPECT_EQ(vps.status().message(),
            "VPS id 'vps-\\xC3\\xA9' has '\\xC3' at position 5: a VPS id is "
            "1 to 64 ASCII letters, digits and '-'");
}

TEST(VpsIdTest, IdsOrderAsTheirTextAndKeyAMap) {
  std::map<VpsId, int> ids = {{Vps("vps-b"), 2}, {Vps("vps-a"), 1}};

  EXPECT_LT(Vps("vps-a"), Vps("vps-b"));
  EXPECT_EQ(Vps("vps-a"), Vps("vps-a"));
  EXPECT_EQ(ids.begin()->first.str(), "vps-a");
}

TEST(DeploymentTest, JsonRoundTripIsExact) {
  Deployment deployment = FullDeployment();

  Result<Deployment> read =
      DeploymentFromJson(ToJson(deployment), "deployments.vps-1");

  ASSERT_TRUE(read.ok()) << read.status().message();
  EXPECT_EQ(*read, deployment);
}

TEST(DeploymentTest, ToJsonWritesTheDocumentedFormat) {
  Deployment deployment = FullDeployment();
  deployment.secrets.erase("JWT_SECRET");
  deployment.recovered_at.reset();

  json doc = ToJson(deployment);

  EXPECT_EQ(doc, json::parse(R"({
    "vps": "vps-1",
    "organization": "org-123",
    "environment": "production",
    "region": "RegionOne",
    "state": "complete",
    "container_name": "vps-1",
    "container_ref": "https://kms/v1/containers/k1",
    "reader_user_id": "u-42",
    "reader_user_name": "siq-reader-vps-1",
    "reader_credential_id": "ac-7",
    "provisioned_at": "2026-09-04T12:59:00Z",
    "updated_at": "2026-12-03T13:00:05Z",
    "recovered_at": null,
    "secrets": {
      "SESSION_SECRET": {
        "kind": "SESSION_SECRET",
        "name": "vps-1_SESSION_SECRET",
        "current": {
          "ref": "https://kms/v1/secrets/s1",
          "order_ref": "https://kms/v1/orders/s1",
          "created_at": "2026-09-04T13:00:00Z"
        },
        "pending": null,
        "previous": null,
        "due_at": "2026-12-03T13:00:00Z",
        "rotation_state": "",
        "rotation_started_at": null,
        "rotation_state_since": null,
        "rotation_failures": 0,
        "last_error": "",
        "notice_sent_for_due": null
      }
    }
  })"));
}

TEST(DeploymentTest, ToJsonDropsFractionsOfASecond) {
  Deployment deployment = FullDeployment();
  deployment.updated_at += std::chrono::milliseconds(250);

  json doc = ToJson(deployment);

  EXPECT_EQ(doc["updated_at"], "2026-12-03T13:00:05Z");
}

TEST(DeploymentTest, FromJsonTakesAbsentOptionalValuesAsNone) {
  Result<Deployment> read =
      DeploymentFromJson(MinimalDocument(), "deployments.vps-1");

  ASSERT_TRUE(read.ok()) << read.status().message();
  const SecretSlot& slot = read->secrets.at("JWT_SECRET");
  EXPECT_EQ(read->recovered_at, std::nullopt);
  EXPECT_EQ(slot.current, std::nullopt);
  EXPECT_EQ(slot.rotation_started_at, std::nullopt);
  EXPECT_EQ(slot.notice_sent_for_due, std::nullopt);
}

TEST(DeploymentTest, FromJsonTakesNullOptionalValuesAsNone) {
  json doc = MinimalDocument();
  doc["recovered_at"] = nullptr;
  doc["secrets"]["JWT_SECRET"]["previous"] = nullptr;

  Result<Deployment> read = DeploymentFromJson(doc, "deployments.vps-1");

  ASSERT_TRUE(read.ok()) << read.status().message();
  EXPECT_EQ(read->recovered_at, std::nullopt);
  EXPECT_EQ(read->secrets.at("JWT_SECRET").previous, std::nullopt);
}

TEST(DeploymentTest, FromJsonNamesTheSecretTimeThatIsNotATime) {
  json doc = ToJson(FullDeployment());
  doc["secrets"]["JWT_SECRET"]["current"]["created_at"] = "yesterday";

  EXPECT_EQ(ErrorOf(doc),
            "deployments.vps-1.secrets.JWT_SECRET.current.created_at: not an "
            "ISO 8601 time: 'yesterday'");
}

TEST(DeploymentTest, FromJsonNamesAMissingField) {
  json doc = MinimalDocument();
  doc.erase("region");

  EXPECT_EQ(ErrorOf(doc), "deployments.vps-1.region: missing");
}

TEST(DeploymentTest, FromJsonNamesAFieldOfTheWrongType) {
  json doc = MinimalDocument();
  doc["organization"] = 123;

  EXPECT_EQ(ErrorOf(doc), "deployments.vps-1.organization: not a string");
}

TEST(DeploymentTest, FromJsonNamesATimeThatIsNotAString) {
  json doc = MinimalDocument();
  doc["provisioned_at"] = 1'700'000'000;

  EXPECT_EQ(ErrorOf(doc),
            "deployments.vps-1.provisioned_at: not an ISO 8601 time");
}

TEST(DeploymentTest, FromJsonNamesAnUnknownField) {
  json doc = MinimalDocument();
  doc["secrets"]["JWT_SECRET"]["payload"] = "x";

  EXPECT_EQ(ErrorOf(doc),
            "deployments.vps-1.secrets.JWT_SECRET.payload: unknown field");
}

TEST(DeploymentTest, FromJsonNamesAnInvalidVpsId) {
  json doc = MinimalDocument();
  doc["vps"] = "vps_1";

  EXPECT_EQ(ErrorOf(doc),
            "deployments.vps-1.vps: VPS id 'vps_1' has '_' at position 4: a "
            "VPS id is 1 to 64 ASCII letters, digits and '-'");
}

TEST(DeploymentTest, FromJsonNamesAnUnknownState) {
  json doc = MinimalDocument();
  doc["state"] = "done";

  EXPECT_EQ(ErrorOf(doc),
            "deployments.vps-1.state: 'done' is not a deployment state "
            "(provisioning or complete)");
}

TEST(DeploymentTest, FromJsonNamesANegativeFailureCount) {
  json doc = MinimalDocument();
  doc["secrets"]["JWT_SECRET"]["rotation_failures"] = -1;

  EXPECT_EQ(ErrorOf(doc),
            "deployments.vps-1.secrets.JWT_SECRET.rotation_failures: not a "
            "whole number from 0 to 2^31-1");
}

TEST(DeploymentTest, FromJsonNamesAVersionThatIsNotAnObject) {
  json doc = MinimalDocument();
  doc["secrets"]["JWT_SECRET"]["pending"] = "https://kms/v1/secrets/p";

  EXPECT_EQ(ErrorOf(doc),
            "deployments.vps-1.secrets.JWT_SECRET.pending: not an object");
}

TEST(DeploymentTest, FromJsonRefusesASecretWhoseKindDiffersFromItsKey) {
  json doc = MinimalDocument();
  doc["secrets"]["JWT_SECRET"]["kind"] = "DB_PASSWORD";

  EXPECT_EQ(ErrorOf(doc),
            "deployments.vps-1.secrets.JWT_SECRET.kind: 'DB_PASSWORD' "
            "differs from its key");
}

TEST(DeploymentTest, FromJsonRefusesADocumentThatIsNotAnObject) {
  EXPECT_EQ(ErrorOf(json::array()), "deployments.vps-1: not an object");
}

}  // namespace
}  // namespace siq::records
