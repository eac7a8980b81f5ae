#include "core/rotate/key_manager.h"

namespace siq::rotate {

using barbican::Acl;
using barbican::Consumer;
using barbican::Container;
using barbican::ContainerEntry;
using barbican::ContainerRef;
using barbican::KeyOrderSpec;
using barbican::Order;
using barbican::OrderRef;
using barbican::SecretMeta;
using barbican::SecretRef;

ClientKeyManager::ClientKeyManager(barbican::Client& client,
                                   std::chrono::milliseconds order_deadline)
    : client_(client), order_deadline_(order_deadline) {}

Result<OrderRef> ClientKeyManager::CreateKeyOrder(const KeyOrderSpec& spec) {
  return client_.CreateKeyOrder(spec);
}

Result<Order> ClientKeyManager::GetOrder(const OrderRef& ref) {
  return client_.GetOrder(ref);
}

Result<Order> ClientKeyManager::WaitForOrder(const OrderRef& ref) {
  return client_.WaitForOrder(ref, order_deadline_);
}

Result<std::vector<SecretMeta>> ClientKeyManager::FindSecretsNamed(
    const std::string& name) {
  return client_.FindSecretsNamed(name);
}

Status ClientKeyManager::SetSecretAcl(const SecretRef& ref, const Acl& acl) {
  return client_.SetSecretAcl(ref, acl);
}

Status ClientKeyManager::DeleteSecret(const SecretRef& ref) {
  return client_.DeleteSecret(ref);
}

Result<Container> ClientKeyManager::GetContainer(const ContainerRef& ref) {
  return client_.GetContainer(ref);
}

Status ClientKeyManager::AddContainerSecret(const ContainerRef& ref,
                                            const ContainerEntry& entry) {
  return client_.AddContainerSecret(ref, entry);
}

Status ClientKeyManager::RemoveContainerSecret(const ContainerRef& ref,
                                               const ContainerEntry& entry) {
  return client_.RemoveContainerSecret(ref, entry);
}

Result<std::vector<Consumer>> ClientKeyManager::ListSecretConsumers(
    const SecretRef& ref) {
  return client_.ListSecretConsumers(ref);
}

}  // namespace siq::rotate
