// The exit codes of every siq command, in one place. The man pages list the
// same numbers; scripts and cron wrappers branch on them, so a number never
// changes meaning once released.
#pragma once

#include "core/base/status.h"

namespace siq {

enum class ExitCode : int {
  kOk = 0,
  kUsage = 1,                 // bad flags or arguments; nothing was done
  kRuntime = 2,               // a server, network or file error
  kPolicyDenied = 3,          // siq's policy refused the action
  kPartialFailure = 4,        // some items succeeded, some failed
  kAuditFailed = 5,           // a compliance check failed
  kLocked = 6,                // another siq holds the record store's lock
  kAuthFailed = 7,            // Keystone refused the credentials
  kRecoverRebuilt = 8,        // recover: rung 2, container/ACLs/record rebuilt
  kRecoverReprovisioned = 9,  // recover: rung 3, secrets re-provisioned
};

// The exit code a command returns when it stops on `status`.
ExitCode ExitCodeFor(const Status& status);

}  // namespace siq
