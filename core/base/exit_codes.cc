#include "core/base/exit_codes.h"

namespace siq {

ExitCode ExitCodeFor(const Status& status) {
  // A server's answer is a runtime matter even when it says "bad request".
  if (status.http_status() != 0 &&
      status.code() != StatusCode::kUnauthenticated) {
    return ExitCode::kRuntime;
  }
  switch (status.code()) {
    case StatusCode::kOk:
      return ExitCode::kOk;
    case StatusCode::kInvalidArgument:
      return ExitCode::kUsage;
    case StatusCode::kLocked:
      return ExitCode::kLocked;
    case StatusCode::kUnauthenticated:
      return ExitCode::kAuthFailed;
    // Without an HTTP status, a refusal is siq's own policy's.
    case StatusCode::kPermissionDenied:
      return ExitCode::kPolicyDenied;
    default:
      return ExitCode::kRuntime;
  }
}

}  // namespace siq
