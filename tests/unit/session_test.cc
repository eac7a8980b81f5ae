#include "core/keystone/session.h"

#include <chrono>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "core/base/status.h"
#include "core/keystone/auth_config.h"
#include "core/transport/http.h"
#include "tests/unit/fake_transport.h"

namespace siq::keystone {
namespace {

using nlohmann::json;
using std::chrono::hours;
using std::chrono::microseconds;
using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;
using test::FakeClock;
using test::FakeTransport;
using test::JsonAnswer;
using test::KeystoneTokenAnswer;

constexpr char kAuthUrl[] = "https://keystone.example:5000/v3";
constexpr char kTokenUrl[] = "https://keystone.example:5000/v3/auth/tokens";
constexpr char kSecretsUrl[] = "https://barbican.example:9311/v1/secrets";
constexpr char kPassword[] = "pa\"ss\\word";

// 2026-12-03T12:00:00Z, when every test starts.
TimePoint Noon() {
  return std::chrono::sys_days{std::chrono::year{2026} / 12 / 3} + hours{12};
}

// A token issued at noon that lives for one hour.
test::ScriptedAnswer TokenAnswer(std::string token) {
  return KeystoneTokenAnswer(std::move(token), "2026-12-03T12:00:00.000000Z",
                             "2026-12-03T13:00:00.000000Z");
}

AuthConfig PasswordConfig() {
  AuthConfig config;
  config.auth_url = kAuthUrl;
  config.username = "deployer";
  config.user_domain_name = "Default";
  config.password = SecretBytes(kPassword);
  config.project_name = "siq";
  config.project_domain_name = "Default";
  return config;
}

AuthConfig ApplicationCredentialConfig() {
  AuthConfig config;
  config.auth_url = kAuthUrl;
  config.auth_type = AuthType::kApplicationCredential;
  config.application_credential_id = "ac-0123";
  config.application_credential_secret = SecretBytes("ac-s3cret\"x");
  // Ignored: an application credential is bound to its project.
  config.project_name = "siq";
  config.project_domain_name = "Default";
  return config;
}

http::Request Get(std::string url) {
  http::Request request;
  request.method = http::Method::kGet;
  request.url = std::move(url);
  return request;
}

http::Request Post(std::string url, std::string_view body) {
  http::Request request;
  request.method = http::Method::kPost;
  request.url = std::move(url);
  request.body = SecretBytes(body);
  return request;
}

json Catalog() {
  return json::parse(R"([
    {"type": "identity", "name": "keystone", "endpoints": [
      {"interface": "public", "region_id": "RegionOne", "region": "RegionOne",
       "url": "https://keystone.example:5000/v3"}]},
    {"type": "key-manager", "name": "barbican", "endpoints": [
      {"interface": "public", "region_id": "RegionOne",
       "url": "https://barbican-one.example:9311"},
      {"interface": "internal", "region_id": "RegionOne",
       "url": "http://barbican-one.internal:9311"},
      {"interface": "public", "region": "RegionTwo",
       "url": "https://barbican-two.example:9311"}]}
  ])");
}

class SessionTest : public testing::Test {
 protected:
  // Every scripted answer was asked for: no request went missing.
  void TearDown() override { EXPECT_EQ(transport_.Pending(), 0u); }

  FakeTransport transport_;
  FakeClock clock_{Noon()};
};

TEST(TokenRequestBodyTest, PasswordNamesUserInDomainAndScopesToProject) {
  AuthConfig config = PasswordConfig();

  SecretBytes body = TokenRequestBody(config);

  json expected = {
      {"auth",
       {{"identity",
         {{"methods", {"password"}},
          {"password",
           {{"user",
             {{"name", "deployer"},
              {"domain", {{"name", "Default"}}},
              {"password", kPassword}}}}}}},
        {"scope",
         {{"project",
           {{"name", "siq"}, {"domain", {{"name", "Default"}}}}}}}}}};
  EXPECT_EQ(json::parse(body.Reveal()), expected);
}

TEST(TokenRequestBodyTest, PasswordUsesIdsWhenGiven) {
  AuthConfig config = PasswordConfig();
  config.user_id = "u-0123";
  config.project_id = "p-4567";

  SecretBytes body = TokenRequestBody(config);

  json doc = json::parse(body.Reveal());
  EXPECT_EQ(doc["auth"]["identity"]["password"]["user"],
            (json{{"id", "u-0123"}, {"password", kPassword}}));
  EXPECT_EQ(doc["auth"]["scope"], (json{{"project", {{"id", "p-4567"}}}}));
}

TEST(TokenRequestBodyTest, ApplicationCredentialSendsIdAndSecretWithoutScope) {
  AuthConfig config = ApplicationCredentialConfig();

  SecretBytes body = TokenRequestBody(config);

  json expected = {{"auth",
                    {{"identity",
                      {{"methods", {"application_credential"}},
                       {"application_credential",
                        {{"id", "ac-0123"}, {"secret", "ac-s3cret\"x"}}}}}}}};
  EXPECT_EQ(json::parse(body.Reveal()), expected);
}

TEST_F(SessionTest, AuthenticatePostsTokenRequestToKeystone) {
  transport_.Enqueue(TokenAnswer("gAAAA-first"));
  Session session(transport_, PasswordConfig(), clock_);

  Status status = session.Authenticate();

  ASSERT_TRUE(status.ok()) << status.ToString();
  ASSERT_EQ(transport_.Requests().size(), 1u);
  const test::RecordedRequest& sent = transport_.Requests()[0];
  EXPECT_EQ(sent.method, http::Method::kPost);
  EXPECT_EQ(sent.url, kTokenUrl);
  EXPECT_FALSE(sent.has_token);
  EXPECT_EQ(sent.secret_header, "x-subject-token");
  EXPECT_EQ(sent.Header("Content-Type"), "application/json");
  EXPECT_EQ(sent.JsonBody(),
            json::parse(TokenRequestBody(PasswordConfig()).Reveal()));
}

TEST_F(SessionTest, AuthenticateReadsTokenInfo) {
  transport_.Enqueue(TokenAnswer("gAAAA-first"));
  Session session(transport_, PasswordConfig(), clock_);

  Status status = session.Authenticate();

  ASSERT_TRUE(status.ok()) << status.ToString();
  const TokenInfo& info = session.token_info();
  EXPECT_EQ(info.user_id, "u-deployer");
  EXPECT_EQ(info.user_name, "deployer");
  EXPECT_EQ(info.project_id, "p-siq");
  EXPECT_EQ(info.project_name, "siq");
  EXPECT_EQ(info.roles, std::vector<std::string>{"reader"});
  EXPECT_EQ(info.issued_at, Noon());
  EXPECT_EQ(info.expires_at, Noon() + hours{1});
}

TEST_F(SessionTest, SendCarriesSubjectTokenAsAuthToken) {
  transport_.Enqueue(TokenAnswer("gAAAA-first"));
  transport_.Enqueue(JsonAnswer(200, {{"secrets", json::array()}}));
  Session session(transport_, PasswordConfig(), clock_);

  auto response = session.Send(Get(kSecretsUrl));

  ASSERT_TRUE(response.ok()) << response.status().ToString();
  EXPECT_EQ(response->status, 200);
  ASSERT_EQ(transport_.Requests().size(), 2u);
  const test::RecordedRequest& sent = transport_.Requests()[1];
  EXPECT_EQ(sent.url, kSecretsUrl);
  EXPECT_TRUE(sent.has_token);
  EXPECT_EQ(sent.token, "gAAAA-first");
  EXPECT_EQ(sent.HeaderCount("X-Auth-Token"), 0u);
}

TEST_F(SessionTest, KeepsTokenThatIsNotCloseToExpiry) {
  transport_.Enqueue(TokenAnswer("gAAAA-first"));
  transport_.Enqueue(JsonAnswer(200, json::object()));
  transport_.Enqueue(JsonAnswer(200, json::object()));
  Session session(transport_, PasswordConfig(), clock_);
  ASSERT_TRUE(session.Send(Get(kSecretsUrl)).ok());

  clock_.Advance(minutes{58});
  auto response = session.Send(Get(kSecretsUrl));

  ASSERT_TRUE(response.ok()) << response.status().ToString();
  ASSERT_EQ(transport_.Requests().size(), 3u);
  EXPECT_EQ(transport_.Requests()[2].url, kSecretsUrl);
  EXPECT_EQ(transport_.Requests()[2].token, "gAAAA-first");
}

TEST_F(SessionTest, RenewsTokenCloseToExpiryBeforeSending) {
  transport_.Enqueue(TokenAnswer("gAAAA-first"));
  transport_.Enqueue(JsonAnswer(200, json::object()));
  transport_.Enqueue(KeystoneTokenAnswer("gAAAA-second",
                                         "2026-12-03T12:59:30.000000Z",
                                         "2026-12-03T13:59:30.000000Z"));
  transport_.Enqueue(JsonAnswer(200, json::object()));
  Session session(transport_, PasswordConfig(), clock_);
  ASSERT_TRUE(session.Send(Get(kSecretsUrl)).ok());

  clock_.Advance(minutes{59} + seconds{30});
  auto response = session.Send(Get(kSecretsUrl));

  ASSERT_TRUE(response.ok()) << response.status().ToString();
  ASSERT_EQ(transport_.Requests().size(), 4u);
  EXPECT_EQ(transport_.Requests()[2].url, kTokenUrl);
  EXPECT_EQ(transport_.Requests()[3].url, kSecretsUrl);
  EXPECT_EQ(transport_.Requests()[3].token, "gAAAA-second");
}

TEST_F(SessionTest, ReauthenticatesOnceAndResendsGetAfter401) {
  transport_.Enqueue(TokenAnswer("gAAAA-first"));
  transport_.Enqueue(
      JsonAnswer(401, {{"code", 401}, {"title", "Unauthorized"}}));
  transport_.Enqueue(TokenAnswer("gAAAA-second"));
  transport_.Enqueue(JsonAnswer(200, {{"secrets", json::array()}}));
  Session session(transport_, PasswordConfig(), clock_);

  auto response = session.Send(Get(kSecretsUrl));

  ASSERT_TRUE(response.ok()) << response.status().ToString();
  EXPECT_EQ(response->status, 200);
  const auto& sent = transport_.Requests();
  ASSERT_EQ(sent.size(), 4u);
  EXPECT_EQ(sent[1].token, "gAAAA-first");
  EXPECT_EQ(sent[2].url, kTokenUrl);
  EXPECT_EQ(sent[3].url, kSecretsUrl);
  EXPECT_EQ(sent[3].token, "gAAAA-second");
}

TEST_F(SessionTest, ReauthenticatesOnlyOnceWhenServiceKeepsRefusing) {
  transport_.Enqueue(TokenAnswer("gAAAA-first"));
  transport_.Enqueue(JsonAnswer(401, json::object()));
  transport_.Enqueue(TokenAnswer("gAAAA-second"));
  transport_.Enqueue(JsonAnswer(401, json::object()));
  Session session(transport_, PasswordConfig(), clock_);

  auto response = session.Send(Get(kSecretsUrl));

  ASSERT_TRUE(response.ok()) << response.status().ToString();
  EXPECT_EQ(response->status, 401);
  EXPECT_EQ(transport_.Requests().size(), 4u);
}

TEST_F(SessionTest, DoesNotResendPostAfter401) {
  transport_.Enqueue(TokenAnswer("gAAAA-first"));
  transport_.Enqueue(JsonAnswer(401, json::object()));
  transport_.Enqueue(TokenAnswer("gAAAA-second"));
  Session session(transport_, PasswordConfig(), clock_);

  auto response = session.Send(Post(kSecretsUrl, R"({"name": "x"})"));

  ASSERT_TRUE(response.ok()) << response.status().ToString();
  EXPECT_EQ(response->status, 401);
  const auto& sent = transport_.Requests();
  ASSERT_EQ(sent.size(), 3u);
  EXPECT_EQ(sent[1].method, http::Method::kPost);
  EXPECT_EQ(sent[1].url, kSecretsUrl);
  EXPECT_EQ(sent[2].url, kTokenUrl);
}

TEST_F(SessionTest, KeystoneRefusalIsUnauthenticatedNamingUrlAndStatus) {
  transport_.Enqueue(JsonAnswer(
      401,
      {{"error",
        {{"code", 401},
         {"title", "Unauthorized"},
         {"message", "The request you have made requires authentication."}}}},
      "req-ks-0001"));
  Session session(transport_, PasswordConfig(), clock_);

  Status status = session.Authenticate();

  EXPECT_EQ(status.code(), StatusCode::kUnauthenticated);
  EXPECT_EQ(status.http_status(), 401);
  EXPECT_EQ(status.message(),
            "authenticating with Keystone at "
            "https://keystone.example:5000/v3: HTTP 401 (request "
            "req-ks-0001): The request you have made requires "
            "authentication.");
}

TEST_F(SessionTest, SendFailsWhenKeystoneRefuses) {
  transport_.Enqueue(JsonAnswer(401, json::object()));
  Session session(transport_, PasswordConfig(), clock_);

  auto response = session.Send(Get(kSecretsUrl));

  EXPECT_EQ(response.status().code(), StatusCode::kUnauthenticated);
  EXPECT_EQ(transport_.Requests().size(), 1u);
}

TEST_F(SessionTest, UnreachableKeystoneKeepsTransportError) {
  transport_.Enqueue(
      {.failure = Status(StatusCode::kUnavailable,
                         "POST https://keystone.example:5000/v3/auth/tokens: "
                         "Could not connect (after 4 attempts)")});
  Session session(transport_, PasswordConfig(), clock_);

  Status status = session.Authenticate();

  EXPECT_EQ(status.code(), StatusCode::kUnavailable);
  EXPECT_EQ(status.message(),
            "authenticating with Keystone: POST "
            "https://keystone.example:5000/v3/auth/tokens: Could not connect "
            "(after 4 attempts)");
}

TEST_F(SessionTest, AnswerWithoutSubjectTokenIsServerError) {
  test::ScriptedAnswer answer = TokenAnswer("unused");
  answer.headers.erase("X-Subject-Token");
  transport_.Enqueue(answer);
  Session session(transport_, PasswordConfig(), clock_);

  Status status = session.Authenticate();

  EXPECT_EQ(status.code(), StatusCode::kServerError);
  EXPECT_EQ(status.message(),
            "authenticating with Keystone at "
            "https://keystone.example:5000/v3: the answer has no "
            "X-Subject-Token");
}

TEST_F(SessionTest, EndpointForUsesConfiguredInterfaceAndRegion) {
  transport_.Enqueue(
      KeystoneTokenAnswer("gAAAA-first", "2026-12-03T12:00:00.000000Z",
                          "2026-12-03T13:00:00.000000Z", Catalog()));
  AuthConfig config = PasswordConfig();
  config.interface = "internal";
  config.region_name = "RegionOne";
  Session session(transport_, std::move(config), clock_);

  auto endpoint = session.EndpointFor("key-manager");

  ASSERT_TRUE(endpoint.ok()) << endpoint.status().ToString();
  EXPECT_EQ(*endpoint, "http://barbican-one.internal:9311");
}

TEST_F(SessionTest, EndpointForReadsRegionFromEitherCatalogField) {
  transport_.Enqueue(
      KeystoneTokenAnswer("gAAAA-first", "2026-12-03T12:00:00.000000Z",
                          "2026-12-03T13:00:00.000000Z", Catalog()));
  AuthConfig config = PasswordConfig();
  config.region_name = "RegionTwo";
  Session session(transport_, std::move(config), clock_);

  auto endpoint = session.EndpointFor("key-manager");

  ASSERT_TRUE(endpoint.ok()) << endpoint.status().ToString();
  EXPECT_EQ(*endpoint, "https://barbican-two.example:9311");
}

TEST_F(SessionTest, ConfiguredBarbicanEndpointNeedsNoToken) {
  AuthConfig config = PasswordConfig();
  config.barbican_endpoint = "https://barbican.override:9311";
  Session session(transport_, std::move(config), clock_);

  auto endpoint = session.EndpointFor("key-manager");

  ASSERT_TRUE(endpoint.ok()) << endpoint.status().ToString();
  EXPECT_EQ(*endpoint, "https://barbican.override:9311");
  EXPECT_TRUE(transport_.Requests().empty());
}

std::vector<CatalogEntry> ParsedCatalog() {
  return {
      {"identity",
       "keystone",
       {{"public", "RegionOne", "https://keystone.example:5000/v3"}}},
      {"key-manager",
       "barbican",
       {{"public", "RegionOne", "https://barbican-one.example:9311"},
        {"internal", "RegionOne", "http://barbican-one.internal:9311"},
        {"public", "RegionTwo", "https://barbican-two.example:9311"}}},
  };
}

TEST(FindEndpointTest, MatchesInterfaceAndRegion) {
  auto url =
      FindEndpoint(ParsedCatalog(), "key-manager", "public", "RegionTwo");

  ASSERT_TRUE(url.ok()) << url.status().ToString();
  EXPECT_EQ(*url, "https://barbican-two.example:9311");
}

TEST(FindEndpointTest, TakesFirstOfInterfaceWhenRegionIsEmpty) {
  auto url = FindEndpoint(ParsedCatalog(), "key-manager", "public", "");

  ASSERT_TRUE(url.ok()) << url.status().ToString();
  EXPECT_EQ(*url, "https://barbican-one.example:9311");
}

TEST(FindEndpointTest, NotFoundNamesServiceInterfaceAndRegion) {
  auto url = FindEndpoint(ParsedCatalog(), "key-manager", "admin", "RegionOne");

  EXPECT_EQ(url.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(url.status().message(),
            "the catalog has no key-manager endpoint for interface admin in "
            "region RegionOne");
}

TEST(FindEndpointTest, NotFoundWithoutRegionNamesServiceAndInterface) {
  auto url = FindEndpoint(ParsedCatalog(), "object-store", "public", "");

  EXPECT_EQ(url.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(url.status().message(),
            "the catalog has no object-store endpoint for interface public");
}

TEST(ParseKeystoneTimeTest, ReadsWholeSeconds) {
  auto time = ParseKeystoneTime("2026-12-03T13:00:00Z");

  ASSERT_TRUE(time.ok()) << time.status().ToString();
  EXPECT_EQ(*time, Noon() + hours{1});
}

TEST(ParseKeystoneTimeTest, ReadsWithoutZone) {
  auto time = ParseKeystoneTime("2026-12-03T13:00:00");

  ASSERT_TRUE(time.ok()) << time.status().ToString();
  EXPECT_EQ(*time, Noon() + hours{1});
}

TEST(ParseKeystoneTimeTest, ReadsMicroseconds) {
  auto time = ParseKeystoneTime("2026-12-03T13:00:00.123456Z");

  ASSERT_TRUE(time.ok()) << time.status().ToString();
  EXPECT_EQ(*time, Noon() + hours{1} + microseconds{123456});
}

TEST(ParseKeystoneTimeTest, ReadsShortFraction) {
  auto time = ParseKeystoneTime("2026-12-03T13:00:00.5+00:00");

  ASSERT_TRUE(time.ok()) << time.status().ToString();
  EXPECT_EQ(*time, Noon() + hours{1} + milliseconds{500});
}

TEST(ParseKeystoneTimeTest, RejectsGarbage) {
  for (const char* text :
       {"", "tomorrow", "2026-12-03", "2026-13-03T13:00:00Z",
        "2026-12-03T13:00:00+02:00", "2026-12-03T13:00:00Zjunk",
        "2026-12-03T13:00:00.5 extra"}) {
    auto time = ParseKeystoneTime(text);

    EXPECT_EQ(time.status().code(), StatusCode::kInvalidArgument)
        << "'" << text << "'";
  }
}

}  // namespace
}  // namespace siq::keystone
