// CurlTransport: the real HTTP transport, on libcurl.
//
// One object keeps one libcurl handle, so consecutive requests reuse the
// connection. TLS peers are always verified for https; `ca_bundle` names a
// CA file to trust instead of the system store, and there is no way to turn
// verification off. Each exchange logs one debug line on the "http" logger:
// method, path, status and elapsed time; never a header value or a body.
//
// Not safe to share between threads: give each thread its own transport.
#pragma once

#include <chrono>
#include <memory>
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

class CurlTransport : public Transport {
 public:
  // `clock` sleeps between retries; it must outlive the transport.
  explicit CurlTransport(TransportOptions options,
                         Clock& clock = DefaultClock());
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
  std::mt19937_64 rng_;
};

}  // namespace siq::http
