// The container and ACL steps that provisioning and recovery share: a VPS's
// generic container made to hold exactly the entries the record names, and
// the VPS's reader made the one reader of its secrets and container.
//
// Both steps are idempotent (a second run finds everything in place and
// changes nothing) and append one line per write call made to `calls`, in
// the form the provisioner reports: "POST /v1/containers  container vps-1".
// Network: Barbican reads and writes. Plain functions; the client must not
// be used from another thread meanwhile.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "core/barbican/client.h"
#include "core/base/status.h"

namespace siq::provision {

// What to do with container entries that are not asked for.
enum class ExtraEntries { kKeep, kRemove };

// Finds the container: by `known_ref` (may be empty or point at a deleted
// container), else by `name` -- a container whose create answer was lost --
// deleting any duplicates of that name. Creates it with `entries` when there
// is none; otherwise adds the entries it lacks and, with kRemove, removes
// those not in `entries`, so the container keeps its ref. Returns the ref.
[[nodiscard]] Result<barbican::ContainerRef> EnsureContainer(
    barbican::Client& barbican,
    const std::string& name,
    const std::string& known_ref,
    const std::vector<barbican::ContainerEntry>& entries,
    ExtraEntries extra,
    std::vector<std::string>& calls);

// Sets the read ACL of every secret in `secrets` (a label for the report,
// and the ref) and of the container to `reader` alone, without project
// access. PUT replaces the whole ACL, so setting it again is harmless.
[[nodiscard]] Status EnsureReadAcls(
    barbican::Client& barbican,
    const std::vector<std::pair<std::string, barbican::SecretRef>>& secrets,
    const std::string& container_label,
    const barbican::ContainerRef& container,
    const std::string& reader,
    std::vector<std::string>& calls);

}  // namespace siq::provision
