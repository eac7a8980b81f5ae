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

Connection::Connection(std::unique_ptr<http::CurlTransport> transport,
                       std::shared_ptr<keystone::SharedToken> token)
    : transport_(std::move(transport)) {
  session_ = std::make_unique<keystone::Session>(*transport_, std::move(token));
  client_ = std::make_unique<Client>(*session_);
}

ConnectionShare::ConnectionShare(keystone::AuthConfig config,
                                 http::TransportOptions options)
    : options_(std::move(options)),
      pool_(std::make_shared<http::ConnectionPool>()) {
  if (options_.ca_bundle.empty()) {
    options_.ca_bundle = config.cacert;
  }
  token_ = std::make_shared<keystone::SharedToken>(std::move(config));
}

Status ConnectionShare::Authenticate() {
  std::unique_ptr<http::CurlTransport> transport = NewTransport();
  return token_->Authenticate(*transport);
}

std::unique_ptr<Connection> ConnectionShare::Connect() const {
  auto connection = std::make_unique<Connection>(NewTransport(), token_);
  if (guard_maker_) {
    connection->set_guard(guard_maker_());
  }
  return connection;
}

std::unique_ptr<http::CurlTransport> ConnectionShare::NewTransport() const {
  return std::make_unique<http::CurlTransport>(options_, DefaultClock(), pool_);
}

}  // namespace siq::barbican
