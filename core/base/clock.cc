#include "core/base/clock.h"

#include <thread>

namespace siq {

TimePoint SystemClock::Now() const {
  return std::chrono::system_clock::now();
}

void SystemClock::SleepFor(std::chrono::milliseconds duration) {
  std::this_thread::sleep_for(duration);
}

Clock& DefaultClock() {
  static SystemClock clock;
  return clock;
}

}  // namespace siq
