// KeyManager: the Barbican calls a rotation makes, behind a narrow interface
// so that unit tests walk rotations against an in-memory fake and the
// integration tests against the real server. ClientKeyManager forwards each
// call to a barbican::Client unchanged.
//
// Every call is a network call in ClientKeyManager; errors are the client's
// (operation, resource, HTTP status, request id, Barbican's description).
// Not safe to share between threads (the client is not).
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "core/barbican/client.h"
#include "core/barbican/types.h"
#include "core/base/status.h"

namespace siq::rotate {

class KeyManager {
 public:
  virtual ~KeyManager() = default;

  [[nodiscard]] virtual Result<barbican::OrderRef> CreateKeyOrder(
      const barbican::KeyOrderSpec& spec) = 0;
  [[nodiscard]] virtual Result<barbican::Order> GetOrder(
      const barbican::OrderRef& ref) = 0;
  // Polls until ACTIVE (returned), ERROR (kServerError) or a deadline.
  [[nodiscard]] virtual Result<barbican::Order> WaitForOrder(
      const barbican::OrderRef& ref) = 0;
  // Secrets named exactly `name`, oldest first.
  [[nodiscard]] virtual Result<std::vector<barbican::SecretMeta>>
  FindSecretsNamed(const std::string& name) = 0;
  [[nodiscard]] virtual Status SetSecretAcl(const barbican::SecretRef& ref,
                                            const barbican::Acl& acl) = 0;
  [[nodiscard]] virtual Status DeleteSecret(const barbican::SecretRef& ref) = 0;
  [[nodiscard]] virtual Result<barbican::Container> GetContainer(
      const barbican::ContainerRef& ref) = 0;
  [[nodiscard]] virtual Status AddContainerSecret(
      const barbican::ContainerRef& ref,
      const barbican::ContainerEntry& entry) = 0;
  [[nodiscard]] virtual Status RemoveContainerSecret(
      const barbican::ContainerRef& ref,
      const barbican::ContainerEntry& entry) = 0;
  [[nodiscard]] virtual Result<std::vector<barbican::Consumer>>
  ListSecretConsumers(const barbican::SecretRef& ref) = 0;
};

// The real one. Holds a reference to `client`, which must outlive it.
class ClientKeyManager : public KeyManager {
 public:
  // Orders not ACTIVE within `order_deadline` fail with kDeadlineExceeded.
  explicit ClientKeyManager(
      barbican::Client& client,
      std::chrono::milliseconds order_deadline = std::chrono::seconds(60));

  Result<barbican::OrderRef> CreateKeyOrder(
      const barbican::KeyOrderSpec& spec) override;
  Result<barbican::Order> GetOrder(const barbican::OrderRef& ref) override;
  Result<barbican::Order> WaitForOrder(const barbican::OrderRef& ref) override;
  Result<std::vector<barbican::SecretMeta>> FindSecretsNamed(
      const std::string& name) override;
  Status SetSecretAcl(const barbican::SecretRef& ref,
                      const barbican::Acl& acl) override;
  Status DeleteSecret(const barbican::SecretRef& ref) override;
  Result<barbican::Container> GetContainer(
      const barbican::ContainerRef& ref) override;
  Status AddContainerSecret(const barbican::ContainerRef& ref,
                            const barbican::ContainerEntry& entry) override;
  Status RemoveContainerSecret(const barbican::ContainerRef& ref,
                               const barbican::ContainerEntry& entry) override;
  Result<std::vector<barbican::Consumer>> ListSecretConsumers(
      const barbican::SecretRef& ref) override;

 private:
  barbican::Client& client_;
  std::chrono::milliseconds order_deadline_;
};

}  // namespace siq::rotate
