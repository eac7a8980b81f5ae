// Client: the parts of Barbican's v1 API that siq uses.
//
// Every call goes through a keystone::Session (token, renewal, retries).
// Errors name the operation and the resource and carry the HTTP status, the
// request id and Barbican's description; never a payload. Payloads travel
// only as SecretBytes.
//
// With a Guard set (set_guard), every request is first put to it in the
// policies' words (see guard.h for how each call maps); a denied request is
// not sent and the call fails with the Guard's kPermissionDenied status.
//
// The client holds a reference to the session, which must outlive it. Not
// safe to share between threads (the session is not).
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "core/barbican/guard.h"
#include "core/barbican/types.h"
#include "core/base/clock.h"
#include "core/base/secret.h"
#include "core/base/status.h"
#include "core/keystone/session.h"

namespace siq::barbican {

class Client {
 public:
  // `clock` paces WaitForOrder's polls; it must outlive the client.
  explicit Client(keystone::Session& session, Clock& clock = DefaultClock());

  // Every later request is put to `guard` first; nullptr for none (the
  // default). The guard must outlive the client.
  void set_guard(Guard* guard) { guard_ = guard; }
  // Tells the guard the name of an object the caller knows from its own
  // records (a deployment record names every secret and container), so that
  // requests by ref are decided on it. No request.
  void NoteName(std::string_view id, const std::string& name) {
    Remember(id, name);
  }

  // Secrets.
  [[nodiscard]] Result<SecretRef> CreateSecret(const SecretSpec& spec,
                                               const SecretBytes& payload);
  [[nodiscard]] Result<SecretMeta> GetSecret(const SecretRef& ref);
  // The payload as raw bytes, asked for with the secret's default content
  // type (read from its metadata first).
  [[nodiscard]] Result<SecretBytes> GetPayload(const SecretRef& ref);
  [[nodiscard]] Status DeleteSecret(const SecretRef& ref);
  // Every secret matching `filter`, walking all pages.
  [[nodiscard]] Result<std::vector<SecretMeta>> ListSecrets(
      const SecretFilter& filter);
  // Secrets named exactly `name`: Barbican's filter is a LIKE pattern, so
  // its answer is checked again here.
  [[nodiscard]] Result<std::vector<SecretMeta>> FindSecretsNamed(
      const std::string& name);

  // Secret metadata (user key/value pairs; Barbican lower-cases keys).
  [[nodiscard]] Result<std::map<std::string, std::string>> GetSecretMetadata(
      const SecretRef& ref);
  [[nodiscard]] Status PutSecretMetadata(
      const SecretRef& ref,
      const std::map<std::string, std::string>& metadata);

  // Orders.
  [[nodiscard]] Result<OrderRef> CreateKeyOrder(const KeyOrderSpec& spec);
  [[nodiscard]] Result<Order> GetOrder(const OrderRef& ref);
  // Polls until the order is ACTIVE (returned) or ERROR (kServerError with
  // Barbican's reason), backing off between polls; kDeadlineExceeded after
  // `deadline`.
  [[nodiscard]] Result<Order> WaitForOrder(const OrderRef& ref,
                                           std::chrono::milliseconds deadline);
  [[nodiscard]] Status DeleteOrder(const OrderRef& ref);
  [[nodiscard]] Result<std::vector<Order>> ListOrders();

  // Generic containers.
  [[nodiscard]] Result<ContainerRef> CreateContainer(
      const std::string& name,
      const std::vector<ContainerEntry>& secrets);
  [[nodiscard]] Result<Container> GetContainer(const ContainerRef& ref);
  // Containers named exactly `name` (or all when empty), every page.
  [[nodiscard]] Result<std::vector<Container>> ListContainers(
      const std::string& name);
  [[nodiscard]] Status DeleteContainer(const ContainerRef& ref);
  [[nodiscard]] Status AddContainerSecret(const ContainerRef& ref,
                                          const ContainerEntry& entry);
  [[nodiscard]] Status RemoveContainerSecret(const ContainerRef& ref,
                                             const ContainerEntry& entry);

  // ACLs. Get returns the default (project access, no users) when unset.
  [[nodiscard]] Result<Acl> GetSecretAcl(const SecretRef& ref);
  [[nodiscard]] Status SetSecretAcl(const SecretRef& ref, const Acl& acl);
  [[nodiscard]] Result<Acl> GetContainerAcl(const ContainerRef& ref);
  [[nodiscard]] Status SetContainerAcl(const ContainerRef& ref, const Acl& acl);

  // Secret consumers (API 1.1).
  [[nodiscard]] Status AddSecretConsumer(const SecretRef& ref,
                                         const Consumer& consumer);
  [[nodiscard]] Status RemoveSecretConsumer(const SecretRef& ref,
                                            const Consumer& consumer);
  [[nodiscard]] Result<std::vector<Consumer>> ListSecretConsumers(
      const SecretRef& ref);

 private:
  struct Call;
  [[nodiscard]] Result<std::string> Url(std::string_view path);
  [[nodiscard]] Result<http::Response> Send(Call call);
  // Send(), then the answer's body as a JSON object.
  [[nodiscard]] Result<nlohmann::json> SendForJson(Call call);
  // The guard's word on `call`, asked again with the name the answer gave
  // when the name was not known before the request.
  [[nodiscard]] Status CheckAnswer(GuardedCall call,
                                   std::string operation,
                                   const std::string& name);
  // What the guard is told about an object named only by its ref.
  [[nodiscard]] GuardedCall On(GuardedResource resource,
                               GuardedAction action,
                               std::string_view id,
                               NameCheck unknown = NameCheck::kBefore) const;
  void Remember(std::string_view id, const std::string& name);

  keystone::Session& session_;
  Clock& clock_;
  std::string endpoint_;  // e.g. http://host:9311, without /v1
  Guard* guard_ = nullptr;
  // Names of the secrets, containers and orders seen, by id, so the guard
  // can be told them (kept only while a guard is set).
  std::map<std::string, std::string, std::less<>> names_;
};

}  // namespace siq::barbican
