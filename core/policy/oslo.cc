#include "core/policy/oslo.h"

#include <string_view>

#include <fmt/format.h>

#include "core/policy/evaluator.h"

namespace siq::policy {
namespace {

// What a Barbican rule's target is, which decides the project check.
enum class Target { kCollection, kSecret, kOrder, kContainer };

struct OsloRule {
  std::string_view name;
  Resource resource;
  Action action;
  Target target;
};

// Reading ACLs, metadata and consumers is part of getting a secret;
// changing ACLs and metadata is an update. Registering as a consumer is
// something a reader does (`siq run` does it for every secret it loads), so
// it needs only get. An order is how a secret is created, so reading orders
// is listing and deleting one is deleting.
constexpr OsloRule kRules[] = {
    {"secrets:post", Resource::kSecrets, Action::kCreate, Target::kCollection},
    {"secrets:get", Resource::kSecrets, Action::kList, Target::kCollection},
    {"secret:get", Resource::kSecrets, Action::kGet, Target::kSecret},
    {"secret:decrypt", Resource::kSecretPayloads, Action::kGet,
     Target::kSecret},
    {"secret:put", Resource::kSecretPayloads, Action::kCreate, Target::kSecret},
    {"secret:delete", Resource::kSecrets, Action::kDelete, Target::kSecret},
    {"secret_acls:get", Resource::kSecrets, Action::kGet, Target::kSecret},
    {"secret_acls:put_patch", Resource::kSecrets, Action::kUpdate,
     Target::kSecret},
    {"secret_acls:delete", Resource::kSecrets, Action::kUpdate,
     Target::kSecret},
    {"secret_meta:get", Resource::kSecrets, Action::kGet, Target::kSecret},
    {"secret_meta:post", Resource::kSecrets, Action::kUpdate, Target::kSecret},
    {"secret_meta:put", Resource::kSecrets, Action::kUpdate, Target::kSecret},
    {"secret_meta:delete", Resource::kSecrets, Action::kUpdate,
     Target::kSecret},
    {"secret_consumers:get", Resource::kSecrets, Action::kGet, Target::kSecret},
    {"secret_consumers:post", Resource::kSecrets, Action::kGet,
     Target::kSecret},
    {"secret_consumers:delete", Resource::kSecrets, Action::kGet,
     Target::kSecret},
    {"orders:post", Resource::kSecrets, Action::kCreate, Target::kCollection},
    {"orders:get", Resource::kSecrets, Action::kList, Target::kCollection},
    {"orders:put", Resource::kSecrets, Action::kUpdate, Target::kCollection},
    {"order:get", Resource::kSecrets, Action::kList, Target::kOrder},
    {"order:delete", Resource::kSecrets, Action::kDelete, Target::kOrder},
    {"containers:post", Resource::kContainers, Action::kCreate,
     Target::kCollection},
    {"containers:get", Resource::kContainers, Action::kList,
     Target::kCollection},
    {"container:get", Resource::kContainers, Action::kGet, Target::kContainer},
    {"container:delete", Resource::kContainers, Action::kDelete,
     Target::kContainer},
    {"container_secret:post", Resource::kContainers, Action::kUpdate,
     Target::kContainer},
    {"container_secret:delete", Resource::kContainers, Action::kUpdate,
     Target::kContainer},
    {"container_acls:get", Resource::kContainers, Action::kGet,
     Target::kContainer},
    {"container_acls:put_patch", Resource::kContainers, Action::kUpdate,
     Target::kContainer},
    {"container_acls:delete", Resource::kContainers, Action::kUpdate,
     Target::kContainer},
    {"container_consumers:get", Resource::kContainers, Action::kGet,
     Target::kContainer},
    {"container_consumers:post", Resource::kContainers, Action::kGet,
     Target::kContainer},
    {"container_consumers:delete", Resource::kContainers, Action::kGet,
     Target::kContainer},
};

std::string_view ProjectCheck(Target target) {
  switch (target) {
    case Target::kCollection:
      return "";
    case Target::kSecret:
      return "rule:secret_project_match";
    case Target::kOrder:
      return "rule:order_project_match";
    case Target::kContainer:
      return "rule:container_project_match";
  }
  return "";
}

std::string_view AclCheck(Target target) {
  switch (target) {
    case Target::kSecret:
      return "rule:secret_acl_read";
    case Target::kContainer:
      return "rule:container_acl_read";
    case Target::kCollection:
    case Target::kOrder:
      return "";
  }
  return "";
}

bool IsPlainRoleName(const std::string& name) {
  if (name.empty()) {
    return false;
  }
  for (char c : name) {
    bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                 (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.';
    if (!plain) {
      return false;
    }
  }
  return true;
}

std::string RoleCheck(const Role& role) {
  std::vector<std::string> checks;
  for (const std::string& name : role.keystone_roles) {
    checks.push_back("role:" + name);
  }
  std::string joined = fmt::format("{}", fmt::join(checks, " or "));
  return checks.size() == 1 ? joined : "(" + joined + ")";
}

// The part of the check string that grants `rule` to `role`, or "" for
// none.
std::string Grant(const PolicySet& set,
                  const Role& role,
                  const OsloRule& rule) {
  if (role.keystone_roles.empty()) {
    return "";
  }
  Summary summary = Summarize(set, role.name, rule.action, rule.resource);
  std::string_view extra;
  if (summary.verdict == Verdict::kAllow) {
    extra = ProjectCheck(rule.target);
  } else if (summary.verdict == Verdict::kConditional &&
             summary.deny_if.empty() && !summary.allow_if.empty() &&
             rule.action == Action::kGet && !AclCheck(rule.target).empty()) {
    extra = AclCheck(rule.target);
  } else {
    return "";
  }
  std::string check = RoleCheck(role);
  return extra.empty() ? check : fmt::format("({} and {})", check, extra);
}

}  // namespace

Result<std::vector<std::pair<std::string, std::string>>> OsloRules(
    const PolicySet& set) {
  for (const Role& role : set.roles) {
    for (const std::string& name : role.keystone_roles) {
      if (!IsPlainRoleName(name)) {
        return Status(StatusCode::kInvalidArgument,
                      fmt::format("{}: role '{}': Keystone role '{}' may hold "
                                  "only letters, digits and '_-.'",
                                  role.location.str(), role.name, name));
      }
    }
  }

  std::vector<std::pair<std::string, std::string>> rules;
  for (const OsloRule& rule : kRules) {
    std::vector<std::string> grants;
    for (const Role& role : set.roles) {
      std::string grant = Grant(set, role, rule);
      if (!grant.empty()) {
        grants.push_back(std::move(grant));
      }
    }
    rules.emplace_back(rule.name,
                       grants.empty()
                           ? std::string("!")
                           : fmt::format("{}", fmt::join(grants, " or ")));
  }
  return rules;
}

Result<std::string> RenderOsloPolicy(const PolicySet& set) {
  auto rules = OsloRules(set);
  if (!rules.ok()) {
    return rules.status();
  }
  std::string out = fmt::format(
      "# Barbican policy override rendered by `siq policy render --oslo`\n"
      "# from the policies in {}.\n"
      "#\n"
      "# Install it as the file [oslo_policy] policy_file names in\n"
      "# barbican.conf; oslo.policy reloads it when it changes. It replaces\n"
      "# Barbican's defaults for these rules for every identity: a Keystone\n"
      "# role that roles.yaml does not name (admin included) loses them.\n"
      "# \"!\" means nobody. Name conditions are enforced through read ACLs,\n"
      "# which `siq provision` and `siq policy apply` keep exact.\n",
      set.dir.empty() ? "(unnamed)" : set.dir);
  for (const auto& [name, check] : *rules) {
    out += fmt::format("\"{}\": \"{}\"\n", name, check);
  }
  return out;
}

}  // namespace siq::policy
