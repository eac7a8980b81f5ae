// Session: a Keystone v3 token and the service catalog that came with it,
// and the one way the service clients send authenticated requests.
//
// The token lives in SecretBytes, in memory only. It is renewed from the
// credentials (never from the old token) shortly before it expires, and once
// more when a service answers 401; the rejected request is then sent again
// only if it is safe to repeat.
//
// A Session holds a reference to its transport and clock, which must outlive
// it. A Session is not safe to share between threads, but its token is: the
// SharedToken below lets many sessions (one per thread, each with its own
// transport) use one token, authenticated once and renewed once for all.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "core/base/clock.h"
#include "core/base/secret.h"
#include "core/base/status.h"
#include "core/keystone/auth_config.h"
#include "core/transport/http.h"

namespace siq::keystone {

struct Endpoint {
  std::string interface;
  std::string region;
  std::string url;
};

struct CatalogEntry {
  std::string type;
  std::string name;
  std::vector<Endpoint> endpoints;
};

// What Keystone said about the token; nothing secret.
struct TokenInfo {
  std::string user_id;
  std::string user_name;
  std::string project_id;
  std::string project_name;
  std::string domain_id;  // for a domain-scoped token
  std::vector<std::string> roles;
  TimePoint issued_at;
  TimePoint expires_at;
  std::vector<CatalogEntry> catalog;
};

// One Keystone token and what came with it, shared by every session made
// from it. Safe to share between threads: the token is read and replaced
// under a mutex, and a thread that finds it missing or about to expire
// authenticates while holding the mutex, so the others wait for that one
// token instead of asking for their own. Callers keep the token they were
// given alive (shared_ptr) for as long as their request is in flight.
class SharedToken {
 public:
  using Token = std::shared_ptr<const SecretBytes>;

  explicit SharedToken(AuthConfig config, Clock& clock = DefaultClock());

  // Asks Keystone for a new token through `transport`, whatever the current
  // one. Fails with kUnauthenticated when Keystone refuses the credentials,
  // naming the Keystone URL, status and message.
  [[nodiscard]] Status Authenticate(http::Transport& transport);
  // The current token, authenticating first when there is none or it is
  // about to expire.
  [[nodiscard]] Result<Token> Fresh(http::Transport& transport);
  // A service refused `refused` (HTTP 401): authenticates again, unless
  // another thread has already replaced that token, and returns the token
  // to use now.
  [[nodiscard]] Result<Token> Renew(http::Transport& transport,
                                    const Token& refused);

  // A copy: another thread may renew the token meanwhile.
  TokenInfo info() const;
  // Set at construction, never changed.
  const AuthConfig& config() const { return config_; }

 private:
  [[nodiscard]] Status AuthenticateLocked(http::Transport& transport);
  bool IsFreshLocked() const;

  const AuthConfig config_;
  Clock& clock_;
  mutable std::mutex mutex_;
  Token token_;
  TokenInfo info_;
};

class Session {
 public:
  // A session with a token of its own.
  Session(http::Transport& transport,
          AuthConfig config,
          Clock& clock = DefaultClock());
  // A session that sends through `transport` with the token it shares with
  // other sessions.
  Session(http::Transport& transport, std::shared_ptr<SharedToken> token);

  // Gets a token now. Fails with kUnauthenticated when Keystone refuses the
  // credentials, naming the Keystone URL, status and message.
  [[nodiscard]] Status Authenticate();
  // Authenticates only when there is no token or it is about to expire.
  [[nodiscard]] Status EnsureAuthenticated();

  // The URL of `service_type` for the configured interface and region, from
  // the catalog (or the configured override for key-manager). Authenticates
  // first if needed.
  [[nodiscard]] Result<std::string> EndpointFor(std::string_view service_type);

  // Sends `request` with the token, renewing it first when it is about to
  // expire. Returns the answer for any HTTP status.
  [[nodiscard]] Result<http::Response> Send(http::Request request);

  // REQUIRES: a successful Authenticate() or Send().
  TokenInfo token_info() const { return token_->info(); }
  const AuthConfig& config() const { return token_->config(); }
  http::Transport& transport() { return transport_; }
  const std::shared_ptr<SharedToken>& shared_token() const { return token_; }

 private:
  http::Transport& transport_;
  std::shared_ptr<SharedToken> token_;
};

// The endpoint for `service_type`, `interface` and `region` (any region when
// empty) in `catalog`; kNotFound naming what was asked for otherwise.
Result<std::string> FindEndpoint(const std::vector<CatalogEntry>& catalog,
                                 std::string_view service_type,
                                 std::string_view interface,
                                 std::string_view region);

// Parses Keystone's ISO 8601 times ("2026-12-03T13:00:00.000000Z").
Result<TimePoint> ParseKeystoneTime(std::string_view text);

// The body of a token request for `config`, with the secret spliced in.
SecretBytes TokenRequestBody(const AuthConfig& config);

}  // namespace siq::keystone
