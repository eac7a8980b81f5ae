#include "tests/unit/fake_transport.h"

#include <algorithm>
#include <cctype>

#include <fmt/format.h>
#include <gtest/gtest.h>

namespace siq::test {
namespace {

std::string ToLower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  return out;
}

RecordedRequest Record(const http::Request& request) {
  RecordedRequest recorded;
  recorded.method = request.method;
  recorded.url = request.url;
  recorded.headers = request.headers;
  recorded.has_token = request.token != nullptr;
  if (request.token != nullptr) {
    recorded.token = std::string(request.token->Reveal());
  }
  recorded.body = std::string(request.body.Reveal());
  recorded.repeatable = request.repeatable;
  recorded.sensitive_body = request.sensitive_body;
  recorded.secret_header = request.secret_header;
  return recorded;
}

// What CurlTransport's callbacks would have made of `answer`.
http::Response ResponseFor(const http::Request& request,
                           const ScriptedAnswer& answer) {
  http::Response response;
  response.status = answer.status;
  for (const auto& [name, value] : answer.headers) {
    std::string lower = ToLower(name);
    if (!request.secret_header.empty() && lower == request.secret_header) {
      response.secret_header.Append(value);
    } else {
      response.headers[lower] = value;
    }
  }
  if (request.sensitive_body == http::SensitiveBody::kYes) {
    response.secret_body.Append(answer.body);
  } else {
    response.body = answer.body;
  }
  return response;
}

}  // namespace

std::optional<std::string> RecordedRequest::Header(
    std::string_view name) const {
  std::string wanted = ToLower(name);
  for (const auto& [key, value] : headers) {
    if (ToLower(key) == wanted) {
      return value;
    }
  }
  return std::nullopt;
}

size_t RecordedRequest::HeaderCount(std::string_view name) const {
  std::string wanted = ToLower(name);
  return static_cast<size_t>(std::count_if(
      headers.begin(), headers.end(),
      [&](const auto& header) { return ToLower(header.first) == wanted; }));
}

nlohmann::json RecordedRequest::JsonBody() const {
  return nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
}

ScriptedAnswer JsonAnswer(int status,
                          const nlohmann::json& body,
                          std::string request_id) {
  ScriptedAnswer answer{.status = status, .body = body.dump()};
  answer.headers["Content-Type"] = "application/json";
  if (!request_id.empty()) {
    answer.headers["X-OpenStack-Request-Id"] = std::move(request_id);
  }
  return answer;
}

ScriptedAnswer KeystoneTokenAnswer(std::string token,
                                   std::string issued_at,
                                   std::string expires_at,
                                   nlohmann::json catalog) {
  nlohmann::json body = {
      {"token",
       {{"methods", {"password"}},
        {"user",
         {{"id", "u-deployer"},
          {"name", "deployer"},
          {"domain", {{"id", "default"}, {"name", "Default"}}}}},
        {"project", {{"id", "p-siq"}, {"name", "siq"}}},
        {"roles", {{{"id", "r-1"}, {"name", "reader"}}}},
        {"issued_at", std::move(issued_at)},
        {"expires_at", std::move(expires_at)},
        {"catalog", std::move(catalog)}}}};
  ScriptedAnswer answer = JsonAnswer(201, body);
  answer.headers["X-Subject-Token"] = std::move(token);
  return answer;
}

void FakeTransport::Enqueue(ScriptedAnswer answer) {
  queue_.push_back(std::move(answer));
}

void FakeTransport::EnqueueFor(std::string url, ScriptedAnswer answer) {
  by_url_[std::move(url)].push_back(std::move(answer));
}

Result<http::Response> FakeTransport::Send(const http::Request& request) {
  requests_.push_back(Record(request));

  std::deque<ScriptedAnswer>* source = &queue_;
  if (auto it = by_url_.find(request.url);
      it != by_url_.end() && !it->second.empty()) {
    source = &it->second;
  }
  if (source->empty()) {
    ADD_FAILURE() << "FakeTransport: no scripted answer for "
                  << http::MethodName(request.method) << " " << request.url;
    return Status(StatusCode::kInternal,
                  fmt::format("no scripted answer for {}", request.url));
  }
  ScriptedAnswer answer = std::move(source->front());
  source->pop_front();

  if (answer.failure) {
    return *answer.failure;
  }
  return ResponseFor(request, answer);
}

size_t FakeTransport::Pending() const {
  size_t count = queue_.size();
  for (const auto& [url, answers] : by_url_) {
    count += answers.size();
  }
  return count;
}

void FakeClock::SleepFor(std::chrono::milliseconds duration) {
  sleeps_.push_back(duration);
  now_ += duration;
}

}  // namespace siq::test
