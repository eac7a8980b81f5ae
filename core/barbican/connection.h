// Connection: a transport, a Keystone session and a Barbican client wired
// together, the way every command that talks to Barbican needs them. Owns all
// three; movable, not copyable, not safe to share between threads.
#pragma once

#include <memory>

#include "core/barbican/client.h"
#include "core/keystone/auth_config.h"
#include "core/keystone/session.h"
#include "core/transport/curl_transport.h"

namespace siq::barbican {

class Connection {
 public:
  // Builds the parts; makes no request until the first call.
  Connection(keystone::AuthConfig config, http::TransportOptions options);

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

}  // namespace siq::barbican
