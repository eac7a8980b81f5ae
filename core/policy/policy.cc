#include "core/policy/policy.h"

#include <algorithm>
#include <filesystem>
#include <set>
#include <utility>

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

namespace siq::policy {
namespace {

constexpr std::pair<Resource, std::string_view> kResourceNames[] = {
    {Resource::kSecrets, "barbican:secrets"},
    {Resource::kSecretPayloads, "barbican:secrets:payload"},
    {Resource::kContainers, "barbican:containers"},
};
constexpr std::pair<Action, std::string_view> kActionNames[] = {
    {Action::kCreate, "create"}, {Action::kList, "list"},
    {Action::kGet, "get"},       {Action::kUpdate, "update"},
    {Action::kDelete, "delete"},
};

template <typename Table>
std::string KnownNames(const Table& table) {
  std::vector<std::string_view> names;
  for (const auto& [value, name] : table) {
    names.push_back(name);
  }
  return fmt::format("{}", fmt::join(names, ", "));
}

// Reads one file's YAML tree into the types, keeping the line of each
// statement. yaml-cpp throws on type mismatches; the caller catches.
class Reader {
 public:
  explicit Reader(std::string path) : path_(std::move(path)) {}

  Location Where(const YAML::Node& node) const {
    return {path_, node.Mark().line + 1};
  }

  Status Error(const YAML::Node& node, const std::string& what) const {
    return Status(StatusCode::kInvalidArgument,
                  fmt::format("{}: {}", Where(node).str(), what));
  }

  Status CheckKeys(const YAML::Node& map,
                   const std::vector<std::string>& allowed,
                   const std::string& what) const {
    if (!map.IsMap()) {
      return Error(map, fmt::format("{} must be a mapping", what));
    }
    for (const auto& entry : map) {
      std::string key = entry.first.as<std::string>();
      if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
        return Error(entry.first,
                     fmt::format("unknown key '{}' in {} (known: {})", key,
                                 what, fmt::join(allowed, ", ")));
      }
    }
    return OkStatus();
  }

  Result<std::string> String(const YAML::Node& parent,
                             const char* field,
                             const std::string& what) const {
    const YAML::Node node = parent[field];
    if (!node) {
      return Error(parent, fmt::format("{} needs '{}'", what, field));
    }
    if (!node.IsScalar() || node.Scalar().empty()) {
      return Error(node, fmt::format("{} must be a non-empty string", field));
    }
    return node.Scalar();
  }

  Result<std::vector<std::string>> Strings(const YAML::Node& node,
                                           const char* field) const {
    if (!node.IsSequence()) {
      return Error(node, fmt::format("{} must be a list", field));
    }
    std::vector<std::string> values;
    for (const auto& item : node) {
      if (!item.IsScalar() || item.Scalar().empty()) {
        return Error(item,
                     fmt::format("{} must hold non-empty strings", field));
      }
      values.push_back(item.Scalar());
    }
    return values;
  }

  // "${vps_id}_": known variables only, and a literal after the last one,
  // so that vps-1 can never match vps-10's names.
  Status CheckPrefix(const YAML::Node& node, const std::string& prefix) const {
    size_t pos = 0;
    bool ends_in_variable = false;
    while (pos < prefix.size()) {
      if (prefix[pos] != '$') {
        ++pos;
        ends_in_variable = false;
        continue;
      }
      if (prefix.compare(pos, 2, "${") != 0) {
        return Error(node, fmt::format("name_prefix '{}': '$' must start a "
                                       "variable such as ${{vps_id}}",
                                       prefix));
      }
      size_t end = prefix.find('}', pos);
      if (end == std::string::npos) {
        return Error(
            node, fmt::format("name_prefix '{}': unterminated '${{'", prefix));
      }
      std::string name = prefix.substr(pos + 2, end - pos - 2);
      if (std::find(std::begin(kKnownVariables), std::end(kKnownVariables),
                    name) == std::end(kKnownVariables)) {
        return Error(
            node, fmt::format("name_prefix '{}': unknown variable "
                              "'{}' (known: {})",
                              prefix, name, fmt::join(kKnownVariables, ", ")));
      }
      pos = end + 1;
      ends_in_variable = true;
    }
    if (ends_in_variable) {
      return Error(node, fmt::format("name_prefix '{}' must end with a "
                                     "separator after the last variable, "
                                     "such as '${{vps_id}}_', or vps-1 would "
                                     "match vps-10",
                                     prefix));
    }
    return OkStatus();
  }

  // `name: "${vps_id}"`: an exact name may end in a variable, but may
  // name only known ones.
  Result<Condition> ReadExactName(const YAML::Node& node) const {
    auto name = String(node, "name", "a condition");
    if (!name.ok()) {
      return name.status();
    }
    // The prefix check with a separator added: the same variable rules,
    // without the separator rule, which an exact match does not need.
    Status checked = CheckPrefix(node["name"], *name + "_");
    if (!checked.ok()) {
      return Error(node["name"], fmt::format("name '{}': use ${{vps_id}} "
                                             "and literal text only",
                                             *name));
    }
    return Condition{.name = *name, .location = Where(node)};
  }

  Result<Condition> ReadCondition(const YAML::Node& node) const {
    SIQ_RETURN_IF_ERROR(
        CheckKeys(node, {"name_prefix", "name"}, "a condition"));
    if (node.size() != 1) {
      return Error(node,
                   "a condition must have exactly one key, name_prefix or "
                   "name");
    }
    if (node["name"]) {
      return ReadExactName(node);
    }
    auto prefix = String(node, "name_prefix", "a condition");
    if (!prefix.ok()) {
      return prefix.status();
    }
    SIQ_RETURN_IF_ERROR(CheckPrefix(node["name_prefix"], *prefix));
    return Condition{.name_prefix = *prefix, .location = Where(node)};
  }

  Result<std::vector<Action>> ReadActions(const YAML::Node& node) const {
    if (!node.IsSequence() || node.size() == 0) {
      return Error(node, "actions must be a non-empty list");
    }
    std::vector<Action> actions;
    for (const auto& item : node) {
      std::optional<Action> action =
          item.IsScalar() ? ParseAction(item.Scalar()) : std::nullopt;
      if (!action) {
        return Error(item, fmt::format("unknown action '{}' (known: {})",
                                       item.IsScalar() ? item.Scalar() : "",
                                       KnownNames(kActionNames)));
      }
      actions.push_back(*action);
    }
    return actions;
  }

  Result<Rule> ReadRule(const YAML::Node& node) const {
    SIQ_RETURN_IF_ERROR(CheckKeys(
        node, {"resource", "actions", "conditions", "effect"}, "a rule"));
    Rule rule{.location = Where(node)};

    auto resource = String(node, "resource", "a rule");
    if (!resource.ok()) {
      return resource.status();
    }
    std::optional<Resource> parsed = ParseResource(*resource);
    if (!parsed) {
      return Error(node["resource"],
                   fmt::format("unknown resource '{}' (known: {})", *resource,
                               KnownNames(kResourceNames)));
    }
    rule.resource = *parsed;

    if (!node["actions"]) {
      return Error(node, "a rule needs 'actions'");
    }
    auto actions = ReadActions(node["actions"]);
    if (!actions.ok()) {
      return actions.status();
    }
    rule.actions = std::move(*actions);

    auto effect = String(node, "effect", "a rule");
    if (!effect.ok()) {
      return effect.status();
    }
    if (*effect != "allow" && *effect != "deny") {
      return Error(
          node["effect"],
          fmt::format("unknown effect '{}' (known: allow, deny)", *effect));
    }
    rule.effect = *effect == "allow" ? Effect::kAllow : Effect::kDeny;

    if (const YAML::Node conditions = node["conditions"]) {
      if (!conditions.IsSequence()) {
        return Error(conditions, "conditions must be a list");
      }
      for (const auto& item : conditions) {
        auto condition = ReadCondition(item);
        if (!condition.ok()) {
          return condition.status();
        }
        rule.conditions.push_back(std::move(*condition));
      }
    }
    return rule;
  }

  Result<Policy> ReadPolicy(const YAML::Node& node) const {
    SIQ_RETURN_IF_ERROR(
        CheckKeys(node, {"name", "description", "rules"}, "a policy"));
    Policy policy{.location = Where(node)};
    auto name = String(node, "name", "a policy");
    if (!name.ok()) {
      return name.status();
    }
    policy.name = *name;
    if (node["description"]) {
      auto description = String(node, "description", "a policy");
      if (!description.ok()) {
        return description.status();
      }
      policy.description = *description;
    }
    const YAML::Node rules = node["rules"];
    if (!rules || !rules.IsSequence() || rules.size() == 0) {
      return Error(rules ? rules : node,
                   "a policy needs a non-empty 'rules' "
                   "list");
    }
    for (const auto& item : rules) {
      auto rule = ReadRule(item);
      if (!rule.ok()) {
        return rule.status();
      }
      policy.rules.push_back(std::move(*rule));
    }
    return policy;
  }

  Result<Role> ReadRole(const YAML::Node& node) const {
    SIQ_RETURN_IF_ERROR(
        CheckKeys(node, {"name", "policies", "keystone_roles"}, "a role"));
    Role role{.location = Where(node)};
    auto name = String(node, "name", "a role");
    if (!name.ok()) {
      return name.status();
    }
    role.name = *name;
    if (!node["policies"]) {
      return Error(node,
                   "a role needs 'policies' (an empty list for no "
                   "access)");
    }
    auto policies = Strings(node["policies"], "policies");
    if (!policies.ok()) {
      return policies.status();
    }
    role.policies = std::move(*policies);
    if (node["keystone_roles"]) {
      auto keystone_roles = Strings(node["keystone_roles"], "keystone_roles");
      if (!keystone_roles.ok()) {
        return keystone_roles.status();
      }
      role.keystone_roles = std::move(*keystone_roles);
    }
    return role;
  }

  Status ReadFile(const YAML::Node& root, PolicyFile& file) const {
    SIQ_RETURN_IF_ERROR(CheckKeys(root, {"policies", "roles"}, "the file"));
    if (root.size() != 1) {
      return Error(root, "a file holds either 'policies:' or 'roles:'");
    }
    if (const YAML::Node policies = root["policies"]) {
      if (!policies.IsSequence()) {
        return Error(policies, "policies must be a list");
      }
      std::set<std::string> names;
      for (const auto& item : policies) {
        auto policy = ReadPolicy(item);
        if (!policy.ok()) {
          return policy.status();
        }
        if (!names.insert(policy->name).second) {
          return Error(
              item, fmt::format("policy '{}' is defined twice", policy->name));
        }
        file.policies.push_back(std::move(*policy));
      }
      return OkStatus();
    }
    const YAML::Node roles = root["roles"];
    if (!roles.IsSequence()) {
      return Error(roles, "roles must be a list");
    }
    file.roles.emplace();
    std::set<std::string> names;
    for (const auto& item : roles) {
      auto role = ReadRole(item);
      if (!role.ok()) {
        return role.status();
      }
      if (!names.insert(role->name).second) {
        return Error(item,
                     fmt::format("role '{}' is listed twice", role->name));
      }
      file.roles->push_back(std::move(*role));
    }
    return OkStatus();
  }

 private:
  std::string path_;
};

Status YamlError(const std::string& path, const YAML::Exception& e) {
  return Status(StatusCode::kInvalidArgument,
                fmt::format("{}:{}: {}", path, e.mark.line + 1, e.msg));
}

// Adds `file` to `set`, refusing a policy name that is already defined.
Status Merge(PolicyFile file, PolicySet& set, std::string& roles_file) {
  for (Policy& policy : file.policies) {
    if (const Policy* earlier = set.FindPolicy(policy.name)) {
      return Status(StatusCode::kInvalidArgument,
                    fmt::format("{}: policy '{}' is already defined at {}",
                                policy.location.str(), policy.name,
                                earlier->location.str()));
    }
    set.policies.push_back(std::move(policy));
  }
  if (file.roles) {
    if (!roles_file.empty()) {
      return Status(StatusCode::kInvalidArgument,
                    fmt::format("{}: a second role table (the first is {})",
                                file.path, roles_file));
    }
    roles_file = file.path;
    set.roles = std::move(*file.roles);
  }
  return OkStatus();
}

}  // namespace

std::string_view ResourceName(Resource resource) {
  for (const auto& [value, name] : kResourceNames) {
    if (value == resource) {
      return name;
    }
  }
  return "?";
}

std::string_view ActionName(Action action) {
  for (const auto& [value, name] : kActionNames) {
    if (value == action) {
      return name;
    }
  }
  return "?";
}

std::string_view EffectName(Effect effect) {
  return effect == Effect::kAllow ? "allow" : "deny";
}

std::optional<Resource> ParseResource(std::string_view text) {
  for (const auto& [value, name] : kResourceNames) {
    if (name == text) {
      return value;
    }
  }
  return std::nullopt;
}

std::optional<Action> ParseAction(std::string_view text) {
  for (const auto& [value, name] : kActionNames) {
    if (name == text) {
      return value;
    }
  }
  return std::nullopt;
}

std::string Location::str() const {
  return fmt::format("{}:{}", file, line);
}

const Policy* PolicySet::FindPolicy(std::string_view name) const {
  for (const Policy& policy : policies) {
    if (policy.name == name) {
      return &policy;
    }
  }
  return nullptr;
}

const Role* PolicySet::FindRole(std::string_view name) const {
  for (const Role& role : roles) {
    if (role.name == name) {
      return &role;
    }
  }
  return nullptr;
}

namespace {

// The tree of one file, as LoadPolicyFile and ParsePolicyFile read it.
Result<PolicyFile> ReadRoot(const std::string& path, const YAML::Node& root) {
  if (root.IsNull()) {
    return Status(StatusCode::kInvalidArgument,
                  fmt::format("{}:1: empty file: expected 'policies:' or "
                              "'roles:'",
                              path));
  }
  PolicyFile file{.path = path};
  SIQ_RETURN_IF_ERROR(Reader(path).ReadFile(root, file));
  return file;
}

// The checks of a whole set once every file is merged.
Status CheckSet(const PolicySet& set, const std::string& roles_file) {
  const std::string& dir = set.dir;
  if (roles_file.empty()) {
    return Status(StatusCode::kInvalidArgument,
                  fmt::format("{}: no role table (a file with 'roles:')", dir));
  }
  for (const Role& role : set.roles) {
    for (const std::string& name : role.policies) {
      if (set.FindPolicy(name) == nullptr) {
        return Status(StatusCode::kInvalidArgument,
                      fmt::format("{}: role '{}' names policy '{}', which no "
                                  "file in {} defines",
                                  role.location.str(), role.name, name, dir));
      }
    }
  }
  return OkStatus();
}

}  // namespace

Result<PolicyFile> LoadPolicyFile(const std::string& path) {
  std::error_code error;
  if (!std::filesystem::is_regular_file(path, error)) {
    return Status(StatusCode::kIoError,
                  fmt::format("{}: no such policy file", path));
  }
  try {
    return ReadRoot(path, YAML::LoadFile(path));
  } catch (const YAML::BadFile&) {
    return Status(StatusCode::kIoError,
                  fmt::format("{}: cannot be read", path));
  } catch (const YAML::Exception& e) {
    return YamlError(path, e);
  }
}

Result<PolicyFile> ParsePolicyFile(const std::string& path,
                                   const std::string& text) {
  try {
    return ReadRoot(path, YAML::Load(text));
  } catch (const YAML::Exception& e) {
    return YamlError(path, e);
  }
}

Result<PolicySet> LoadPolicyDir(const std::string& dir) {
  std::error_code error;
  std::vector<std::string> paths;
  for (const auto& entry : std::filesystem::directory_iterator(dir, error)) {
    if (entry.path().extension() == ".yaml") {
      paths.push_back(entry.path().string());
    }
  }
  if (error) {
    return Status(StatusCode::kIoError,
                  fmt::format("{}: {}", dir, error.message()));
  }
  std::sort(paths.begin(), paths.end());

  PolicySet set{.dir = dir};
  std::string roles_file;
  for (const std::string& path : paths) {
    auto file = LoadPolicyFile(path);
    if (!file.ok()) {
      return file.status();
    }
    SIQ_RETURN_IF_ERROR(Merge(std::move(*file), set, roles_file));
  }
  SIQ_RETURN_IF_ERROR(CheckSet(set, roles_file));
  return set;
}

Result<PolicySet> BuiltinPolicies() {
  PolicySet set{.dir = std::string(kBuiltinPolicyDir)};
  std::string roles_file;
  for (const auto& [path, text] : BuiltinPolicyFiles()) {
    auto file = ParsePolicyFile(std::string(path), std::string(text));
    if (!file.ok()) {
      return file.status();
    }
    SIQ_RETURN_IF_ERROR(Merge(std::move(*file), set, roles_file));
  }
  SIQ_RETURN_IF_ERROR(CheckSet(set, roles_file));
  return set;
}

}  // namespace siq::policy
