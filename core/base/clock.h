// Clock: the time source behind an interface, so that tests of token
// renewal, backoff and rotation schedules control time instead of sleeping.
// SystemClock is stateless and safe to share between threads.
#pragma once

#include <chrono>

namespace siq {

using TimePoint = std::chrono::system_clock::time_point;

class Clock {
 public:
  virtual ~Clock() = default;
  virtual TimePoint Now() const = 0;
  // Blocks for `duration` (a fake clock just advances).
  virtual void SleepFor(std::chrono::milliseconds duration) = 0;
};

class SystemClock : public Clock {
 public:
  TimePoint Now() const override;
  void SleepFor(std::chrono::milliseconds duration) override;
};

// The process-wide system clock.
Clock& DefaultClock();

}  // namespace siq
