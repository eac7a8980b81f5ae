// Identity: the few Keystone v3 identity calls siq makes to give each VPS a
// reader of its own: find users, projects, roles and domains by name, create
// and delete a user, grant a project role, and create an application
// credential.
//
// Calls go through a Session whose token must be allowed to make them (an
// admin's, or a reader manager's scoped to the readers' domain). Errors name
// the operation and carry Keystone's status, message and request id.
// Holds a reference to the session; not safe to share between threads.
#pragma once

#include <string>
#include <string_view>

#include "core/base/secret.h"
#include "core/base/status.h"
#include "core/keystone/session.h"

namespace siq::keystone {

struct ApplicationCredential {
  std::string id;
  std::string name;
  std::string project_id;
  SecretBytes secret;
};

class Identity {
 public:
  explicit Identity(Session& session);

  // The id of the named thing; kNotFound when there is none.
  [[nodiscard]] Result<std::string> FindDomainId(std::string_view name);
  [[nodiscard]] Result<std::string> FindProjectId(std::string_view name,
                                                  std::string_view domain_id);
  [[nodiscard]] Result<std::string> FindRoleId(std::string_view name);
  [[nodiscard]] Result<std::string> FindUserId(std::string_view name,
                                               std::string_view domain_id);
  // `user_id` itself when that user exists in `domain_id`; kNotFound when
  // it does not, or lives in another domain.
  [[nodiscard]] Result<std::string> CheckUserInDomain(
      std::string_view user_id,
      std::string_view domain_id);

  // Creates an enabled user and returns its id; kConflict if the name is
  // taken in that domain.
  [[nodiscard]] Result<std::string> CreateUser(std::string_view name,
                                               std::string_view domain_id,
                                               std::string_view project_id,
                                               const SecretBytes& password);
  [[nodiscard]] Status DeleteUser(std::string_view user_id);
  [[nodiscard]] Status GrantProjectRole(std::string_view project_id,
                                        std::string_view user_id,
                                        std::string_view role_id);

  // Creates an application credential for the session's own user, bound to
  // the session's project. The secret is read from the answer straight into
  // SecretBytes.
  [[nodiscard]] Result<ApplicationCredential> CreateApplicationCredential(
      std::string_view name,
      std::string_view description);
  // Deletes one of the session's own user's application credentials.
  [[nodiscard]] Status DeleteApplicationCredential(std::string_view id);

 private:
  [[nodiscard]] Result<std::string> FindId(std::string_view operation,
                                           std::string path,
                                           const char* collection);
  [[nodiscard]] Status Delete(std::string_view operation, std::string path);

  Session& session_;
};

// A random password of `bytes` random bytes, base64url-encoded, from
// OpenSSL's generator.
SecretBytes RandomPassword(size_t bytes = 32);

// The JSON string value of the first "key" in `body`, unescaped, read
// without copying the value into ordinary memory; kNotFound if absent.
Result<SecretBytes> ExtractSecretField(const SecretBytes& body,
                                       std::string_view key);

}  // namespace siq::keystone
