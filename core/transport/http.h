// The HTTP boundary of siq: a request, its answer, and the narrow interface
// that the Keystone and Barbican clients send through. CurlTransport is the
// real one; unit tests put an in-memory fake behind the same interface.
//
// Bodies are SecretBytes because a request may carry a password or a
// payload; an answer lands in SecretBytes when the request says the answer is
// sensitive (a payload, a token), and in a plain string otherwise.
#pragma once

#include <chrono>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/base/secret.h"
#include "core/base/status.h"

namespace siq::http {

enum class Method { kGet, kHead, kPost, kPut, kPatch, kDelete };

std::string_view MethodName(Method method);

// Whether sending a request twice is safe. kByMethod: GET, HEAD, PUT and
// DELETE are; POST and PATCH are not.
enum class Repeatable { kByMethod, kYes, kNo };

// Whether the answer's body is a secret value.
enum class SensitiveBody { kNo, kYes };

// Whether the URL's path is itself a credential (a chat webhook's token):
// logs and errors then show "/(withheld)" in its place.
enum class SecretUrl { kNo, kYes };

struct Request {
  Method method = Method::kGet;
  std::string url;
  // Plain headers; never a token (see `token`).
  std::vector<std::pair<std::string, std::string>> headers;
  // Sent as X-Auth-Token when set. Not owned; must outlive Send().
  const SecretBytes* token = nullptr;
  SecretBytes body;
  Repeatable repeatable = Repeatable::kByMethod;
  SensitiveBody sensitive_body = SensitiveBody::kNo;
  // A response header whose value is a secret (Keystone's X-Subject-Token),
  // lower case; it lands in Response::secret_header, not in `headers`.
  std::string secret_header;
  SecretUrl secret_url = SecretUrl::kNo;
};

struct Response {
  int status = 0;
  // Header names in lower case.
  std::map<std::string, std::string> headers;
  std::string body;         // when the request's body was not sensitive
  SecretBytes secret_body;  // when it was
  SecretBytes secret_header;
  std::chrono::milliseconds elapsed{0};

  // The x-openstack-request-id header, or "".
  std::string RequestId() const;
  bool IsSuccess() const { return status >= 200 && status < 300; }
};

class Transport {
 public:
  virtual ~Transport() = default;
  // Sends `request`, retrying where that is safe. Returns the answer for any
  // HTTP status, or an error when no answer came (kUnavailable, or
  // kDeadlineExceeded on a timeout) naming the endpoint.
  [[nodiscard]] virtual Result<Response> Send(const Request& request) = 0;
};

// The server's own words from an error answer: Keystone's
// {"error": {"message": ...}} or Barbican's {"description": ...}, or "".
std::string ServerMessage(const Response& response);

// The Status for a non-2xx answer to `operation` ("creating order X"): the
// category from the HTTP status, then the status, the request id and the
// server's message. Never includes a request or response body otherwise.
Status ErrorFromResponse(std::string_view operation, const Response& response);

// "scheme://host:port" of `url`, for error messages that name an endpoint.
std::string EndpointOf(std::string_view url);
// The path of `url` without scheme, host and query, for log lines.
std::string PathOf(std::string_view url);
// `text` with URL query escaping.
std::string QueryEscape(std::string_view text);

}  // namespace siq::http
