#include "core/provision/container_steps.h"

#include <algorithm>
#include <optional>

#include <fmt/format.h>

namespace siq::provision {
namespace {

using barbican::Container;
using barbican::ContainerEntry;
using barbican::ContainerRef;

void Call(std::vector<std::string>& calls,
          std::string_view method,
          std::string_view path,
          std::string_view what) {
  calls.push_back(fmt::format("{} {}  {}", method, path, what));
}

bool Holds(const std::vector<ContainerEntry>& entries,
           const ContainerEntry& entry) {
  return std::find(entries.begin(), entries.end(), entry) != entries.end();
}

// The container at `known_ref`, else the oldest named `name` with the
// others of that name deleted; nothing when there is none.
Result<std::optional<Container>> FindContainer(
    barbican::Client& barbican,
    const std::string& name,
    const std::string& known_ref,
    std::vector<std::string>& calls) {
  if (!known_ref.empty()) {
    auto got = barbican.GetContainer(ContainerRef(known_ref));
    if (got.ok()) {
      return std::optional<Container>(std::move(*got));
    }
    if (got.status().code() != StatusCode::kNotFound) {
      return got.status();
    }
  }
  auto found = barbican.ListContainers(name);
  if (!found.ok()) {
    return found.status();
  }
  if (found->empty()) {
    return std::optional<Container>();
  }
  for (size_t i = 1; i < found->size(); ++i) {
    SIQ_RETURN_IF_ERROR(barbican.DeleteContainer((*found)[i].ref));
    Call(calls, "DELETE", "/v1/containers/{id}", "duplicate container");
  }
  return std::optional<Container>(found->front());
}

}  // namespace

Result<ContainerRef> EnsureContainer(barbican::Client& barbican,
                                     const std::string& name,
                                     const std::string& known_ref,
                                     const std::vector<ContainerEntry>& entries,
                                     ExtraEntries extra,
                                     std::vector<std::string>& calls) {
  auto container = FindContainer(barbican, name, known_ref, calls);
  if (!container.ok()) {
    return container.status();
  }
  if (!*container) {
    auto ref = barbican.CreateContainer(name, entries);
    if (!ref.ok()) {
      return ref.status();
    }
    Call(calls, "POST", "/v1/containers", "container " + name);
    return *ref;
  }

  const Container& found = **container;
  for (const ContainerEntry& entry : entries) {
    if (!Holds(found.secrets, entry)) {
      SIQ_RETURN_IF_ERROR(barbican.AddContainerSecret(found.ref, entry));
      Call(calls, "POST", "/v1/containers/{id}/secrets", entry.name);
    }
  }
  if (extra == ExtraEntries::kRemove) {
    for (const ContainerEntry& entry : found.secrets) {
      if (!Holds(entries, entry)) {
        SIQ_RETURN_IF_ERROR(barbican.RemoveContainerSecret(found.ref, entry));
        Call(calls, "DELETE", "/v1/containers/{id}/secrets",
             fmt::format("{} {}", entry.name, entry.ref.id()));
      }
    }
  }
  return found.ref;
}

Status EnsureReadAcls(
    barbican::Client& barbican,
    const std::vector<std::pair<std::string, barbican::SecretRef>>& secrets,
    const std::string& container_label,
    const ContainerRef& container,
    const std::string& reader,
    std::vector<std::string>& calls) {
  barbican::Acl acl{.read_users = {reader}, .project_access = false};
  for (const auto& [label, ref] : secrets) {
    SIQ_RETURN_IF_ERROR(barbican.SetSecretAcl(ref, acl));
    Call(calls, "PUT", "/v1/secrets/{id}/acl", label);
  }
  SIQ_RETURN_IF_ERROR(barbican.SetContainerAcl(container, acl));
  Call(calls, "PUT", "/v1/containers/{id}/acl", container_label);
  return OkStatus();
}

}  // namespace siq::provision
