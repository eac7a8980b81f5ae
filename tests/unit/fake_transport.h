// In-memory fakes for the two outside boundaries of the core: the HTTP
// transport and the clock. FakeTransport answers from a script the test
// writes and records every request it was given, including the token and body
// bytes, so that tests assert exactly what would have gone on the wire.
// FakeClock stands still until the test (or a SleepFor call) moves it.
//
// A fake belongs to one test and is not safe to share between threads.
#pragma once

#include <chrono>
#include <cstddef>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/base/clock.h"
#include "core/base/status.h"
#include "core/transport/http.h"

namespace siq::test {

// One request as FakeTransport saw it. The token and body are copied into
// plain strings: fine in a test, never in core code.
struct RecordedRequest {
  http::Method method = http::Method::kGet;
  std::string url;
  std::vector<std::pair<std::string, std::string>> headers;
  bool has_token = false;
  std::string token;
  std::string body;
  http::Repeatable repeatable = http::Repeatable::kByMethod;
  http::SensitiveBody sensitive_body = http::SensitiveBody::kNo;
  std::string secret_header;

  // The value of header `name` (compared without case), or std::nullopt.
  std::optional<std::string> Header(std::string_view name) const;
  // How many times header `name` was set.
  size_t HeaderCount(std::string_view name) const;
  // The body parsed as JSON; a discarded value when it is not JSON.
  nlohmann::json JsonBody() const;
};

// One scripted answer. The fake routes it the way CurlTransport does: the
// body into Response::secret_body when the request said the answer is
// sensitive, and the header the request named secret into
// Response::secret_header.
struct ScriptedAnswer {
  int status = 200;
  std::map<std::string, std::string> headers;  // any case; stored lower case
  std::string body;
  // When set, no answer came: Send() fails with this status instead.
  std::optional<Status> failure;
};

// A JSON answer with `status`, a Content-Type and a request id header.
ScriptedAnswer JsonAnswer(int status,
                          const nlohmann::json& body,
                          std::string request_id = "");

// Keystone's 201 answer to a token request: X-Subject-Token `token`, a user,
// a project, and `catalog` (the JSON array Keystone sends).
ScriptedAnswer KeystoneTokenAnswer(
    std::string token,
    std::string issued_at,
    std::string expires_at,
    nlohmann::json catalog = nlohmann::json::array());

class FakeTransport : public http::Transport {
 public:
  // Queues `answer` for the next request whose URL has no answer of its own.
  void Enqueue(ScriptedAnswer answer);
  // Queues `answer` for the next request to exactly `url`; such answers are
  // used before the general queue.
  void EnqueueFor(std::string url, ScriptedAnswer answer);

  // Records `request` and returns the next scripted answer. A request with
  // no scripted answer is a test failure (reported through GoogleTest) and
  // gets kInternal.
  [[nodiscard]] Result<http::Response> Send(
      const http::Request& request) override;

  const std::vector<RecordedRequest>& Requests() const { return requests_; }
  // Scripted answers not yet given.
  size_t Pending() const;

 private:
  std::deque<ScriptedAnswer> queue_;
  std::map<std::string, std::deque<ScriptedAnswer>> by_url_;
  std::vector<RecordedRequest> requests_;
};

class FakeClock : public Clock {
 public:
  explicit FakeClock(TimePoint start) : now_(start) {}

  TimePoint Now() const override { return now_; }
  // Advances the clock by `duration` at once and records the sleep.
  void SleepFor(std::chrono::milliseconds duration) override;

  // Moves time forward without recording a sleep.
  void Advance(std::chrono::system_clock::duration duration) {
    now_ += duration;
  }
  const std::vector<std::chrono::milliseconds>& Sleeps() const {
    return sleeps_;
  }

 private:
  TimePoint now_;
  std::vector<std::chrono::milliseconds> sleeps_;
};

}  // namespace siq::test
