// Readers: the Keystone identity of each VPS, the one user on the read ACL
// of that VPS's secrets and container.
//
// `--reader-user` names an existing user; `--create-reader` makes one in the
// readers' domain (a user whose only role lets it scope a token to the
// readers' project) and an application credential for it, which is the only
// thing the VPS needs to fetch its secrets. The user's password is random
// and forgotten as soon as the credential exists.
//
// Uses a token scoped to the readers' domain, made from the caller's
// credentials. Safe to share between threads: the calls queue on a mutex,
// because they share the one transport given at construction and the
// domain-scoped token.
#pragma once

#include <memory>
#include <mutex>
#include <string>

#include "core/base/secret.h"
#include "core/base/status.h"
#include "core/config/config.h"
#include "core/keystone/auth_config.h"
#include "core/keystone/identity.h"
#include "core/keystone/session.h"
#include "core/transport/http.h"

namespace siq::provision {

struct NewReader {
  std::string user_id;
  std::string user_name;
  keystone::ApplicationCredential credential;
};

class Readers {
 public:
  // `transport` must outlive this object; `caller` is cloned.
  Readers(http::Transport& transport,
          const keystone::AuthConfig& caller,
          config::ReaderSettings settings);

  // The user id for `id_or_name`, a user of the readers' domain: a 32-digit
  // hex id is checked, a name looked up. kInvalidArgument when there is no
  // such user there.
  [[nodiscard]] Result<std::string> Resolve(const std::string& id_or_name);

  // The user name siq gives the reader of `vps`.
  static std::string UserName(std::string_view vps);

  // Creates the reader of `vps` and its application credential. A user of
  // that name left by an earlier, interrupted run is deleted first: its
  // credential was never handed over, so nothing can use it.
  [[nodiscard]] Result<NewReader> Create(std::string_view vps);

  // Deletes a reader user; a user already gone is not an error.
  [[nodiscard]] Status Delete(const std::string& user_id);

  // The application credential as a clouds.yaml document with one cloud,
  // "siq-reader", for the VPS to use with `siq run`.
  SecretBytes CloudsYaml(const NewReader& reader) const;

 private:
  [[nodiscard]] Status EnsureIds();

  http::Transport& transport_;
  keystone::AuthConfig caller_;
  config::ReaderSettings settings_;
  std::unique_ptr<keystone::Session> manager_;
  std::string domain_id_;
  std::string project_id_;
  std::string role_id_;
  std::mutex mutex_;
};

// Writes `bytes` to file descriptor `fd` and closes it.
[[nodiscard]] Status WriteToFd(int fd, const SecretBytes& bytes);

}  // namespace siq::provision
