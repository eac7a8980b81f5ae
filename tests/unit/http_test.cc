#include "core/transport/http.h"

#include <string>

#include <gtest/gtest.h>

#include "core/base/status.h"

namespace siq::http {
namespace {

Response Answer(int status, std::string body, std::string request_id = "") {
  Response response;
  response.status = status;
  response.body = std::move(body);
  if (!request_id.empty()) {
    response.headers["x-openstack-request-id"] = std::move(request_id);
  }
  return response;
}

constexpr char kBarbicanNotFound[] = R"({"code": 404, "title": "Not Found",)"
                                     R"( "description": "Secret not found."})";
constexpr char kKeystoneUnauthorized[] =
    R"({"error": {"code": 401, "title": "Unauthorized",)"
    R"( "message": "The request you have made requires authentication."}})";

TEST(EndpointOfTest, KeepsSchemeHostAndPort) {
  EXPECT_EQ(EndpointOf("https://keystone.example:5000/v3/auth/tokens"),
            "https://keystone.example:5000");
}

TEST(EndpointOfTest, StopsAtQueryWithoutPath) {
  EXPECT_EQ(EndpointOf("http://barbican.example:9311?limit=1"),
            "http://barbican.example:9311");
}

TEST(EndpointOfTest, ReturnsWholeUrlWithoutPath) {
  EXPECT_EQ(EndpointOf("http://barbican.example:9311"),
            "http://barbican.example:9311");
}

TEST(PathOfTest, DropsEndpointAndQuery) {
  EXPECT_EQ(
      PathOf("https://barbican.example:9311/v1/secrets?limit=100&offset=0"),
      "/v1/secrets");
}

TEST(PathOfTest, DropsFragment) {
  EXPECT_EQ(PathOf("https://barbican.example/v1/orders#top"), "/v1/orders");
}

TEST(PathOfTest, IsSlashWithoutPath) {
  EXPECT_EQ(PathOf("https://barbican.example:9311"), "/");
  EXPECT_EQ(PathOf("https://barbican.example:9311?limit=1"), "/");
}

TEST(QueryEscapeTest, KeepsUnreservedCharactersIncludingUnderscore) {
  EXPECT_EQ(QueryEscape("vps1_JWT-SECRET.v2~x"), "vps1_JWT-SECRET.v2~x");
}

TEST(QueryEscapeTest, EscapesPercentAndSpace) {
  EXPECT_EQ(QueryEscape("50% off"), "50%25%20off");
}

TEST(QueryEscapeTest, EscapesQuerySyntaxAndColon) {
  EXPECT_EQ(QueryEscape("a&b=c+d:asc/"), "a%26b%3Dc%2Bd%3Aasc%2F");
}

TEST(QueryEscapeTest, EscapesEachUtf8ByteInUpperCaseHex) {
  EXPECT_EQ(QueryEscape("cl\xc3\xa9"), "cl%C3%A9");
}

TEST(ServerMessageTest, ReadsBarbicanDescription) {
  EXPECT_EQ(ServerMessage(Answer(404, kBarbicanNotFound)), "Secret not found.");
}

TEST(ServerMessageTest, FallsBackToBarbicanTitleWhenDescriptionIsEmpty) {
  Response response = Answer(
      500,
      R"({"code": 500, "title": "Internal Server Error", "description": ""})");

  EXPECT_EQ(ServerMessage(response), "Internal Server Error");
}

TEST(ServerMessageTest, ReadsKeystoneErrorMessage) {
  EXPECT_EQ(ServerMessage(Answer(401, kKeystoneUnauthorized)),
            "The request you have made requires authentication.");
}

TEST(ServerMessageTest, IsEmptyForHtml) {
  EXPECT_EQ(ServerMessage(Answer(502, "<html><body>Bad Gateway</body></html>")),
            "");
}

TEST(ServerMessageTest, IsEmptyForJsonThatIsNotAnObject) {
  EXPECT_EQ(ServerMessage(Answer(500, R"(["description"])")), "");
}

TEST(ServerMessageTest, IsEmptyForEmptyBody) {
  EXPECT_EQ(ServerMessage(Answer(503, "")), "");
}

struct CategoryCase {
  int http_status;
  StatusCode code;
};

class ErrorFromResponseCategoryTest
    : public testing::TestWithParam<CategoryCase> {};

TEST_P(ErrorFromResponseCategoryTest, MapsHttpStatusToCategory) {
  Response response = Answer(GetParam().http_status, "");

  Status status = ErrorFromResponse("deleting secret s1", response);

  EXPECT_EQ(status.code(), GetParam().code);
  EXPECT_EQ(status.http_status(), GetParam().http_status);
}

INSTANTIATE_TEST_SUITE_P(
    EveryStatusSiqKnows,
    ErrorFromResponseCategoryTest,
    testing::Values(CategoryCase{400, StatusCode::kInvalidArgument},
                    CategoryCase{401, StatusCode::kUnauthenticated},
                    CategoryCase{403, StatusCode::kPermissionDenied},
                    CategoryCase{404, StatusCode::kNotFound},
                    CategoryCase{409, StatusCode::kConflict},
                    CategoryCase{429, StatusCode::kUnavailable},
                    CategoryCase{500, StatusCode::kServerError},
                    CategoryCase{503, StatusCode::kUnavailable},
                    CategoryCase{504, StatusCode::kDeadlineExceeded}),
    [](const testing::TestParamInfo<CategoryCase>& case_info) {
      return "Http" + std::to_string(case_info.param.http_status);
    });

TEST(ErrorFromResponseTest, NamesOperationStatusRequestIdAndDescription) {
  Response response = Answer(404, kBarbicanNotFound, "req-6c1d-42");

  Status status = ErrorFromResponse(
      "reading secret https://barbican.example/v1/secrets/abc", response);

  EXPECT_EQ(status.message(),
            "reading secret https://barbican.example/v1/secrets/abc: HTTP 404 "
            "(request req-6c1d-42): Secret not found.");
}

TEST(ErrorFromResponseTest, NamesKeystoneMessage) {
  Response response = Answer(401, kKeystoneUnauthorized, "req-ks-7");

  Status status = ErrorFromResponse("authenticating", response);

  EXPECT_EQ(status.message(),
            "authenticating: HTTP 401 (request req-ks-7): The request you "
            "have made requires authentication.");
}

TEST(ErrorFromResponseTest, LeavesOutRequestIdAndBodyThatAreMissing) {
  Response response = Answer(502, "<html>Bad Gateway</html>");

  Status status = ErrorFromResponse("listing secrets (offset 0)", response);

  EXPECT_EQ(status.message(), "listing secrets (offset 0): HTTP 502");
  EXPECT_EQ(status.code(), StatusCode::kUnavailable);
}

}  // namespace
}  // namespace siq::http
