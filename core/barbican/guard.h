// Guard: what the Client asks before every Barbican request whether the
// acting identity may make it. The Client describes each request in the
// policies' words (resource, action, the resource's name when known); the
// Guard answers ok or a kPermissionDenied status (no HTTP status) that names
// the statement that decided. A denied request is never sent.
//
// The name of the object a request is about is often only a ref: the
// Client remembers the names it has seen (created, listed, read) and passes
// them. For a read by ref whose name it has not seen, it says so
// (NameCheck::kAfterAnswer): the Guard lets the read go when some name could
// be allowed, and the Client asks again with the name from the answer before
// it hands the answer to its caller. Payload reads and every change always
// know the name first, or fail closed.
//
// How the Client's calls map (the same mapping as the oslo rendering):
//   secrets: create (CreateSecret, CreateKeyOrder), list (ListSecrets,
//     ListOrders, GetOrder), get (GetSecret, metadata, ACL, consumers:
//     registering as a consumer is what a reader does), update (ACL,
//     metadata), delete (DeleteSecret, DeleteOrder);
//   secrets:payload: get (GetPayload, after its metadata read);
//   containers: create, list, get (GetContainer, ACL), update (entries,
//     ACL), delete.
//
// The Client keeps a pointer to its Guard, which must outlive it. A Guard
// need not be safe to share between threads.
#pragma once

#include <string>

#include "core/base/status.h"

namespace siq::barbican {

// The policies' resources and actions (barbican:secrets, ...).
enum class GuardedResource { kSecrets, kSecretPayloads, kContainers };
enum class GuardedAction { kCreate, kList, kGet, kUpdate, kDelete };

enum class NameCheck {
  kBefore,       // `name` is what is known now (empty: nothing); decide now
  kAfterAnswer,  // a read whose name the answer tells; asked again then
};

struct GuardedCall {
  GuardedAction action = GuardedAction::kGet;
  GuardedResource resource = GuardedResource::kSecrets;
  std::string name;  // the secret's or container's name; empty: not known
  NameCheck name_check = NameCheck::kBefore;
  std::string operation;  // "reading secret https://...", for messages
};

class Guard {
 public:
  virtual ~Guard() = default;
  // Ok to send the request; otherwise kPermissionDenied naming the role,
  // the request and the statement that decided.
  [[nodiscard]] virtual Status Check(const GuardedCall& call) = 0;
};

}  // namespace siq::barbican
