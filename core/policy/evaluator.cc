#include "core/policy/evaluator.h"

#include <algorithm>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "core/records/deployment.h"

namespace siq::policy {
namespace {

// Whether a condition holds; kUnknown when it cannot be decided.
enum class Holds { kYes, kNo, kUnknown };

// A variable's value when it is set and valid. A vps_id must be a VPS id,
// so no value can smuggle a LIKE wildcard or a separator into a prefix.
std::optional<std::string> Variable(const Request& request,
                                    const std::string& name,
                                    std::string& why_not) {
  auto it = request.vars.find(name);
  if (it == request.vars.end() || it->second.empty()) {
    why_not = fmt::format("variable {} is not set", name);
    return std::nullopt;
  }
  if (name == "vps_id" && !records::VpsId::Parse(it->second).ok()) {
    why_not =
        fmt::format("variable vps_id '{}' is not a valid VPS id", it->second);
    return std::nullopt;
  }
  return it->second;
}

// The prefix with its variables substituted, or nothing (and why) when one
// cannot be. The loader has checked the syntax already.
std::optional<std::string> Substitute(const std::string& prefix,
                                      const Request& request,
                                      std::string& why_not) {
  std::string out;
  size_t pos = 0;
  while (pos < prefix.size()) {
    size_t start = prefix.find("${", pos);
    if (start == std::string::npos) {
      out.append(prefix, pos);
      break;
    }
    out.append(prefix, pos, start - pos);
    size_t end = prefix.find('}', start);
    auto value =
        Variable(request, prefix.substr(start + 2, end - start - 2), why_not);
    if (!value) {
      return std::nullopt;
    }
    out += *value;
    pos = end + 1;
  }
  return out;
}

Holds Check(const Condition& condition,
            const Request& request,
            std::string& why_not) {
  bool exact = condition.name_prefix.empty();
  auto text = Substitute(exact ? condition.name : condition.name_prefix,
                         request, why_not);
  if (!text) {
    return Holds::kUnknown;
  }
  if (request.name.empty()) {
    why_not = "no resource name given";
    return Holds::kUnknown;
  }
  bool holds = exact ? request.name == *text : request.name.starts_with(*text);
  return holds ? Holds::kYes : Holds::kNo;
}

bool Applies(const Rule& rule, Action action, Resource resource) {
  bool resource_matches =
      rule.resource == resource || (rule.resource == Resource::kSecrets &&
                                    resource == Resource::kSecretPayloads);
  return resource_matches && std::find(rule.actions.begin(), rule.actions.end(),
                                       action) != rule.actions.end();
}

// Whether the rule decides the request. An undecidable condition matches a
// deny and fails an allow: fail closed either way. `note` says why a
// condition could not be decided.
bool Matches(const Rule& rule, const Request& request, std::string& note) {
  if (!Applies(rule, request.action, request.resource)) {
    return false;
  }
  for (const Condition& condition : rule.conditions) {
    std::string why_not;
    Holds holds = Check(condition, request, why_not);
    if (holds == Holds::kNo) {
      return false;
    }
    if (holds == Holds::kUnknown) {
      note = why_not;
      if (rule.effect == Effect::kAllow) {
        return false;
      }
    }
  }
  return true;
}

std::string Describe(const std::vector<Condition>& conditions) {
  std::vector<std::string> parts;
  parts.reserve(conditions.size());
  for (const Condition& condition : conditions) {
    parts.push_back(condition.name_prefix.empty()
                        ? fmt::format("name {}", condition.name)
                        : fmt::format("name_prefix {}", condition.name_prefix));
  }
  return fmt::format("{}", fmt::join(parts, " and "));
}

// Every rule of the role's policies, with where it is, in the role's order.
struct Found {
  const Policy* policy;
  int index;
  const Rule* rule;
};

std::vector<Found> RulesOf(const PolicySet& set, const Role& role) {
  std::vector<Found> found;
  for (const std::string& name : role.policies) {
    const Policy* policy = set.FindPolicy(name);
    if (policy == nullptr) {
      continue;  // LoadPolicyDir refuses this; a hand-built set may not
    }
    for (size_t i = 0; i < policy->rules.size(); ++i) {
      found.push_back({policy, static_cast<int>(i), &policy->rules[i]});
    }
  }
  return found;
}

Statement StatementOf(const Found& found) {
  return {found.policy->name, found.index, found.rule->location};
}

}  // namespace

Decision Evaluate(const PolicySet& set, const Request& request) {
  const Role* role = set.FindRole(request.role);
  if (role == nullptr) {
    return {.reason =
                fmt::format("unknown role '{}': no access", request.role)};
  }
  if (role->policies.empty()) {
    return {.reason = fmt::format("role '{}' has no policies: no access",
                                  role->name)};
  }

  std::optional<Found> allow;
  std::string allow_note;
  for (const Found& found : RulesOf(set, *role)) {
    std::string note;
    if (!Matches(*found.rule, request, note)) {
      if (!allow && found.rule->effect == Effect::kAllow && !note.empty()) {
        allow_note = note;
      }
      continue;
    }
    if (found.rule->effect == Effect::kDeny) {
      std::string reason =
          fmt::format("denied by {} rule {}", found.policy->name, found.index);
      if (!note.empty()) {
        reason += fmt::format(" (its condition fails closed: {})", note);
      }
      return {Effect::kDeny, StatementOf(found), reason};
    }
    if (!allow) {
      allow = found;
    }
  }

  if (allow) {
    return {Effect::kAllow, StatementOf(*allow),
            fmt::format("allowed by {} rule {}", allow->policy->name,
                        allow->index)};
  }
  std::string reason = "no rule allows it (default deny)";
  if (!allow_note.empty()) {
    reason +=
        fmt::format("; an allow's condition fails closed: {}", allow_note);
  }
  return {.reason = reason};
}

Summary Summarize(const PolicySet& set,
                  const std::string& role_name,
                  Action action,
                  Resource resource) {
  const Role* role = set.FindRole(role_name);
  if (role == nullptr) {
    return {};
  }

  bool unconditional_allow = false;
  std::vector<std::string> allow_if;
  std::vector<std::string> deny_if;
  for (const Found& found : RulesOf(set, *role)) {
    const Rule& rule = *found.rule;
    if (!Applies(rule, action, resource)) {
      continue;
    }
    if (rule.effect == Effect::kDeny) {
      if (rule.conditions.empty()) {
        return {};
      }
      deny_if.push_back(Describe(rule.conditions));
    } else if (rule.conditions.empty()) {
      unconditional_allow = true;
    } else {
      allow_if.push_back(Describe(rule.conditions));
    }
  }

  if (!unconditional_allow && allow_if.empty()) {
    return {};
  }
  if (unconditional_allow && deny_if.empty()) {
    return {.verdict = Verdict::kAllow};
  }
  if (unconditional_allow) {
    allow_if.clear();
  }
  return {Verdict::kConditional, std::move(allow_if), std::move(deny_if)};
}

std::string Summary::Text() const {
  if (verdict != Verdict::kConditional) {
    return "";
  }
  std::string text;
  if (!allow_if.empty()) {
    text = fmt::format("if {}", fmt::join(allow_if, " or "));
  }
  if (!deny_if.empty()) {
    text += fmt::format("{}unless {}", text.empty() ? "" : ", ",
                        fmt::join(deny_if, " or "));
  }
  return text;
}

}  // namespace siq::policy
