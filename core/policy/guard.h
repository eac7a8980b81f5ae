// PolicyGuard: the policies as the barbican::Guard that every siq command
// puts in front of its Barbican client. It acts as one role of the role
// table, with the variables of that identity (vps_id for a VPS), and
// answers each request the client describes with Evaluate's decision.
//
// A read whose name only the answer tells (NameCheck::kAfterAnswer) goes
// ahead when some name could be allowed (Summarize says not kDeny); the
// client asks again with the name before it hands the answer over.
//
// A denial is kPermissionDenied without an HTTP status (exit code 3,
// kPolicyDenied) and names the role, the request and the deciding
// statement with its file and line. Each decision is one debug log line.
//
// Owns its copy of the policy set. Not safe to share between threads.
#pragma once

#include <map>
#include <string>
#include <string_view>

#include "core/barbican/guard.h"
#include "core/base/status.h"
#include "core/policy/evaluator.h"
#include "core/policy/policy.h"

namespace siq::policy {

// The role `siq run` acts as, with vps_id set to its VPS.
inline constexpr std::string_view kVpsRole = "vps-application";

class PolicyGuard : public barbican::Guard {
 public:
  PolicyGuard(PolicySet set,
              std::string role,
              std::map<std::string, std::string> vars);

  [[nodiscard]] Status Check(const barbican::GuardedCall& call) override;

  const std::string& role() const { return role_; }

 private:
  PolicySet set_;
  std::string role_;
  std::map<std::string, std::string> vars_;
};

// The policy words of a guarded call.
Resource ResourceOf(barbican::GuardedResource resource);
Action ActionOf(barbican::GuardedAction action);

// Where a command finds its policies: `dir` when it is a directory (errors
// in it are errors); the compiled-in shipped policies when `dir` is
// `fallback_dir` (the config's default) and it does not exist; otherwise
// kInvalidArgument naming `dir`.
[[nodiscard]] Result<PolicySet> LoadEnforcedPolicies(
    const std::string& dir,
    const std::string& fallback_dir);

}  // namespace siq::policy
