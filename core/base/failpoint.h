// Failpoints: named places where a crash test may kill siq on purpose.
//
// When the environment variable SIQ_FAILPOINT names a failpoint, siq sends
// itself SIGKILL as it passes that point, which is how the integration tests
// prove that every step of provisioning and rotation can be interrupted and
// resumed. Unset (as it always is in production), a failpoint costs one
// comparison. Safe to call from any thread.
#pragma once

#include <string_view>

namespace siq {

void Failpoint(std::string_view name);

}  // namespace siq
