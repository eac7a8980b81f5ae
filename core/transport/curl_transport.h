// CurlTransport: the real HTTP transport, on libcurl.
//
// One object keeps one libcurl handle, so consecutive requests reuse the
// connection. TLS peers are always verified for https; `ca_bundle` names a
// CA file to trust instead of the system store, and there is no way to turn
// verification off. Each exchange logs one debug line on the "http" logger:
// method, path, status and elapsed time; never a header value or a body.
//
// A CurlTransport is not safe to share between threads: give each thread its
// own transport. Transports made with the same ConnectionPool share one cache
// of connections, DNS answers and TLS sessions, so that many threads talking
// to one server keep a few connections alive between them instead of opening
// their own.
#pragma once

#include <array>
#include <chrono>
#include <memory>
#include <mutex>
#include <random>
#include <string>

#include "core/base/clock.h"
#include "core/transport/http.h"
#include "core/transport/retry.h"

namespace siq::http {

struct TransportOptions {
  std::chrono::milliseconds connect_timeout{10000};
  // The whole exchange, connection included.
  std::chrono::milliseconds timeout{60000};
  std::string ca_bundle;
  RetryPolicy retry;
  std::string user_agent = "siq";
};

// The connections, DNS cache and TLS sessions that several CurlTransports
// share (a libcurl share handle). Safe to share between threads: libcurl
// takes the pool's locks around every use. Keep it alive (shared_ptr) for as
// long as any transport made with it.
class ConnectionPool {
 public:
  ConnectionPool();
  ~ConnectionPool();
  ConnectionPool(const ConnectionPool&) = delete;
  ConnectionPool& operator=(const ConnectionPool&) = delete;

  void* handle() const { return share_; }  // CURLSH*

 private:
  void* share_;  // CURLSH*
  // One lock per kind of shared data (curl_lock_data has fewer than 16).
  std::array<std::mutex, 16> locks_;
};

class CurlTransport : public Transport {
 public:
  // `clock` sleeps between retries; it must outlive the transport. With a
  // `pool`, connections come from and go back to it.
  explicit CurlTransport(TransportOptions options,
                         Clock& clock = DefaultClock(),
                         std::shared_ptr<ConnectionPool> pool = nullptr);
  ~CurlTransport() override;
  CurlTransport(const CurlTransport&) = delete;
  CurlTransport& operator=(const CurlTransport&) = delete;

  [[nodiscard]] Result<Response> Send(const Request& request) override;

 private:
  struct Attempt;
  Attempt SendOnce(const Request& request);

  TransportOptions options_;
  Clock& clock_;
  void* curl_;  // CURL*, kept opaque so that users need not include curl.h
  std::shared_ptr<ConnectionPool> pool_;
  std::mt19937_64 rng_;
};

}  // namespace siq::http
