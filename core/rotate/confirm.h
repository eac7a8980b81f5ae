// Confirmer: whether a VPS has loaded a rotated secret, the way the config
// says to ask (config::Confirmation):
//  - consumer: the VPS's consumer entry (service siq-run, resource type vps,
//    resource id the VPS id, as `siq run --watch` registers it) is on the
//    secret in Barbican's consumer registry;
//  - http: a GET of the URL ("{vps}" and "{kind}" replaced) answers 2xx with
//    a body that holds the secret's fingerprint (run::Fingerprint: derived
//    from the secret ref, never from the value);
//  - command: `/bin/sh -c COMMAND siq-confirm VPS KIND FINGERPRINT REF`
//    exits 0 within a minute; its output goes to siq's stderr;
//  - wait: the given time has passed since the container got the secret.
// A VPS that cannot be reached (http) has not confirmed yet; only failures
// of siq's own calls (Barbican, starting the command) are errors.
//
// Holds references to its parts, which must outlive it. Not safe to share
// between threads.
#pragma once

#include <string>

#include "core/barbican/types.h"
#include "core/base/clock.h"
#include "core/base/status.h"
#include "core/config/config.h"
#include "core/rotate/key_manager.h"
#include "core/transport/http.h"

namespace siq::rotate {

struct ConfirmQuestion {
  std::string vps;
  std::string kind;
  barbican::SecretRef secret;
  TimePoint told_at;  // when the container got the secret
};

class Confirmer {
 public:
  virtual ~Confirmer() = default;
  // True when the VPS confirmed; false when not yet.
  [[nodiscard]] virtual Result<bool> Confirmed(
      const config::Confirmation& how,
      const ConfirmQuestion& question) = 0;
};

class SystemConfirmer : public Confirmer {
 public:
  SystemConfirmer(KeyManager& keys, http::Transport& transport, Clock& clock);

  Result<bool> Confirmed(const config::Confirmation& how,
                         const ConfirmQuestion& question) override;

 private:
  Result<bool> ByConsumer(const ConfirmQuestion& question);
  Result<bool> ByHttp(const std::string& url, const ConfirmQuestion& question);
  Result<bool> ByCommand(const std::string& command,
                         const ConfirmQuestion& question);

  KeyManager& keys_;
  http::Transport& transport_;
  Clock& clock_;
};

// The consumer entry `siq run --watch` registers for `vps`.
barbican::Consumer VpsConsumer(const std::string& vps);

}  // namespace siq::rotate
