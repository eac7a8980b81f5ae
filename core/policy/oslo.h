// The policies as a Barbican policy.yaml override (oslo.policy), so that
// Barbican itself enforces the roles, whoever calls it.
//
// Each Barbican rule that touches secrets, orders, containers, their ACLs,
// metadata and consumers is mapped to a (resource, action) of siq's model;
// the rendered check string grants it to the Keystone roles of every siq
// role that policy::Summarize allows it, and to nobody else:
//
//   - allowed outright: the role, within its own project
//     (rule:secret_project_match, rule:container_project_match,
//     rule:order_project_match; nothing for the collection rules, whose
//     target is the token's project);
//   - allowed only under a name condition, for reading: the role, and only
//     through the object's read ACL (rule:secret_acl_read,
//     rule:container_acl_read). Barbican's policy cannot see names; the ACL
//     is where siq makes a name condition real (provision and `policy
//     apply` put exactly the VPS's reader on its own secrets' ACLs);
//   - anything else, including conditional writes and conditional denies:
//     nobody ("!"). Fail closed.
//
// The override replaces Barbican's defaults for those rules for every
// identity: a Keystone role that no siq role names (admin included) loses
// them. Pure functions; safe to call from several threads.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "core/base/status.h"
#include "core/policy/policy.h"

namespace siq::policy {

// Barbican rule name -> check string, in a fixed order. Fails with
// kInvalidArgument naming the role's file and line when a Keystone role
// name holds anything but letters, digits and "_-.": it goes into a check
// string unquoted.
[[nodiscard]] Result<std::vector<std::pair<std::string, std::string>>>
OsloRules(const PolicySet& set);

// The rules as a policy.yaml document, with a header saying where it came
// from and how to install it. Fails as OsloRules does.
[[nodiscard]] Result<std::string> RenderOsloPolicy(const PolicySet& set);

}  // namespace siq::policy
