// Connection: a transport, a Keystone session and a Barbican client wired
// together, the way every command that talks to Barbican needs them. Owns all
// three; movable, not copyable, not safe to share between threads.
//
// ConnectionShare is what the connections of many threads have in common:
// one Keystone token (authenticated once, renewed once for all) and one pool
// of HTTP connections. It is safe to share between threads; each thread asks
// it for a Connection of its own.
#pragma once

#include <functional>
#include <memory>

#include "core/barbican/client.h"
#include "core/base/status.h"
#include "core/keystone/auth_config.h"
#include "core/keystone/session.h"
#include "core/transport/curl_transport.h"

namespace siq::barbican {

class Connection {
 public:
  // Builds the parts; makes no request until the first call.
  Connection(keystone::AuthConfig config, http::TransportOptions options);
  // A connection sending through `transport` with a shared token.
  Connection(std::unique_ptr<http::CurlTransport> transport,
             std::shared_ptr<keystone::SharedToken> token);

  keystone::Session& session() { return *session_; }
  Client& barbican() { return *client_; }

  // Puts `guard` in front of every Barbican request of the client (see
  // guard.h), replacing any earlier one; nullptr removes it.
  void set_guard(std::unique_ptr<Guard> guard);

 private:
  std::unique_ptr<http::CurlTransport> transport_;
  std::unique_ptr<keystone::Session> session_;
  std::unique_ptr<Client> client_;
  std::unique_ptr<Guard> guard_;
};

class ConnectionShare {
 public:
  // Makes no request until Authenticate() or a connection's first call.
  ConnectionShare(keystone::AuthConfig config, http::TransportOptions options);

  // Gets the shared token now, so that a refused credential stops a run
  // before any work starts. Errors as keystone::SharedToken::Authenticate.
  [[nodiscard]] Status Authenticate();

  // Makes the guard each new connection gets (Connection::set_guard).
  // Called by Connect(), on the calling thread.
  using GuardMaker = std::function<std::unique_ptr<Guard>()>;
  void set_guard_maker(GuardMaker maker) { guard_maker_ = std::move(maker); }

  // A connection for the calling thread, on the shared token and pool,
  // guarded as set_guard_maker says.
  std::unique_ptr<Connection> Connect() const;
  // A bare transport on the shared pool, for calls made with another token.
  std::unique_ptr<http::CurlTransport> NewTransport() const;

  const keystone::AuthConfig& config() const { return token_->config(); }

 private:
  http::TransportOptions options_;
  std::shared_ptr<http::ConnectionPool> pool_;
  std::shared_ptr<keystone::SharedToken> token_;
  GuardMaker guard_maker_;
};

}  // namespace siq::barbican
