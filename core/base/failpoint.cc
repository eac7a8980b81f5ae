#include "core/base/failpoint.h"

#include <csignal>
#include <cstdlib>
#include <string>

namespace siq {

void Failpoint(std::string_view name) {
  static const std::string kArmed = [] {
    const char* value = std::getenv("SIQ_FAILPOINT");
    return std::string(value == nullptr ? "" : value);
  }();
  if (!kArmed.empty() && kArmed == name) {
    (void)std::raise(SIGKILL);
  }
}

}  // namespace siq
