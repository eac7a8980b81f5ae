#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "core/barbican/client.h"
#include "core/barbican/types.h"
#include "core/base/secret.h"
#include "core/base/status.h"
#include "core/keystone/auth_config.h"
#include "core/keystone/session.h"
#include "tests/unit/fake_keystone.h"
#include "tests/unit/fake_transport.h"

namespace siq::barbican {
namespace {

using nlohmann::json;
using std::chrono::hours;
using std::chrono::milliseconds;
using test::FakeClock;
using test::FakeTransport;
using test::JsonAnswer;
using test::RecordedRequest;

constexpr char kBarbican[] = "https://barbican.example:9311";
constexpr char kSecretId[] = "6f1c2a3e-0d4b-4c6a-9e21-5b7f8a9c0d1e";
constexpr char kSecretUrl[] =
    "https://barbican.example:9311/v1/secrets/"
    "6f1c2a3e-0d4b-4c6a-9e21-5b7f8a9c0d1e";
constexpr char kOrderUrl[] =
    "https://barbican.example:9311/v1/orders/"
    "0b9e8d7c-6a5f-4e3d-8c2b-1a0f9e8d7c6b";
constexpr char kConsumersVersion[] = "key-manager 1.1";

// `path` on the Barbican endpoint in the catalog.
std::string BarbicanUrl(std::string_view path) {
  return std::string(kBarbican) + std::string(path);
}

// `suffix` after the test secret's URL.
std::string SecretUrl(std::string_view suffix) {
  return std::string(kSecretUrl) + std::string(suffix);
}

TimePoint Noon() {
  return std::chrono::sys_days{std::chrono::year{2026} / 12 / 3} + hours{12};
}

json SecretJson(const std::string& id, const std::string& name) {
  return {{"secret_ref", BarbicanUrl("/v1/secrets/" + id)},
          {"name", name},
          {"secret_type", "opaque"},
          {"status", "ACTIVE"},
          {"created", "2026-12-03T12:00:00"},
          {"content_types", {{"default", "application/octet-stream"}}}};
}

json OrderJson(const std::string& status) {
  json order = {{"order_ref", kOrderUrl},
                {"type", "key"},
                {"status", status},
                {"created", "2026-12-03T12:00:00"},
                {"meta", {{"name", "vps1_JWT_SECRET"}}}};
  if (status == "ACTIVE") {
    order["secret_ref"] = kSecretUrl;
  }
  return order;
}

// Standard base64 (RFC 4648) decoding, written here so that the test does
// not trust the encoder it checks. Fails the test on a stray character.
std::string DecodeBase64(std::string_view text) {
  constexpr std::string_view kAlphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  uint32_t buffer = 0;
  int bits = 0;
  for (char c : text) {
    if (c == '=') {
      break;
    }
    size_t value = kAlphabet.find(c);
    if (value == std::string_view::npos) {
      ADD_FAILURE() << "not base64: '" << c << "'";
      return "";
    }
    buffer = (buffer << 6) | static_cast<uint32_t>(value);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((buffer >> bits) & 0xff);
    }
  }
  return out;
}

// Every test starts with Keystone's answer to the token request, whose
// catalog names Barbican; requests()[0] is that token request.
class BarbicanClientTest : public testing::Test {
 protected:
  void SetUp() override {
    transport_.Enqueue(test::KeystoneTokenAnswer(
        "gAAAA-token", "2026-12-03T12:00:00.000000Z",
        "2026-12-03T13:00:00.000000Z", test::KeyManagerCatalog(kBarbican)));
  }

  // Every scripted answer was asked for: no request went missing.
  void TearDown() override { EXPECT_EQ(transport_.Pending(), 0u); }

  // The requests after the token request.
  std::vector<RecordedRequest> BarbicanRequests() const {
    const auto& all = transport_.Requests();
    if (all.empty()) {
      return {};
    }
    return {all.begin() + 1, all.end()};
  }

  FakeTransport transport_;
  FakeClock clock_{Noon()};
  keystone::Session session_{transport_, test::DeployerConfig(), clock_};
  Client client_{session_, clock_};
};

TEST_F(BarbicanClientTest, ListSecretsWalksEveryPage) {
  transport_.Enqueue(JsonAnswer(
      200, {{"secrets", {SecretJson("id-1", "a"), SecretJson("id-2", "b")}},
            {"total", 5},
            {"next", BarbicanUrl("/v1/secrets?limit=100&offset=100")}}));
  transport_.Enqueue(JsonAnswer(
      200, {{"secrets", {SecretJson("id-3", "c"), SecretJson("id-4", "d")}},
            {"total", 5},
            {"previous", BarbicanUrl("/v1/secrets?limit=100&offset=0")},
            {"next", BarbicanUrl("/v1/secrets?limit=100&offset=200")}}));
  transport_.Enqueue(JsonAnswer(
      200, {{"secrets", {SecretJson("id-5", "e")}},
            {"total", 5},
            {"previous", BarbicanUrl("/v1/secrets?limit=100&offset=100")}}));

  auto secrets = client_.ListSecrets({});

  ASSERT_TRUE(secrets.ok()) << secrets.status().ToString();
  std::vector<std::string> names;
  std::vector<std::string> refs;
  for (const SecretMeta& meta : *secrets) {
    names.push_back(meta.name);
    refs.push_back(meta.ref.url());
  }
  EXPECT_EQ(names, (std::vector<std::string>{"a", "b", "c", "d", "e"}));
  EXPECT_EQ(refs.back(), BarbicanUrl("/v1/secrets/id-5"));
  std::vector<RecordedRequest> sent = BarbicanRequests();
  ASSERT_EQ(sent.size(), 3u);
  EXPECT_EQ(sent[0].url,
            BarbicanUrl("/v1/secrets?limit=100&offset=0&sort=created%3Aasc"));
  EXPECT_EQ(sent[1].url,
            BarbicanUrl("/v1/secrets?limit=100&offset=100&sort=created%3Aasc"));
  EXPECT_EQ(sent[2].url,
            BarbicanUrl("/v1/secrets?limit=100&offset=200&sort=created%3Aasc"));
}

TEST_F(BarbicanClientTest, ListSecretsStopsAtEmptyPage) {
  transport_.Enqueue(JsonAnswer(
      200, {{"secrets", json::array()},
            {"next", BarbicanUrl("/v1/secrets?limit=100&offset=100")}}));

  auto secrets = client_.ListSecrets({});

  ASSERT_TRUE(secrets.ok()) << secrets.status().ToString();
  EXPECT_TRUE(secrets->empty());
  EXPECT_EQ(BarbicanRequests().size(), 1u);
}

TEST_F(BarbicanClientTest, FindSecretsNamedDropsLikeFalsePositives) {
  transport_.Enqueue(
      JsonAnswer(200, {{"secrets",
                        {SecretJson("id-1", "vps1_JWT_SECRET"),
                         SecretJson("id-2", "vps1XJWT_SECRET"),
                         SecretJson("id-3", "vps1_JWT_SECRET")}}}));

  auto secrets = client_.FindSecretsNamed("vps1_JWT_SECRET");

  ASSERT_TRUE(secrets.ok()) << secrets.status().ToString();
  ASSERT_EQ(secrets->size(), 2u);
  EXPECT_EQ((*secrets)[0].ref.url(), BarbicanUrl("/v1/secrets/id-1"));
  EXPECT_EQ((*secrets)[1].ref.url(), BarbicanUrl("/v1/secrets/id-3"));
  ASSERT_EQ(BarbicanRequests().size(), 1u);
  EXPECT_EQ(BarbicanRequests()[0].url,
            BarbicanUrl("/v1/secrets?limit=100&offset=0&name=vps1_JWT_SECRET"
                        "&sort=created%3Aasc"));
}

TEST_F(BarbicanClientTest, GetSecretAcceptsExactlyJson) {
  transport_.Enqueue(JsonAnswer(200, SecretJson(kSecretId, "vps1_JWT_SECRET")));

  auto meta = client_.GetSecret(SecretRef(kSecretUrl));

  ASSERT_TRUE(meta.ok()) << meta.status().ToString();
  std::vector<RecordedRequest> sent = BarbicanRequests();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].method, http::Method::kGet);
  EXPECT_EQ(sent[0].url, kSecretUrl);
  EXPECT_EQ(sent[0].HeaderCount("Accept"), 1u);
  EXPECT_EQ(sent[0].Header("Accept"), "application/json");
  EXPECT_EQ(sent[0].token, "gAAAA-token");
}

TEST_F(BarbicanClientTest, GetSecretReadsMetadata) {
  json doc = SecretJson(kSecretId, "vps1_JWT_SECRET");
  doc["algorithm"] = "aes";
  doc["bit_length"] = 256;
  doc["mode"] = "cbc";
  doc["creator_id"] = "u-deployer";
  transport_.Enqueue(JsonAnswer(200, doc));

  auto meta = client_.GetSecret(SecretRef(kSecretUrl));

  ASSERT_TRUE(meta.ok()) << meta.status().ToString();
  EXPECT_EQ(meta->ref.url(), kSecretUrl);
  EXPECT_EQ(meta->name, "vps1_JWT_SECRET");
  EXPECT_EQ(meta->status, "ACTIVE");
  EXPECT_EQ(meta->algorithm, "aes");
  EXPECT_EQ(meta->bit_length, 256);
  EXPECT_EQ(meta->mode, "cbc");
  EXPECT_EQ(meta->creator_id, "u-deployer");
  EXPECT_EQ(meta->content_types.at("default"), "application/octet-stream");
}

TEST_F(BarbicanClientTest, OrdinaryCallsSendNoApiVersion) {
  transport_.Enqueue(JsonAnswer(200, SecretJson(kSecretId, "x")));

  auto meta = client_.GetSecret(SecretRef(kSecretUrl));

  ASSERT_TRUE(meta.ok()) << meta.status().ToString();
  EXPECT_EQ(BarbicanRequests().at(0).HeaderCount("OpenStack-API-Version"), 0u);
}

TEST_F(BarbicanClientTest, GetPayloadAsksWithDefaultContentTypeForRawBytes) {
  json doc = SecretJson(kSecretId, "tls-key");
  doc["content_types"] = {{"default", "application/pkcs8"}};
  transport_.EnqueueFor(kSecretUrl, JsonAnswer(200, doc));
  std::string payload =
      std::string("\x30\x82\x00\x01\xff\xfe key", 10) + '\0' + "bytes";
  transport_.EnqueueFor(SecretUrl("/payload"),
                        {.status = 200,
                         .headers = {{"Content-Type", "application/pkcs8"}},
                         .body = payload});

  auto bytes = client_.GetPayload(SecretRef(kSecretUrl));

  ASSERT_TRUE(bytes.ok()) << bytes.status().ToString();
  EXPECT_EQ(bytes->Reveal(), payload);
  std::vector<RecordedRequest> sent = BarbicanRequests();
  ASSERT_EQ(sent.size(), 2u);
  EXPECT_EQ(sent[1].url, SecretUrl("/payload"));
  EXPECT_EQ(sent[1].Header("Accept"), "application/pkcs8");
  EXPECT_EQ(sent[1].sensitive_body, http::SensitiveBody::kYes);
}

TEST_F(BarbicanClientTest, ErrorNamesOperationResourceStatusRequestId) {
  transport_.Enqueue(JsonAnswer(404,
                                {{"code", 404},
                                 {"title", "Not Found"},
                                 {"description", "Secret not found."}},
                                "req-5a1e-0042"));

  auto meta = client_.GetSecret(SecretRef(kSecretUrl));

  EXPECT_EQ(meta.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(meta.status().http_status(), 404);
  EXPECT_EQ(meta.status().message(),
            "reading secret " + std::string(kSecretUrl) +
                ": HTTP 404 (request req-5a1e-0042): Secret not found.");
}

TEST_F(BarbicanClientTest, DeleteErrorNamesOperationAndResource) {
  transport_.Enqueue(JsonAnswer(403,
                                {{"code", 403},
                                 {"title", "Forbidden"},
                                 {"description",
                                  "SecretDelete attempt not "
                                  "allowed - please review "
                                  "your user/project "
                                  "privileges"}},
                                "req-77"));

  Status status = client_.DeleteSecret(SecretRef(kSecretUrl));

  EXPECT_EQ(status.code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(status.message(),
            "deleting secret " + std::string(kSecretUrl) +
                ": HTTP 403 (request req-77): SecretDelete attempt not "
                "allowed - please review your user/project privileges");
  EXPECT_EQ(BarbicanRequests().at(0).method, http::Method::kDelete);
}

TEST_F(BarbicanClientTest, CreateKeyOrderSendsKeyTypeWithMeta) {
  transport_.Enqueue(JsonAnswer(202, {{"order_ref", kOrderUrl}}));

  auto ref = client_.CreateKeyOrder({.name = "vps1_JWT_SECRET"});

  ASSERT_TRUE(ref.ok()) << ref.status().ToString();
  EXPECT_EQ(ref->url(), kOrderUrl);
  std::vector<RecordedRequest> sent = BarbicanRequests();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].method, http::Method::kPost);
  EXPECT_EQ(sent[0].url, BarbicanUrl("/v1/orders"));
  EXPECT_EQ(sent[0].Header("Content-Type"), "application/json");
  EXPECT_EQ(sent[0].JsonBody(),
            (json{{"type", "key"},
                  {"meta",
                   {{"name", "vps1_JWT_SECRET"},
                    {"algorithm", "aes"},
                    {"bit_length", 256},
                    {"mode", "cbc"},
                    {"payload_content_type", "application/octet-stream"}}}}));
}

TEST_F(BarbicanClientTest, WaitForOrderPollsUntilActive) {
  transport_.Enqueue(JsonAnswer(200, OrderJson("PENDING")));
  transport_.Enqueue(JsonAnswer(200, OrderJson("PENDING")));
  transport_.Enqueue(JsonAnswer(200, OrderJson("ACTIVE")));

  auto order = client_.WaitForOrder(OrderRef(kOrderUrl), milliseconds(30000));

  ASSERT_TRUE(order.ok()) << order.status().ToString();
  EXPECT_EQ(order->status, "ACTIVE");
  EXPECT_EQ(order->secret_ref.url(), kSecretUrl);
  EXPECT_EQ(order->name, "vps1_JWT_SECRET");
  EXPECT_EQ(clock_.Sleeps(),
            (std::vector<milliseconds>{milliseconds(100), milliseconds(200)}));
  std::vector<RecordedRequest> sent = BarbicanRequests();
  ASSERT_EQ(sent.size(), 3u);
  for (const RecordedRequest& request : sent) {
    EXPECT_EQ(request.url, kOrderUrl);
  }
}

TEST_F(BarbicanClientTest, WaitForOrderReportsBarbicansReason) {
  json doc = OrderJson("ERROR");
  // Barbican keeps the code in a string column.
  doc["error_status_code"] = "400";
  doc["error_reason"] =
      "Secret creation issue seen - content-encoding of 'bogus' not "
      "supported.";
  transport_.Enqueue(JsonAnswer(200, doc));

  auto order = client_.WaitForOrder(OrderRef(kOrderUrl), milliseconds(30000));

  EXPECT_EQ(order.status().code(), StatusCode::kServerError);
  EXPECT_EQ(order.status().message(),
            "order " + std::string(kOrderUrl) +
                " failed: 400 Secret creation issue seen - content-encoding "
                "of 'bogus' not supported.");
  EXPECT_TRUE(clock_.Sleeps().empty());
}

TEST_F(BarbicanClientTest, GetOrderReadsStatusCodeWithReasonPhrase) {
  json doc = OrderJson("ERROR");
  doc["error_status_code"] = "400 Bad Request";
  transport_.Enqueue(JsonAnswer(200, doc));

  auto order = client_.GetOrder(OrderRef(kOrderUrl));

  ASSERT_TRUE(order.ok()) << order.status().ToString();
  EXPECT_EQ(order->error_status_code, 400);
}

TEST_F(BarbicanClientTest, WaitForOrderGivesUpAfterDeadline) {
  for (int i = 0; i < 4; ++i) {
    transport_.Enqueue(JsonAnswer(200, OrderJson("PENDING")));
  }

  auto order = client_.WaitForOrder(OrderRef(kOrderUrl), milliseconds(1000));

  EXPECT_EQ(order.status().code(), StatusCode::kDeadlineExceeded);
  EXPECT_EQ(order.status().message(),
            "order " + std::string(kOrderUrl) + " still PENDING after 1000 ms");
  EXPECT_EQ(clock_.Sleeps(),
            (std::vector<milliseconds>{milliseconds(100), milliseconds(200),
                                       milliseconds(400)}));
  EXPECT_EQ(BarbicanRequests().size(), 4u);
}

TEST_F(BarbicanClientTest, AddSecretConsumerSendsApiVersion) {
  transport_.Enqueue(JsonAnswer(200, SecretJson(kSecretId, "x")));
  Consumer consumer{"nova", "server", "srv-0001"};

  Status status = client_.AddSecretConsumer(SecretRef(kSecretUrl), consumer);

  ASSERT_TRUE(status.ok()) << status.ToString();
  RecordedRequest sent = BarbicanRequests().at(0);
  EXPECT_EQ(sent.method, http::Method::kPost);
  EXPECT_EQ(sent.url, SecretUrl("/consumers"));
  EXPECT_EQ(sent.Header("OpenStack-API-Version"), kConsumersVersion);
  EXPECT_EQ(sent.JsonBody(), (json{{"service", "nova"},
                                   {"resource_type", "server"},
                                   {"resource_id", "srv-0001"}}));
}

TEST_F(BarbicanClientTest, RemoveSecretConsumerSendsApiVersion) {
  transport_.Enqueue({.status = 204});
  Consumer consumer{"nova", "server", "srv-0001"};

  Status status = client_.RemoveSecretConsumer(SecretRef(kSecretUrl), consumer);

  ASSERT_TRUE(status.ok()) << status.ToString();
  RecordedRequest sent = BarbicanRequests().at(0);
  EXPECT_EQ(sent.method, http::Method::kDelete);
  EXPECT_EQ(sent.url, SecretUrl("/consumers"));
  EXPECT_EQ(sent.Header("OpenStack-API-Version"), kConsumersVersion);
}

TEST_F(BarbicanClientTest, ListSecretConsumersSendsApiVersion) {
  transport_.Enqueue(JsonAnswer(200, {{"consumers",
                                       {{{"service", "nova"},
                                         {"resource_type", "server"},
                                         {"resource_id", "srv-0001"}}}},
                                      {"total", 1}}));

  auto consumers = client_.ListSecretConsumers(SecretRef(kSecretUrl));

  ASSERT_TRUE(consumers.ok()) << consumers.status().ToString();
  EXPECT_EQ(*consumers,
            (std::vector<Consumer>{{"nova", "server", "srv-0001"}}));
  RecordedRequest sent = BarbicanRequests().at(0);
  EXPECT_EQ(sent.url, SecretUrl("/consumers?limit=100&offset=0"));
  EXPECT_EQ(sent.Header("OpenStack-API-Version"), kConsumersVersion);
}

TEST_F(BarbicanClientTest, CreateSecretBase64EncodesOctetStream) {
  std::string payload;
  for (int i = 0; i < 1000; ++i) {
    payload += static_cast<char>((i * 7) % 256);
  }
  transport_.Enqueue(JsonAnswer(201, {{"secret_ref", kSecretUrl}}));

  auto ref =
      client_.CreateSecret({.name = "vps1_JWT_SECRET"}, SecretBytes(payload));

  ASSERT_TRUE(ref.ok()) << ref.status().ToString();
  EXPECT_EQ(ref->url(), kSecretUrl);
  RecordedRequest sent = BarbicanRequests().at(0);
  EXPECT_EQ(sent.method, http::Method::kPost);
  EXPECT_EQ(sent.url, BarbicanUrl("/v1/secrets"));
  json body = sent.JsonBody();
  EXPECT_EQ(body["name"], "vps1_JWT_SECRET");
  EXPECT_EQ(body["secret_type"], "opaque");
  EXPECT_EQ(body["payload_content_type"], "application/octet-stream");
  EXPECT_EQ(body["payload_content_encoding"], "base64");
  std::string encoded = body["payload"].get<std::string>();
  EXPECT_EQ(encoded.size(), 4u * ((payload.size() + 2) / 3));
  EXPECT_EQ(DecodeBase64(encoded), payload);
}

TEST_F(BarbicanClientTest, CreateSecretSendsTextPlainAsIs) {
  transport_.Enqueue(JsonAnswer(201, {{"secret_ref", kSecretUrl}}));

  auto ref = client_.CreateSecret(
      {.name = "db_password", .payload_content_type = "text/plain"},
      SecretBytes("s3cret \"quoted\""));

  ASSERT_TRUE(ref.ok()) << ref.status().ToString();
  json body = BarbicanRequests().at(0).JsonBody();
  EXPECT_EQ(body["payload"], "s3cret \"quoted\"");
  EXPECT_EQ(body["payload_content_type"], "text/plain");
  EXPECT_FALSE(body.contains("payload_content_encoding"));
}

}  // namespace
}  // namespace siq::barbican
