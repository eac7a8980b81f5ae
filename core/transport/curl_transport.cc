#include "core/transport/curl_transport.h"

#include <algorithm>
#include <cctype>
#include <mutex>
#include <string_view>
#include <vector>

#include <curl/curl.h>
#include <fmt/format.h>

#include "core/base/log.h"

namespace siq::http {
namespace {

void InitCurlOnce() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

std::string ToLower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  return out;
}

std::string_view Trim(std::string_view text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text[0]))) {
    text.remove_prefix(1);
  }
  while (!text.empty() &&
         std::isspace(static_cast<unsigned char>(text.back()))) {
    text.remove_suffix(1);
  }
  return text;
}

// Where libcurl's callbacks put what arrives.
struct Sink {
  const Request* request;
  Response* response;
};

size_t OnBody(char* data, size_t size, size_t count, void* user) {
  auto* sink = static_cast<Sink*>(user);
  std::string_view bytes(data, size * count);
  if (sink->request->sensitive_body == SensitiveBody::kYes) {
    sink->response->secret_body.Append(bytes);
  } else {
    sink->response->body.append(bytes);
  }
  return bytes.size();
}

size_t OnHeader(char* data, size_t size, size_t count, void* user) {
  auto* sink = static_cast<Sink*>(user);
  std::string_view line(data, size * count);
  size_t colon = line.find(':');
  if (colon == std::string_view::npos) {
    return line.size();  // the status line or the blank line at the end
  }
  std::string name = ToLower(Trim(line.substr(0, colon)));
  std::string_view value = Trim(line.substr(colon + 1));
  if (!sink->request->secret_header.empty() &&
      name == sink->request->secret_header) {
    sink->response->secret_header.Append(value);
  } else {
    sink->response->headers[name] = std::string(value);
  }
  return line.size();
}

// A header list for libcurl. The token line is built in secure memory and
// linked as a node of our own, because curl_slist_append() would copy it
// into ordinary heap memory that is never wiped.
class HeaderList {
 public:
  explicit HeaderList(const Request& request) {
    for (const auto& [name, value] : request.headers) {
      lines_.push_back(fmt::format("{}: {}", name, value));
    }
    if (request.token != nullptr) {
      token_line_.Append("X-Auth-Token: ");
      token_line_.Append(request.token->Reveal());
      token_line_.Append('\0');
    }
    nodes_.resize(lines_.size() + (request.token != nullptr ? 1 : 0));
    for (size_t i = 0; i < lines_.size(); ++i) {
      nodes_[i].data = lines_[i].data();
    }
    if (request.token != nullptr) {
      nodes_.back().data = const_cast<char*>(token_line_.Reveal().data());
    }
    for (size_t i = 0; i + 1 < nodes_.size(); ++i) {
      nodes_[i].next = &nodes_[i + 1];
    }
  }

  curl_slist* get() { return nodes_.empty() ? nullptr : nodes_.data(); }

 private:
  std::vector<std::string> lines_;
  SecretBytes token_line_;
  std::vector<curl_slist> nodes_;
};

Outcome OutcomeOf(CURLcode code) {
  switch (code) {
    case CURLE_OK:
      return Outcome::kAnswered;
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_CONNECT:
      return Outcome::kNotConnected;
    default:
      return Outcome::kInterrupted;
  }
}

}  // namespace

struct CurlTransport::Attempt {
  Response response;
  CURLcode code = CURLE_OK;
  std::string error;
};

CurlTransport::CurlTransport(TransportOptions options, Clock& clock)
    : options_(std::move(options)),
      clock_(clock),
      curl_(nullptr),
      rng_(std::random_device{}()) {
  InitCurlOnce();
  curl_ = curl_easy_init();
}

CurlTransport::~CurlTransport() {
  curl_easy_cleanup(static_cast<CURL*>(curl_));
}

CurlTransport::Attempt CurlTransport::SendOnce(const Request& request) {
  auto* curl = static_cast<CURL*>(curl_);
  // Reset forgets the last request's options but keeps live connections.
  curl_easy_reset(curl);

  Attempt attempt;
  Sink sink{&request, &attempt.response};
  HeaderList headers(request);
  char error[CURL_ERROR_SIZE] = {};

  curl_easy_setopt(curl, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error);
  curl_easy_setopt(curl, CURLOPT_USERAGENT, options_.user_agent.c_str());
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS,
                   static_cast<long>(options_.connect_timeout.count()));
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS,
                   static_cast<long>(options_.timeout.count()));
  curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 2L);
  if (!options_.ca_bundle.empty()) {
    curl_easy_setopt(curl, CURLOPT_CAINFO, options_.ca_bundle.c_str());
  }
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers.get());
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, OnBody);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &sink);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, OnHeader);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &sink);

  std::string method(MethodName(request.method));
  if (request.method == Method::kHead) {
    curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
  } else if (request.method != Method::kGet) {
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method.c_str());
  }
  if (!request.body.empty() || request.method == Method::kPost) {
    std::string_view body = request.body.Reveal();
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.data());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE,
                     static_cast<curl_off_t>(body.size()));
  }

  auto start = std::chrono::steady_clock::now();
  attempt.code = curl_easy_perform(curl);
  attempt.response.elapsed =
      std::chrono::duration_cast<std::chrono::milliseconds>(
          std::chrono::steady_clock::now() - start);
  if (attempt.code == CURLE_OK) {
    long status = 0;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    attempt.response.status = static_cast<int>(status);
  } else {
    attempt.error = error[0] != '\0' ? error : curl_easy_strerror(attempt.code);
  }
  // Unhook the callbacks' pointers before the locals they name go away.
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, nullptr);
  return attempt;
}

Result<Response> CurlTransport::Send(const Request& request) {
  auto logger = log::Get("http");
  std::string path = request.secret_url == SecretUrl::kYes
                         ? "/(withheld)"
                         : PathOf(request.url);
  std::string_view method = MethodName(request.method);

  for (int attempts = 1;; ++attempts) {
    Attempt attempt = SendOnce(request);
    Outcome outcome = OutcomeOf(attempt.code);
    if (outcome == Outcome::kAnswered) {
      logger->debug("{} {} {} {}ms", method, path, attempt.response.status,
                    attempt.response.elapsed.count());
    } else {
      logger->debug("{} {} failed: {} {}ms", method, path, attempt.error,
                    attempt.response.elapsed.count());
    }

    if (!ShouldRetry(options_.retry, request.method, request.repeatable,
                     attempts, outcome, attempt.response.status)) {
      if (outcome == Outcome::kAnswered) {
        return std::move(attempt.response);
      }
      StatusCode code = attempt.code == CURLE_OPERATION_TIMEDOUT
                            ? StatusCode::kDeadlineExceeded
                            : StatusCode::kUnavailable;
      return Status(code,
                    fmt::format("{} {}{}: {} (after {} attempt{})", method,
                                EndpointOf(request.url), path, attempt.error,
                                attempts, attempts == 1 ? "" : "s"));
    }

    auto delay = BackoffDelay(options_.retry, attempts,
                              RetryAfter(attempt.response), rng_);
    logger->info("{} {}: retrying in {}ms", method, path, delay.count());
    clock_.SleepFor(delay);
  }
}

}  // namespace siq::http
