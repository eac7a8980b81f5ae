#include "core/barbican/connection.h"

#include <utility>

namespace siq::barbican {

Connection::Connection(keystone::AuthConfig config,
                       http::TransportOptions options) {
  if (options.ca_bundle.empty()) {
    options.ca_bundle = config.cacert;
  }
  transport_ = std::make_unique<http::CurlTransport>(std::move(options));
  session_ =
      std::make_unique<keystone::Session>(*transport_, std::move(config));
  client_ = std::make_unique<Client>(*session_);
}

void Connection::set_guard(std::unique_ptr<Guard> guard) {
  client_->set_guard(guard.get());
  guard_ = std::move(guard);
}

}  // namespace siq::barbican
