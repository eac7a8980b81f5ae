#include "core/policy/guard.h"

#include <filesystem>
#include <utility>

#include <fmt/format.h>

#include "core/base/log.h"

namespace siq::policy {

Resource ResourceOf(barbican::GuardedResource resource) {
  switch (resource) {
    case barbican::GuardedResource::kSecrets:
      return Resource::kSecrets;
    case barbican::GuardedResource::kSecretPayloads:
      return Resource::kSecretPayloads;
    case barbican::GuardedResource::kContainers:
      return Resource::kContainers;
  }
  return Resource::kSecretPayloads;  // unreachable; the strictest
}

Action ActionOf(barbican::GuardedAction action) {
  switch (action) {
    case barbican::GuardedAction::kCreate:
      return Action::kCreate;
    case barbican::GuardedAction::kList:
      return Action::kList;
    case barbican::GuardedAction::kGet:
      return Action::kGet;
    case barbican::GuardedAction::kUpdate:
      return Action::kUpdate;
    case barbican::GuardedAction::kDelete:
      return Action::kDelete;
  }
  return Action::kDelete;  // unreachable
}

PolicyGuard::PolicyGuard(PolicySet set,
                         std::string role,
                         std::map<std::string, std::string> vars)
    : set_(std::move(set)), role_(std::move(role)), vars_(std::move(vars)) {}

Status PolicyGuard::Check(const barbican::GuardedCall& call) {
  Request request{.role = role_,
                  .action = ActionOf(call.action),
                  .resource = ResourceOf(call.resource),
                  .name = call.name,
                  .vars = vars_};
  std::string what = fmt::format(
      "{} {}{}", ActionName(request.action), ResourceName(request.resource),
      request.name.empty() ? "" : " " + request.name);

  // The name comes with the answer: let the read go when a name could be
  // allowed; the client asks again with it.
  if (request.name.empty() &&
      call.name_check == barbican::NameCheck::kAfterAnswer &&
      Summarize(set_, role_, request.action, request.resource).verdict !=
          Verdict::kDeny) {
    log::Get("policy")->debug("role {} may {} if the answer's name allows it",
                              role_, what);
    return OkStatus();
  }

  Decision decision = Evaluate(set_, request);
  std::string where =
      decision.statement
          ? fmt::format(" ({})", decision.statement->location.str())
          : "";
  log::Get("policy")->debug(
      "role {} {} {}: {}{}", role_,
      decision.effect == Effect::kAllow ? "may" : "may not", what,
      decision.reason, where);
  if (decision.effect == Effect::kAllow) {
    return OkStatus();
  }
  return Status(
      StatusCode::kPermissionDenied,
      fmt::format("{}: policy denied: role {} may not {}: {}{}", call.operation,
                  role_, what, decision.reason, where));
}

Result<PolicySet> LoadEnforcedPolicies(const std::string& dir,
                                       const std::string& fallback_dir) {
  std::error_code error;
  if (std::filesystem::is_directory(dir, error)) {
    return LoadPolicyDir(dir);
  }
  if (dir == fallback_dir) {
    return BuiltinPolicies();
  }
  return Status(StatusCode::kInvalidArgument,
                fmt::format("policies: {} is not a directory", dir));
}

}  // namespace siq::policy
