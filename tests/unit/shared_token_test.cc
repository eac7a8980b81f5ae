// SharedToken: many threads, each with its own Session and transport, on one
// Keystone token — authenticated once, and renewed once when a service
// refuses it.

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "core/keystone/session.h"
#include "tests/unit/fake_transport.h"

namespace siq::keystone {
namespace {

using std::chrono::hours;
using test::FakeClock;
using test::FakeTransport;
using test::KeystoneTokenAnswer;

constexpr char kAuthUrl[] = "https://keystone.example:5000/v3";
constexpr char kTokenUrl[] = "https://keystone.example:5000/v3/auth/tokens";
constexpr char kSecretsUrl[] = "https://barbican.example:9311/v1/secrets";
constexpr int kThreads = 8;
constexpr int kRequestsPerThread = 25;

TimePoint Noon() {
  return std::chrono::sys_days{std::chrono::year{2026} / 12 / 3} + hours{12};
}

AuthConfig Config() {
  AuthConfig config;
  config.auth_url = kAuthUrl;
  config.username = "deployer";
  config.user_domain_name = "Default";
  config.password = SecretBytes("pw");
  config.project_name = "siq";
  config.project_domain_name = "Default";
  return config;
}

// FakeTransport behind a mutex, so that threads may share it. Keystone's
// answers come from the fake's script; the service answers 200 to the token
// the test calls valid and 401 to any other, as Barbican would.
class ServiceTransport : public http::Transport {
 public:
  Result<http::Response> Send(const http::Request& request) override {
    std::lock_guard lock(mutex_);
    if (request.url == kTokenUrl) {
      return fake_.Send(request);
    }
    http::Response response;
    response.status =
        request.token != nullptr && request.token->Reveal() == valid_token_
            ? 200
            : 401;
    return response;
  }

  // Keystone's next token, issued at `issued` ("hh:mm") and valid for an
  // hour.
  void AnswerTokenRequestWith(std::string token, std::string issued = "12:00") {
    std::lock_guard lock(mutex_);
    std::string expires = fmt::format(
        "{:02}{}", std::stoi(issued.substr(0, 2)) + 1, issued.substr(2));
    fake_.EnqueueFor(
        kTokenUrl,
        KeystoneTokenAnswer(std::move(token), "2026-12-03T" + issued + ":00Z",
                            "2026-12-03T" + expires + ":00Z"));
  }
  void AcceptOnly(std::string token) {
    std::lock_guard lock(mutex_);
    valid_token_ = std::move(token);
  }
  size_t TokenRequests() {
    std::lock_guard lock(mutex_);
    return fake_.Requests().size();
  }

 private:
  std::mutex mutex_;
  FakeTransport fake_;
  std::string valid_token_;
};

// Sends kRequestsPerThread GETs from each of kThreads threads, each thread
// with its own Session on `token`; returns how many answers were 200.
int SendFromManyThreads(ServiceTransport& transport,
                        const std::shared_ptr<SharedToken>& token) {
  std::atomic<int> succeeded{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      Session session(transport, token);
      for (int i = 0; i < kRequestsPerThread; ++i) {
        http::Request request;
        request.url = kSecretsUrl;
        auto response = session.Send(std::move(request));
        if (response.ok() && response->status == 200) {
          ++succeeded;
        }
      }
    });
  }
  for (std::thread& thread : threads) {
    thread.join();
  }
  return succeeded.load();
}

TEST(SharedTokenTest, ManyThreadsAuthenticateOnce) {
  FakeClock clock(Noon());
  ServiceTransport transport;
  transport.AnswerTokenRequestWith("token-a");
  transport.AcceptOnly("token-a");
  auto token = std::make_shared<SharedToken>(Config(), clock);

  int succeeded = SendFromManyThreads(transport, token);

  EXPECT_EQ(succeeded, kThreads * kRequestsPerThread);
  EXPECT_EQ(transport.TokenRequests(), 1u);
  EXPECT_EQ(token->info().user_id, "u-deployer");
}

TEST(SharedTokenTest, RefusedTokenIsRenewedOnceForAllThreads) {
  FakeClock clock(Noon());
  ServiceTransport transport;
  transport.AnswerTokenRequestWith("token-a");
  transport.AcceptOnly("token-a");
  auto token = std::make_shared<SharedToken>(Config(), clock);
  ASSERT_EQ(SendFromManyThreads(transport, token),
            kThreads * kRequestsPerThread);
  transport.AnswerTokenRequestWith("token-b");
  transport.AcceptOnly("token-b");  // token-a was revoked

  int succeeded = SendFromManyThreads(transport, token);

  EXPECT_EQ(succeeded, kThreads * kRequestsPerThread);
  EXPECT_EQ(transport.TokenRequests(), 2u);
}

TEST(SharedTokenTest, ExpiringTokenIsRenewedOnceForAllThreads) {
  FakeClock clock(Noon());
  ServiceTransport transport;
  transport.AnswerTokenRequestWith("token-a");
  transport.AcceptOnly("token-a");
  auto token = std::make_shared<SharedToken>(Config(), clock);
  ASSERT_EQ(SendFromManyThreads(transport, token),
            kThreads * kRequestsPerThread);
  transport.AnswerTokenRequestWith("token-b", "12:59");
  transport.AcceptOnly("token-b");
  clock.Advance(std::chrono::minutes(59));  // within the renewal margin

  int succeeded = SendFromManyThreads(transport, token);

  EXPECT_EQ(succeeded, kThreads * kRequestsPerThread);
  EXPECT_EQ(transport.TokenRequests(), 2u);
}

TEST(SharedTokenTest, SessionsOnOneTokenSeeTheSameTokenInfo) {
  FakeClock clock(Noon());
  ServiceTransport transport;
  transport.AnswerTokenRequestWith("token-a");
  auto token = std::make_shared<SharedToken>(Config(), clock);
  Session first(transport, token);
  Session second(transport, token);

  ASSERT_TRUE(first.EnsureAuthenticated().ok());
  ASSERT_TRUE(second.EnsureAuthenticated().ok());

  EXPECT_EQ(transport.TokenRequests(), 1u);
  EXPECT_EQ(first.token_info().user_id, second.token_info().user_id);
  EXPECT_EQ(first.token_info().expires_at, second.token_info().expires_at);
}

}  // namespace
}  // namespace siq::keystone
