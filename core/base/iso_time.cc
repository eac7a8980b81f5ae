#include "core/base/iso_time.h"

#include <array>
#include <cstdint>
#include <optional>

#include <fmt/format.h>

namespace siq {
namespace {

constexpr size_t kMaxQuoted = 64;

// `text` quoted for an error message: cut to kMaxQuoted bytes and with
// anything but printable ASCII escaped, so that text from a file or a flag
// cannot break the message (or a JSON document that carries it) apart.
std::string Quote(std::string_view text) {
  std::string out = "'";
  for (char c : text.substr(0, kMaxQuoted)) {
    auto byte = static_cast<unsigned char>(c);
    if (byte >= 0x20 && byte < 0x7f) {
      out += c;
    } else {
      out += fmt::format("\\x{:02X}", byte);
    }
  }
  out += text.size() > kMaxQuoted ? "'..." : "'";
  return out;
}

// The parts of an ISO 8601 time, as written.
struct IsoFields {
  int year = 0;
  int month = 0;
  int day = 0;
  int hour = 0;
  int minute = 0;
  int second = 0;
  int64_t nanoseconds = 0;
  int offset_minutes = 0;  // east of UTC
};

// Reads text of a fixed layout left to right; every method consumes only
// what it accepts.
class Cursor {
 public:
  explicit Cursor(std::string_view text) : text_(text) {}

  bool AtEnd() const { return at_ == text_.size(); }

  bool Skip(char expected) {
    if (AtEnd() || text_[at_] != expected) {
      return false;
    }
    ++at_;
    return true;
  }

  // Exactly `count` decimal digits.
  bool Digits(size_t count, int& value) {
    value = 0;
    for (size_t i = 0; i < count; ++i) {
      if (AtEnd() || !IsDigit(text_[at_])) {
        return false;
      }
      value = value * 10 + (text_[at_++] - '0');
    }
    return true;
  }

  // One or more digits after a decimal point, as nanoseconds. Digits past
  // the ninth are below what a TimePoint holds and are dropped.
  bool Fraction(int64_t& nanoseconds) {
    nanoseconds = 0;
    int64_t scale = 100'000'000;
    size_t start = at_;
    while (!AtEnd() && IsDigit(text_[at_])) {
      nanoseconds += scale * (text_[at_++] - '0');
      scale /= 10;
    }
    return at_ > start;
  }

 private:
  static bool IsDigit(char c) { return c >= '0' && c <= '9'; }

  std::string_view text_;
  size_t at_ = 0;
};

bool ReadOffset(Cursor& in, int& offset_minutes) {
  int sign = 1;
  if (in.Skip('-')) {
    sign = -1;
  } else if (!in.Skip('+')) {
    return false;
  }
  int hours = 0;
  int minutes = 0;
  if (!in.Digits(2, hours) || !in.Skip(':') || !in.Digits(2, minutes) ||
      hours > 23 || minutes > 59) {
    return false;
  }
  offset_minutes = sign * (hours * 60 + minutes);
  return true;
}

bool ReadIsoFields(std::string_view text, IsoFields& fields) {
  Cursor in(text);
  bool date_and_time = in.Digits(4, fields.year) && in.Skip('-') &&
                       in.Digits(2, fields.month) && in.Skip('-') &&
                       in.Digits(2, fields.day) && in.Skip('T') &&
                       in.Digits(2, fields.hour) && in.Skip(':') &&
                       in.Digits(2, fields.minute) && in.Skip(':') &&
                       in.Digits(2, fields.second);
  if (!date_and_time) {
    return false;
  }

  if (in.Skip('.') && !in.Fraction(fields.nanoseconds)) {
    return false;
  }

  if (in.AtEnd() || in.Skip('Z')) {
    return in.AtEnd();
  }
  return ReadOffset(in, fields.offset_minutes) && in.AtEnd();
}

// Seconds since the epoch of a valid date and time, or nothing when the
// fields name a day or time of day that does not exist.
std::optional<int64_t> EpochSeconds(const IsoFields& fields) {
  std::chrono::year_month_day date{
      std::chrono::year(fields.year),
      std::chrono::month(static_cast<unsigned>(fields.month)),
      std::chrono::day(static_cast<unsigned>(fields.day))};
  if (!date.ok() || fields.hour > 23 || fields.minute > 59 ||
      fields.second > 59) {
    return std::nullopt;
  }
  int64_t days = std::chrono::sys_days(date).time_since_epoch().count();
  int64_t second_of_day = int64_t{fields.hour} * 3'600 +
                          int64_t{fields.minute} * 60 + fields.second;
  return days * 86'400 + second_of_day - int64_t{fields.offset_minutes} * 60;
}

struct DurationUnit {
  char symbol;
  int64_t seconds;
};

// Largest first, for FormatDuration.
constexpr std::array<DurationUnit, 4> kDurationUnits = {{
    {'d', 86'400},
    {'h', 3'600},
    {'m', 60},
    {'s', 1},
}};

constexpr int64_t kMaxDurationSeconds = int64_t{36'500} * 86'400;

Status BadDuration(std::string_view text, std::string_view why) {
  return Status(StatusCode::kInvalidArgument,
                fmt::format("invalid duration {}: {}", Quote(text), why));
}

}  // namespace

std::string FormatIso8601(TimePoint time) {
  auto seconds = std::chrono::floor<std::chrono::seconds>(time);
  auto days = std::chrono::floor<std::chrono::days>(seconds);
  std::chrono::year_month_day date(days);
  int64_t second_of_day = (seconds - days).count();
  return fmt::format(
      "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z", static_cast<int>(date.year()),
      static_cast<unsigned>(date.month()), static_cast<unsigned>(date.day()),
      second_of_day / 3'600, second_of_day / 60 % 60, second_of_day % 60);
}

Result<TimePoint> ParseIso8601(std::string_view text) {
  IsoFields fields;
  if (!ReadIsoFields(text, fields)) {
    return Status(StatusCode::kInvalidArgument,
                  fmt::format("{} is not an ISO 8601 time "
                              "(YYYY-MM-DDThh:mm:ss[.fraction][Z|+hh:mm])",
                              Quote(text)));
  }

  std::optional<int64_t> seconds = EpochSeconds(fields);
  if (!seconds) {
    return Status(StatusCode::kInvalidArgument,
                  fmt::format("{} names a date or time of day that does not "
                              "exist",
                              Quote(text)));
  }

  // The last whole second that still has room for a fraction, so that the
  // sum below cannot overflow the TimePoint's representation.
  constexpr int64_t kLatest =
      std::chrono::floor<std::chrono::seconds>(TimePoint::max())
          .time_since_epoch()
          .count() -
      1;
  constexpr int64_t kEarliest =
      std::chrono::ceil<std::chrono::seconds>(TimePoint::min())
          .time_since_epoch()
          .count();
  if (*seconds > kLatest || *seconds < kEarliest) {
    return Status(StatusCode::kInvalidArgument,
                  fmt::format("{} is outside the range of times siq can hold",
                              Quote(text)));
  }

  auto since_epoch = std::chrono::duration_cast<TimePoint::duration>(
                         std::chrono::seconds(*seconds)) +
                     std::chrono::duration_cast<TimePoint::duration>(
                         std::chrono::nanoseconds(fields.nanoseconds));
  return TimePoint(since_epoch);
}

Result<std::chrono::seconds> ParseDuration(std::string_view text) {
  constexpr std::string_view kExpected =
      "expected a positive whole number and one unit: d (days), h (hours), "
      "m (minutes) or s (seconds), as in 90d";
  // Twelve digits of days still fit in 64 bits once multiplied out.
  constexpr size_t kMaxDigits = 12;

  if (text.size() < 2 || text.size() > kMaxDigits + 1) {
    return BadDuration(text, kExpected);
  }
  const DurationUnit* unit = nullptr;
  for (const DurationUnit& candidate : kDurationUnits) {
    if (text.back() == candidate.symbol) {
      unit = &candidate;
    }
  }
  if (unit == nullptr) {
    return BadDuration(text, kExpected);
  }

  int64_t count = 0;
  for (char c : text.substr(0, text.size() - 1)) {
    if (c < '0' || c > '9') {
      return BadDuration(text, kExpected);
    }
    count = count * 10 + (c - '0');
  }
  if (count == 0) {
    return BadDuration(text, kExpected);
  }
  if (count > kMaxDurationSeconds / unit->seconds) {
    return BadDuration(text, "longer than 100 years");
  }
  return std::chrono::seconds(count * unit->seconds);
}

std::string FormatDuration(std::chrono::seconds duration) {
  int64_t count = duration.count();
  if (count == 0) {
    return "0s";
  }
  for (const DurationUnit& unit : kDurationUnits) {
    if (count % unit.seconds == 0) {
      return fmt::format("{}{}", count / unit.seconds, unit.symbol);
    }
  }
  return fmt::format("{}s", count);  // not reached: every count is seconds
}

}  // namespace siq
