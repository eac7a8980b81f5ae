// The decision: may a role do an action to a resource with a given name?
//
// Default deny; any matching deny rule wins; otherwise an allow rule must
// match. A rule matches when the request's resource is the rule's (a rule
// on barbican:secrets also covers barbican:secrets:payload, which is part of
// a secret; not the other way round), its action is among the rule's, and
// every condition holds.
//
// Fail closed. A condition that cannot be decided — it needs a variable that
// is unset or not valid (a vps_id that records::VpsId::Parse refuses, such
// as one holding '_' or '%'), or the request names no resource — counts as
// holding for a deny rule and as not holding for an allow rule. So a missing
// variable can only ever take access away, never give it.
//
// name_prefix compares bytes: no wildcard, no case folding. "vps-1_" matches
// "vps-1_JWT_SECRET" and never "vps-10_JWT_SECRET". An exact `name`
// condition matches the whole name only: "vps-1" never "vps-10".
//
// Free functions over a PolicySet; safe to call from several threads.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/policy/policy.h"

namespace siq::policy {

struct Request {
  std::string role;
  Action action = Action::kGet;
  Resource resource = Resource::kSecrets;
  std::string name;                         // empty: no name known
  std::map<std::string, std::string> vars;  // "vps_id" -> "vps-1"
};

// The rule that decided: its policy, its index in the policy's rules
// (from 0) and where it was written.
struct Statement {
  std::string policy;
  int rule_index = 0;
  Location location;
};

struct Decision {
  Effect effect = Effect::kDeny;
  // The rule that decided; nothing when the default deny did.
  std::optional<Statement> statement;
  // Why, in a sentence: "denied by deployment-secrets-provisioner rule 1",
  // "no rule allows it (default deny)", "unknown role 'x'".
  std::string reason;
};

[[nodiscard]] Decision Evaluate(const PolicySet& set, const Request& request);

// What a role may do to a resource whatever the name and variables are:
// for `siq policy explain` and the oslo rendering.
enum class Verdict {
  kAllow,        // an unconditional allow, and no deny that could apply
  kConditional,  // allowed only when conditions hold (conditions says which)
  kDeny,         // an unconditional deny, or no allow at all
};

struct Summary {
  Verdict verdict = Verdict::kDeny;
  // For kConditional: the conditions of the allows that need them
  // ("name_prefix ${vps_id}_"; empty when an allow has none), and of the
  // denies that could still apply.
  std::vector<std::string> allow_if;
  std::vector<std::string> deny_if;

  // "if name_prefix ${vps_id}_", "unless ...", or "" for kAllow and kDeny.
  std::string Text() const;
};

[[nodiscard]] Summary Summarize(const PolicySet& set,
                                const std::string& role,
                                Action action,
                                Resource resource);

}  // namespace siq::policy
