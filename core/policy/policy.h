// The IAM policies of the standard, as loaded from YAML: who (a role) may do
// which action to which Barbican resource, under which conditions.
//
// A policy file holds `policies:`, each with a name, a description and
// rules; a role table file holds `roles:`, each naming the policies that
// apply to it and the Keystone roles that identify it. A policy directory
// holds any number of policy files and exactly one role table, all *.yaml.
//
// Loading is strict: an unknown key, resource, action, effect or condition
// variable, or a malformed condition, is an error naming the file and line,
// so a typo never silently widens or narrows access. Every rule and role
// keeps the file and line it came from so that a decision can name it.
//
// The loaded types are plain values, safe to copy and share between threads.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/base/status.h"

namespace siq::policy {

enum class Resource { kSecrets, kSecretPayloads, kContainers };
enum class Action { kCreate, kList, kGet, kUpdate, kDelete };
enum class Effect { kAllow, kDeny };

inline constexpr Resource kAllResources[] = {
    Resource::kSecrets, Resource::kSecretPayloads, Resource::kContainers};
inline constexpr Action kAllActions[] = {Action::kCreate, Action::kList,
                                         Action::kGet, Action::kUpdate,
                                         Action::kDelete};

// "barbican:secrets", "get", "allow": the spellings of the YAML form.
std::string_view ResourceName(Resource resource);
std::string_view ActionName(Action action);
std::string_view EffectName(Effect effect);
// The value spelled `text`, or nothing for an unknown spelling.
std::optional<Resource> ParseResource(std::string_view text);
std::optional<Action> ParseAction(std::string_view text);

// Variables a condition may use: ${vps_id}.
inline constexpr std::string_view kKnownVariables[] = {"vps_id"};

// Where a statement was written: "policies/vps-application.yaml:12".
struct Location {
  std::string file;
  int line = 0;

  std::string str() const;
};

// `name_prefix: "${vps_id}_"`: the resource's name starts with the text,
// variables substituted; or `name: "${vps_id}"`: the name is exactly the
// text (a VPS's container is named after the VPS). One of the two is set.
struct Condition {
  std::string name_prefix;  // as written, with its ${...} references
  std::string name;         // as written; used when name_prefix is empty
  Location location;
};

struct Rule {
  Resource resource = Resource::kSecrets;
  std::vector<Action> actions;
  std::vector<Condition> conditions;  // all must hold
  Effect effect = Effect::kDeny;
  Location location;
};

struct Policy {
  std::string name;
  std::string description;
  std::vector<Rule> rules;
  Location location;
};

struct Role {
  std::string name;
  std::vector<std::string> policies;  // names of Policy entries
  // The Keystone roles that identify this role to Barbican.
  std::vector<std::string> keystone_roles;
  Location location;
};

// What one file holds: policies, or a role table.
struct PolicyFile {
  std::string path;
  std::vector<Policy> policies;
  std::optional<std::vector<Role>> roles;
};

// Every policy and the role table, from one directory.
struct PolicySet {
  std::string dir;
  std::vector<Policy> policies;
  std::vector<Role> roles;

  // The entry named `name`, or nullptr.
  const Policy* FindPolicy(std::string_view name) const;
  const Role* FindRole(std::string_view name) const;
};

// Reads one policy file or role table. Fails with kInvalidArgument naming
// the file and line of the first error ("policies/x.yaml:12: unknown action
// 'read' (known: create, list, get, update, delete)"), including YAML syntax
// errors; with kIoError when the file cannot be read. A role table's policy
// names are not resolved here: LoadPolicyDir does that.
[[nodiscard]] Result<PolicyFile> LoadPolicyFile(const std::string& path);

// Reads every *.yaml file of `dir`, in name order. Fails as LoadPolicyFile
// does, and with kInvalidArgument when a policy name is defined twice (naming
// the second place), when there is no role table or more than one, or when
// a role names a policy that no file defines (naming the role's line);
// kIoError when `dir` is not a readable directory.
[[nodiscard]] Result<PolicySet> LoadPolicyDir(const std::string& dir);

// As LoadPolicyFile, from `text` already read; `path` names it in errors.
[[nodiscard]] Result<PolicyFile> ParsePolicyFile(const std::string& path,
                                                 const std::string& text);

// The policies that ship with siq: the YAML files of policies/ as they were
// when siq was built, compiled in so that every command can enforce them
// without an installed policy directory. Their locations read
// "(built in) policies/<file>.yaml:<line>". Loaded and checked as
// LoadPolicyDir does; fails only if the shipped files are broken.
inline constexpr std::string_view kBuiltinPolicyDir = "(built in) policies";
[[nodiscard]] Result<PolicySet> BuiltinPolicies();

// The shipped files as (path, text) pairs, in name order. Generated at
// build time (builtin_policies.cc.in).
const std::vector<std::pair<std::string_view, std::string_view>>&
BuiltinPolicyFiles();

}  // namespace siq::policy
