#include "core/transport/retry.h"

#include <chrono>
#include <optional>
#include <random>

#include <gtest/gtest.h>

#include "core/transport/http.h"

namespace siq::http {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr RetryPolicy kPolicy{.max_attempts = 4,
                              .initial_delay = milliseconds(200),
                              .max_delay = milliseconds(5000)};

// The smallest and largest of many BackoffDelay draws, to see the whole range
// the jitter covers.
struct DelayRange {
  milliseconds min = milliseconds::max();
  milliseconds max = milliseconds::min();
};

DelayRange DrawDelays(const RetryPolicy& policy, int attempts) {
  std::mt19937_64 rng(20261203);
  DelayRange range;
  for (int i = 0; i < 5000; ++i) {
    milliseconds delay = BackoffDelay(policy, attempts, std::nullopt, rng);
    range.min = std::min(range.min, delay);
    range.max = std::max(range.max, delay);
  }
  return range;
}

TEST(ShouldRetryTest, ResendsPostThatNeverLeft) {
  bool retry = ShouldRetry(kPolicy, Method::kPost, Repeatable::kByMethod,
                           /*attempts=*/1, Outcome::kNotConnected,
                           /*http_status=*/0);

  EXPECT_TRUE(retry);
}

TEST(ShouldRetryTest, ResendsRequestMarkedUnrepeatableThatNeverLeft) {
  bool retry = ShouldRetry(kPolicy, Method::kGet, Repeatable::kNo, 1,
                           Outcome::kNotConnected, 0);

  EXPECT_TRUE(retry);
}

TEST(ShouldRetryTest, DoesNotResendInterruptedPost) {
  bool retry = ShouldRetry(kPolicy, Method::kPost, Repeatable::kByMethod, 1,
                           Outcome::kInterrupted, 0);

  EXPECT_FALSE(retry);
}

TEST(ShouldRetryTest, DoesNotResendInterruptedPatch) {
  bool retry = ShouldRetry(kPolicy, Method::kPatch, Repeatable::kByMethod, 1,
                           Outcome::kInterrupted, 0);

  EXPECT_FALSE(retry);
}

TEST(ShouldRetryTest, ResendsInterruptedGetPutAndDelete) {
  for (Method method : {Method::kGet, Method::kPut, Method::kDelete}) {
    bool retry = ShouldRetry(kPolicy, method, Repeatable::kByMethod, 1,
                             Outcome::kInterrupted, 0);

    EXPECT_TRUE(retry) << MethodName(method);
  }
}

TEST(ShouldRetryTest, ResendsInterruptedPostMarkedRepeatable) {
  bool retry = ShouldRetry(kPolicy, Method::kPost, Repeatable::kYes, 1,
                           Outcome::kInterrupted, 0);

  EXPECT_TRUE(retry);
}

TEST(ShouldRetryTest, RetriesTooManyRequestsAndUnavailableForGet) {
  for (int status : {429, 503}) {
    bool retry = ShouldRetry(kPolicy, Method::kGet, Repeatable::kByMethod, 1,
                             Outcome::kAnswered, status);

    EXPECT_TRUE(retry) << status;
  }
}

TEST(ShouldRetryTest, DoesNotRetryTooManyRequestsOrUnavailableForPost) {
  for (int status : {429, 503}) {
    bool retry = ShouldRetry(kPolicy, Method::kPost, Repeatable::kByMethod, 1,
                             Outcome::kAnswered, status);

    EXPECT_FALSE(retry) << status;
  }
}

TEST(ShouldRetryTest, RetriesUnavailableForPostMarkedRepeatable) {
  bool retry = ShouldRetry(kPolicy, Method::kPost, Repeatable::kYes, 1,
                           Outcome::kAnswered, 503);

  EXPECT_TRUE(retry);
}

TEST(ShouldRetryTest, DoesNotRetryUnavailableForGetMarkedUnrepeatable) {
  bool retry = ShouldRetry(kPolicy, Method::kGet, Repeatable::kNo, 1,
                           Outcome::kAnswered, 503);

  EXPECT_FALSE(retry);
}

TEST(ShouldRetryTest, NeverRetriesServerErrorNotFoundOrSuccess) {
  for (int status : {500, 404, 200}) {
    bool retry = ShouldRetry(kPolicy, Method::kGet, Repeatable::kYes, 1,
                             Outcome::kAnswered, status);

    EXPECT_FALSE(retry) << status;
  }
}

TEST(ShouldRetryTest, StopsAfterMaxAttempts) {
  RetryPolicy policy{.max_attempts = 3};

  bool after_two = ShouldRetry(policy, Method::kGet, Repeatable::kByMethod, 2,
                               Outcome::kNotConnected, 0);
  bool after_three = ShouldRetry(policy, Method::kGet, Repeatable::kByMethod, 3,
                                 Outcome::kNotConnected, 0);

  EXPECT_TRUE(after_two);
  EXPECT_FALSE(after_three);
}

TEST(ShouldRetryTest, SingleAttemptPolicyNeverRetries) {
  RetryPolicy policy{.max_attempts = 1};

  bool retry = ShouldRetry(policy, Method::kGet, Repeatable::kYes, 1,
                           Outcome::kAnswered, 503);

  EXPECT_FALSE(retry);
}

TEST(BackoffDelayTest, DoublesWithEachAttemptWithinHalfToFullBase) {
  RetryPolicy policy{.initial_delay = milliseconds(200),
                     .max_delay = milliseconds(100000)};

  for (int attempts = 1; attempts <= 5; ++attempts) {
    DelayRange range = DrawDelays(policy, attempts);

    milliseconds base(200 << (attempts - 1));
    EXPECT_EQ(range.min, base / 2) << "attempt " << attempts;
    EXPECT_EQ(range.max, base) << "attempt " << attempts;
  }
}

TEST(BackoffDelayTest, IsCappedAtMaxDelay) {
  RetryPolicy policy{.initial_delay = milliseconds(200),
                     .max_delay = milliseconds(1000)};

  DelayRange range = DrawDelays(policy, /*attempts=*/6);

  EXPECT_EQ(range.min, milliseconds(500));
  EXPECT_EQ(range.max, milliseconds(1000));
}

TEST(BackoffDelayTest, StaysCappedForHugeAttemptCounts) {
  RetryPolicy policy{.initial_delay = milliseconds(200),
                     .max_delay = milliseconds(1000)};

  DelayRange range = DrawDelays(policy, /*attempts=*/1000);

  EXPECT_EQ(range.min, milliseconds(500));
  EXPECT_EQ(range.max, milliseconds(1000));
}

TEST(BackoffDelayTest, WaitsAsLongAsRetryAfterSays) {
  std::mt19937_64 rng(1);

  milliseconds delay = BackoffDelay(kPolicy, 1, seconds(3), rng);

  EXPECT_EQ(delay, milliseconds(3000));
}

TEST(BackoffDelayTest, CapsRetryAfterAtMaxDelay) {
  std::mt19937_64 rng(1);

  milliseconds delay = BackoffDelay(kPolicy, 1, seconds(3600), rng);

  EXPECT_EQ(delay, milliseconds(5000));
}

TEST(BackoffDelayTest, KeepsOwnDelayWhenRetryAfterIsShorter) {
  RetryPolicy policy{.initial_delay = milliseconds(2000),
                     .max_delay = milliseconds(5000)};
  std::mt19937_64 rng_with(7);
  std::mt19937_64 rng_without(7);

  milliseconds with_header = BackoffDelay(policy, 2, seconds(1), rng_with);
  milliseconds without = BackoffDelay(policy, 2, std::nullopt, rng_without);

  EXPECT_EQ(with_header, without);
  EXPECT_GE(without, milliseconds(2000));
}

Response WithRetryAfter(std::string value) {
  Response response;
  response.status = 503;
  response.headers["retry-after"] = std::move(value);
  return response;
}

TEST(RetryAfterTest, ReadsSeconds) {
  std::optional<seconds> after = RetryAfter(WithRetryAfter("120"));

  ASSERT_TRUE(after.has_value());
  EXPECT_EQ(*after, seconds(120));
}

TEST(RetryAfterTest, ReadsZero) {
  std::optional<seconds> after = RetryAfter(WithRetryAfter("0"));

  ASSERT_TRUE(after.has_value());
  EXPECT_EQ(*after, seconds(0));
}

TEST(RetryAfterTest, IsAbsentWithoutHeader) {
  Response response;
  response.status = 429;

  EXPECT_EQ(RetryAfter(response), std::nullopt);
}

TEST(RetryAfterTest, IgnoresValuesThatAreNotWholeSeconds) {
  for (const char* value :
       {"soon", "", "-5", "12abc", "1.5", "Wed, 03 Dec 2026 13:00:00 GMT"}) {
    EXPECT_EQ(RetryAfter(WithRetryAfter(value)), std::nullopt)
        << "'" << value << "'";
  }
}

}  // namespace
}  // namespace siq::http
