// Times and durations as text: ISO 8601 times as Keystone, Barbican and the
// deployment records write them, and the short durations ("90d", "12h") of
// rotation periods and command-line flags.
//
// Pure functions without state: safe to call from any thread.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "core/base/clock.h"
#include "core/base/status.h"

namespace siq {

// `time` in UTC to the whole second, rounded down: "2026-12-03T13:00:00Z".
std::string FormatIso8601(TimePoint time);

// Parses "YYYY-MM-DDThh:mm:ss", optionally followed by a fraction of a second
// (".123456", up to nanoseconds; further digits are dropped) and then "Z", a
// "+hh:mm" or "-hh:mm" offset, or nothing, which means UTC (Barbican writes
// "2026-12-03T13:00:00.123456" and "2026-12-03T13:00:00+00:00", Keystone
// "2026-12-03T13:00:00.000000Z"). Fails with kInvalidArgument, quoting the
// text, when it is not of that form, names an impossible date or time
// ("2026-02-30"), or lies outside the range a TimePoint holds (about the years
// 1678 to 2262).
[[nodiscard]] Result<TimePoint> ParseIso8601(std::string_view text);

// Parses a positive whole number followed by exactly one unit: d (days),
// h (hours), m (minutes) or s (seconds), as in "90d". Fails with
// kInvalidArgument, quoting the text and listing the units, for anything
// else, including zero, a sign, a fraction, spaces, and durations longer than
// 100 years.
[[nodiscard]] Result<std::chrono::seconds> ParseDuration(std::string_view text);

// `duration` in the largest unit that divides it exactly: 90 days is "90d",
// 36 hours "36h", 90 seconds "90s"; zero is "0s". ParseDuration reads the
// result back for any positive duration of at most 100 years.
std::string FormatDuration(std::chrono::seconds duration);

}  // namespace siq
