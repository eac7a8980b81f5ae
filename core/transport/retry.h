// When to send a request again, and how long to wait first. Pure functions,
// so that the decisions are tested without a network.
#pragma once

#include <chrono>
#include <optional>
#include <random>

#include "core/transport/http.h"

namespace siq::http {

struct RetryPolicy {
  int max_attempts = 4;
  std::chrono::milliseconds initial_delay{200};
  std::chrono::milliseconds max_delay{5000};
};

// How an attempt went, from the point of view of retrying it.
enum class Outcome {
  kAnswered,      // the server sent an HTTP answer
  kNotConnected,  // no connection was made: the request never left
  kInterrupted,   // the connection broke or timed out after sending
};

// Whether a request may be sent twice: kByMethod makes GET, HEAD, PUT and
// DELETE repeatable and POST and PATCH not.
bool IsRepeatable(Method method, Repeatable repeatable);

// True when the request should be sent again after `attempts` tries.
// A request that never left is always safe to resend; one that may have
// reached the server is resent only when repeatable, and an answer only on
// 429 or 503.
bool ShouldRetry(const RetryPolicy& policy,
                 Method method,
                 Repeatable repeatable,
                 int attempts,
                 Outcome outcome,
                 int http_status);

// The wait before attempt `attempts + 1`: exponential from initial_delay,
// capped at max_delay, with equal jitter (half fixed, half random) so that
// many clients do not retry in step. A server's Retry-After is honoured up
// to max_delay.
std::chrono::milliseconds BackoffDelay(
    const RetryPolicy& policy,
    int attempts,
    std::optional<std::chrono::seconds> retry_after,
    std::mt19937_64& rng);

// Retry-After in seconds from an answer, when present and numeric.
std::optional<std::chrono::seconds> RetryAfter(const Response& response);

}  // namespace siq::http
