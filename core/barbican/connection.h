// Connection: a transport, a Keystone session and a Barbican client wired
// together, the way every command that talks to Barbican needs them. Owns all
// three; movable, not copyable, not safe to share between threads.
//
// ConnectionShare is what the connections of many threads have in common:
// one Keystone token (authenticated once, renewed once for all) and one pool
// of HTTP connections. It is safe to share between threads; each thread asks
// it for a Connection of its own.
#pragma once

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

 private:
  std::unique_ptr<http::CurlTransport> transport_;
  std::unique_ptr<keystone::Session> session_;
  std::unique_ptr<Client> client_;
};

class ConnectionShare {
 public:
  // Makes no request until Authenticate() or a connection's first call.
  ConnectionShare(keystone::AuthConfig config, http::TransportOptions options);

  // Gets the shared token now, so that a refused credential stops a run
  // before any work starts. Errors as keystone::SharedToken::Authenticate.
  [[nodiscard]] Status Authenticate();

  // A connection for the calling thread, on the shared token and pool.
  std::unique_ptr<Connection> Connect() const;
  // A bare transport on the shared pool, for calls made with another token.
  std::unique_ptr<http::CurlTransport> NewTransport() const;

  const keystone::AuthConfig& config() const { return token_->config(); }

 private:
  http::TransportOptions options_;
  std::shared_ptr<http::ConnectionPool> pool_;
  std::shared_ptr<keystone::SharedToken> token_;
};

}  // namespace siq::barbican
