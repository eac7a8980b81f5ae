// SecretLoader: what `siq run` reads from Barbican for one VPS. It finds the
// VPS's generic container, decides for each secret kind which entry is the
// current secret and which the previous one, reads their payloads into
// SecretBytes, and registers the VPS as a consumer of what it loaded.
//
// Current and previous: during a rotation the container holds two entries
// under one kind name (Barbican allows it when the secret refs differ). The
// VPS has no deployment record, so the entries' secrets' creation times
// decide: the newer one is current and reaches the child as <KIND>, the
// older one is previous and reaches it as <KIND>_PREVIOUS. Two entries
// created in the same instant, or more than two under one name, are refused.
//
// The loader holds a reference to the client, which must outlive it. Not
// safe to share between threads (the client is not).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/barbican/client.h"
#include "core/barbican/types.h"
#include "core/base/clock.h"
#include "core/base/secret.h"
#include "core/base/status.h"

namespace siq::run {

// Consumers that `siq run` registers carry this service and resource type;
// the resource id is the VPS id.
inline constexpr std::string_view kConsumerService = "siq-run";
inline constexpr std::string_view kConsumerResourceType = "vps";

// One container entry with its secret's creation time.
struct DatedEntry {
  std::string kind;  // the entry's name in the container
  barbican::SecretRef ref;
  TimePoint created;
};

// Which secret the child sees under which variable name.
struct Selection {
  std::string variable;  // KIND or KIND_PREVIOUS
  std::string kind;
  barbican::SecretRef ref;
  friend bool operator==(const Selection&, const Selection&) = default;
};

// Chooses current and previous per kind, as the header explains. The result
// is sorted by variable name. Fails with kConflict naming the kind when its
// entries cannot be told apart or are more than two. Pure; no I/O.
[[nodiscard]] Result<std::vector<Selection>> SelectCurrentAndPrevious(
    const std::vector<DatedEntry>& entries);

// A printable stand-in for a secret: the first 16 hex digits of SHA-256 of
// its ref's id. Derived from the ref, never from the value.
std::string Fingerprint(const barbican::SecretRef& ref);

// A secret loaded for the child.
struct LoadedSecret {
  Selection selection;
  std::string fingerprint;
  SecretBytes value;
};

// What a check found about one selected secret.
struct CheckedSecret {
  Selection selection;
  std::string fingerprint;
  Status status;  // ok when the payload could be read
  size_t size = 0;
};

class SecretLoader {
 public:
  SecretLoader(barbican::Client& client, std::string vps);

  // The VPS's container: `container` when given, else the one container
  // named after the VPS that the caller can list. Fails with kNotFound when
  // there is none (a reader in another project cannot list the deployer's
  // containers: pass the ref), kConflict when several, or with the server's
  // error (403 when the caller is not on the container's read ACL).
  // Network: GET containers.
  [[nodiscard]] Result<barbican::Container> FindContainer(
      const barbican::ContainerRef& container);

  // The selection for the container's entries, reading each secret's
  // metadata for its creation time. Network: GET per secret.
  [[nodiscard]] Result<std::vector<Selection>> Select(
      const barbican::Container& container);

  // Every selected secret's payload. Fails on the first secret that cannot
  // be read, naming it. Network: GET per secret and payload.
  [[nodiscard]] Result<std::vector<LoadedSecret>> Load(
      const std::vector<Selection>& selections);

  // Like Load, but reads on after a failure and keeps no value.
  std::vector<CheckedSecret> Check(const std::vector<Selection>& selections);

  // Registers the VPS as a consumer of `refs` and removes its entry from
  // `dropped`. Tries them all; returns the first failure. Network: POST and
  // DELETE on secret consumers.
  [[nodiscard]] Status UpdateConsumers(
      const std::vector<barbican::SecretRef>& refs,
      const std::vector<barbican::SecretRef>& dropped);

 private:
  barbican::Client& client_;
  std::string vps_;
};

}  // namespace siq::run
