#include "core/base/iso_time.h"

#include <chrono>
#include <string>

#include <gtest/gtest.h>

namespace siq {
namespace {

using std::chrono::days;
using std::chrono::hours;
using std::chrono::microseconds;
using std::chrono::minutes;
using std::chrono::seconds;

// 2026-12-03T13:00:00Z, computed independently of the code under test.
TimePoint December3At1300() {
  return TimePoint(
      std::chrono::sys_days(std::chrono::year(2026) / std::chrono::December / 3)
          .time_since_epoch() +
      hours(13));
}

TEST(IsoTimeTest, FormatWritesUtcToTheSecond) {
  TimePoint time = December3At1300() + minutes(4) + seconds(5);

  EXPECT_EQ(FormatIso8601(time), "2026-12-03T13:04:05Z");
}

TEST(IsoTimeTest, FormatDropsTheFractionOfASecond) {
  TimePoint time = December3At1300() + std::chrono::milliseconds(999);

  EXPECT_EQ(FormatIso8601(time), "2026-12-03T13:00:00Z");
}

TEST(IsoTimeTest, FormatRoundsTimesBeforeTheEpochDown) {
  TimePoint time = TimePoint() - std::chrono::milliseconds(500);

  EXPECT_EQ(FormatIso8601(time), "1969-12-31T23:59:59Z");
}

TEST(IsoTimeTest, ParseReadsTheFormItWrites) {
  Result<TimePoint> time = ParseIso8601("2026-12-03T13:00:00Z");

  ASSERT_TRUE(time.ok()) << time.status().message();
  EXPECT_EQ(*time, December3At1300());
}

TEST(IsoTimeTest, ParseTakesATimeWithoutZoneAsUtc) {
  Result<TimePoint> time = ParseIso8601("2026-12-03T13:00:00");

  ASSERT_TRUE(time.ok()) << time.status().message();
  EXPECT_EQ(*time, December3At1300());
}

TEST(IsoTimeTest, ParseReadsBarbicansMicroseconds) {
  Result<TimePoint> time = ParseIso8601("2026-12-03T13:00:00.123456");

  ASSERT_TRUE(time.ok()) << time.status().message();
  EXPECT_EQ(*time, December3At1300() + microseconds(123456));
}

TEST(IsoTimeTest, ParseReadsAZeroOffset) {
  Result<TimePoint> time = ParseIso8601("2026-12-03T13:00:00+00:00");

  ASSERT_TRUE(time.ok()) << time.status().message();
  EXPECT_EQ(*time, December3At1300());
}

TEST(IsoTimeTest, ParseReadsKeystonesFractionWithZ) {
  Result<TimePoint> time = ParseIso8601("2026-12-03T13:00:00.000000Z");

  ASSERT_TRUE(time.ok()) << time.status().message();
  EXPECT_EQ(*time, December3At1300());
}

TEST(IsoTimeTest, ParseAppliesAnOffsetEastOfUtc) {
  Result<TimePoint> time = ParseIso8601("2026-12-03T15:30:00+02:30");

  ASSERT_TRUE(time.ok()) << time.status().message();
  EXPECT_EQ(*time, December3At1300());
}

TEST(IsoTimeTest, ParseAppliesAnOffsetWestOfUtc) {
  Result<TimePoint> time = ParseIso8601("2026-12-03T08:00:00-05:00");

  ASSERT_TRUE(time.ok()) << time.status().message();
  EXPECT_EQ(*time, December3At1300());
}

TEST(IsoTimeTest, ParseKeepsNanosecondsAndDropsFinerDigits) {
  Result<TimePoint> time = ParseIso8601("2026-12-03T13:00:00.1234567891Z");

  ASSERT_TRUE(time.ok()) << time.status().message();
  EXPECT_EQ(*time - December3At1300(), std::chrono::nanoseconds(123456789));
}

TEST(IsoTimeTest, ParseReadsALeapDay) {
  Result<TimePoint> time = ParseIso8601("2028-02-29T00:00:00Z");

  ASSERT_TRUE(time.ok()) << time.status().message();
  EXPECT_EQ(FormatIso8601(*time), "2028-02-29T00:00:00Z");
}

TEST(IsoTimeTest, ParseRefusesADayThatDoesNotExist) {
  Result<TimePoint> time = ParseIso8601("2026-02-29T00:00:00Z");

  ASSERT_FALSE(time.ok());
  EXPECT_EQ(time.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(time.status().message(),
            "'2026-02-29T00:00:00Z' names a date or time of day that does "
            "not exist");
}

TEST(IsoTimeTest, ParseRefusesAnHourPast23) {
  Result<TimePoint> time = ParseIso8601("2026-12-03T24:00:00Z");

  EXPECT_EQ(time.status().code(), StatusCode::kInvalidArgument);
}

TEST(IsoTimeTest, ParseRefusesTextOfAnotherFormAndQuotesIt) {
  Result<TimePoint> time = ParseIso8601("3 December 2026");

  ASSERT_FALSE(time.ok());
  EXPECT_EQ(time.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(time.status().message(),
            "'3 December 2026' is not an ISO 8601 time "
            "(YYYY-MM-DDThh:mm:ss[.fraction][Z|+hh:mm])");
}

TEST(IsoTimeTest, ParseRefusesMalformedVariants) {
  for (const char* text : {
           "",
           "2026-12-03",
           "2026-12-03 13:00:00Z",
           "2026-12-03T13:00Z",
           "2026-12-03T13:00:00.Z",
           "2026-12-03T13:00:00ZZ",
           "2026-12-03T13:00:00+0000",
           "2026-12-03T13:00:00+24:00",
           "2026-12-03T13:00:00 ",
           "26-12-03T13:00:00Z",
           "2026-1-03T13:00:00Z",
       }) {
    Result<TimePoint> time = ParseIso8601(text);

    EXPECT_EQ(time.status().code(), StatusCode::kInvalidArgument) << text;
  }
}

TEST(IsoTimeTest, ParseRefusesAYearATimePointCannotHold) {
  Result<TimePoint> time = ParseIso8601("9999-12-31T23:59:59Z");

  ASSERT_FALSE(time.ok());
  EXPECT_EQ(time.status().message(),
            "'9999-12-31T23:59:59Z' is outside the range of times siq can "
            "hold");
}

TEST(IsoTimeTest, ParseEscapesUnprintableBytesInItsMessage) {
  Result<TimePoint> time = ParseIso8601("2026\n\xC3\xA9");

  ASSERT_FALSE(time.ok());
  EXPECT_EQ(time.status().message(),
            "'2026\\x0A\\xC3\\xA9' is not an ISO 8601 time "
            "(YYYY-MM-DDThh:mm:ss[.fraction][Z|+hh:mm])");
}

TEST(IsoTimeTest, ParseDurationReadsEachUnit) {
  EXPECT_EQ(ParseDuration("90d").value(), days(90));
  EXPECT_EQ(ParseDuration("12h").value(), hours(12));
  EXPECT_EQ(ParseDuration("30m").value(), minutes(30));
  EXPECT_EQ(ParseDuration("45s").value(), seconds(45));
}

TEST(IsoTimeTest, ParseDurationRefusesTextWithoutExactlyOneUnit) {
  Result<seconds> duration = ParseDuration("90");

  ASSERT_FALSE(duration.ok());
  EXPECT_EQ(duration.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(duration.status().message(),
            "invalid duration '90': expected a positive whole number and "
            "one unit: d (days), h (hours), m (minutes) or s (seconds), as "
            "in 90d");
}

TEST(IsoTimeTest, ParseDurationRefusesMalformedVariants) {
  for (const char* text : {"", "d", "0d", "-5d", "+5d", "1.5d", "5 d", " 5d",
                           "5dd", "5w", "5D", "1d12h", "5d "}) {
    Result<seconds> duration = ParseDuration(text);

    EXPECT_EQ(duration.status().code(), StatusCode::kInvalidArgument)
        << "'" << text << "'";
  }
}

TEST(IsoTimeTest, ParseDurationRefusesMoreThanAHundredYears) {
  Result<seconds> duration = ParseDuration("36501d");

  ASSERT_FALSE(duration.ok());
  EXPECT_EQ(duration.status().message(),
            "invalid duration '36501d': longer than 100 years");
}

TEST(IsoTimeTest, ParseDurationRefusesANumberThatWouldOverflow) {
  Result<seconds> duration = ParseDuration("99999999999999999999s");

  EXPECT_EQ(duration.status().code(), StatusCode::kInvalidArgument);
}

TEST(IsoTimeTest, FormatDurationUsesTheLargestExactUnit) {
  EXPECT_EQ(FormatDuration(days(90)), "90d");
  EXPECT_EQ(FormatDuration(hours(36)), "36h");
  EXPECT_EQ(FormatDuration(minutes(90)), "90m");
  EXPECT_EQ(FormatDuration(seconds(90)), "90s");
}

TEST(IsoTimeTest, FormatDurationWritesZeroInSeconds) {
  EXPECT_EQ(FormatDuration(seconds(0)), "0s");
}

TEST(IsoTimeTest, FormatDurationIsReadBackByParseDuration) {
  for (seconds duration : {seconds(1), seconds(61), seconds(3'660),
                           seconds(90'000), seconds(days(36'500))}) {
    Result<seconds> parsed = ParseDuration(FormatDuration(duration));

    ASSERT_TRUE(parsed.ok()) << parsed.status().message();
    EXPECT_EQ(*parsed, duration);
  }
}

}  // namespace
}  // namespace siq
