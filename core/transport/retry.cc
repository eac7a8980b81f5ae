#include "core/transport/retry.h"

#include <algorithm>
#include <charconv>

namespace siq::http {

bool IsRepeatable(Method method, Repeatable repeatable) {
  switch (repeatable) {
    case Repeatable::kYes:
      return true;
    case Repeatable::kNo:
      return false;
    case Repeatable::kByMethod:
      return method != Method::kPost && method != Method::kPatch;
  }
  return false;
}

bool ShouldRetry(const RetryPolicy& policy,
                 Method method,
                 Repeatable repeatable,
                 int attempts,
                 Outcome outcome,
                 int http_status) {
  if (attempts >= policy.max_attempts) {
    return false;
  }
  switch (outcome) {
    case Outcome::kNotConnected:
      return true;
    case Outcome::kInterrupted:
      return IsRepeatable(method, repeatable);
    case Outcome::kAnswered:
      return (http_status == 429 || http_status == 503) &&
             IsRepeatable(method, repeatable);
  }
  return false;
}

std::chrono::milliseconds BackoffDelay(
    const RetryPolicy& policy,
    int attempts,
    std::optional<std::chrono::seconds> retry_after,
    std::mt19937_64& rng) {
  int doublings = std::clamp(attempts - 1, 0, 30);
  auto base = std::min(policy.initial_delay * (int64_t{1} << doublings),
                       policy.max_delay);
  std::uniform_int_distribution<int64_t> jitter(0, base.count() / 2);
  std::chrono::milliseconds delay(base.count() - base.count() / 2 +
                                  jitter(rng));
  if (retry_after) {
    delay = std::max<std::chrono::milliseconds>(delay, *retry_after);
  }
  return std::min(delay, policy.max_delay);
}

std::optional<std::chrono::seconds> RetryAfter(const Response& response) {
  auto it = response.headers.find("retry-after");
  if (it == response.headers.end()) {
    return std::nullopt;
  }
  const std::string& text = it->second;
  int64_t seconds = 0;
  auto [end, error] =
      std::from_chars(text.data(), text.data() + text.size(), seconds);
  if (error != std::errc() || end != text.data() + text.size() || seconds < 0) {
    return std::nullopt;
  }
  return std::chrono::seconds(seconds);
}

}  // namespace siq::http
