// The batch file of `siq provision --batch`: CSV with a header or JSON
// lines, checked whole before anything is provisioned.

#include "core/provision/batch.h"

#include <string>

#include <gtest/gtest.h>

namespace siq::provision {
namespace {

TEST(BatchParseTest, ReadsCsvWithHeader) {
  auto entries = ParseBatch(
      "vps,org,env,region,reader\n"
      "vps-1,org-1,staging,RegionOne,reader-1\n"
      "vps-2, org-2 ,,,reader-2\n",
      "fleet.csv");

  ASSERT_TRUE(entries.ok()) << entries.status().message();
  ASSERT_EQ(entries->size(), 2u);
  const Request& first = (*entries)[0].request;
  EXPECT_EQ((*entries)[0].line, 2);
  EXPECT_EQ(first.vps.str(), "vps-1");
  EXPECT_EQ(first.organization, "org-1");
  EXPECT_EQ(first.environment, "staging");
  EXPECT_EQ(first.region, "RegionOne");
  EXPECT_EQ(first.reader.mode, ReaderChoice::Mode::kExisting);
  EXPECT_EQ(first.reader.user, "reader-1");
  const Request& second = (*entries)[1].request;
  EXPECT_EQ(second.organization, "org-2");
  EXPECT_EQ(second.environment, "production");
  EXPECT_EQ(second.region, "");
}

TEST(BatchParseTest, CsvColumnsMayComeInAnyOrderAndSkipOptionalOnes) {
  auto entries = ParseBatch("reader,vps,org\nr-1,vps-9,o-9\n", "f.csv");

  ASSERT_TRUE(entries.ok()) << entries.status().message();
  ASSERT_EQ(entries->size(), 1u);
  EXPECT_EQ((*entries)[0].request.vps.str(), "vps-9");
  EXPECT_EQ((*entries)[0].request.reader.user, "r-1");
  EXPECT_EQ((*entries)[0].request.organization, "o-9");
}

TEST(BatchParseTest, ReadsJsonLinesAndSkipsBlankAndCommentLines) {
  auto entries = ParseBatch(
      "# the fleet\n"
      "{\"vps\": \"vps-1\", \"org\": \"o\", \"reader\": \"r-1\"}\n"
      "\n"
      "{\"vps\": \"vps-2\", \"org\": \"o\", \"env\": \"dev\", "
      "\"region\": \"R2\", \"reader\": \"r-2\"}\n",
      "fleet.jsonl");

  ASSERT_TRUE(entries.ok()) << entries.status().message();
  ASSERT_EQ(entries->size(), 2u);
  EXPECT_EQ((*entries)[0].line, 2);
  EXPECT_EQ((*entries)[1].line, 4);
  EXPECT_EQ((*entries)[1].request.environment, "dev");
  EXPECT_EQ((*entries)[1].request.region, "R2");
}

TEST(BatchParseTest, BadVpsIdNamesFileLineAndField) {
  auto entries = ParseBatch(
      "vps,org,reader\nvps-1,o,r\nvps_2%,o,r\nvps-3,o,r\n", "fleet.csv");

  ASSERT_FALSE(entries.ok());
  EXPECT_EQ(entries.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(entries.status().message().find("fleet.csv:3: vps:"),
            std::string::npos)
      << entries.status().message();
}

TEST(BatchParseTest, EveryBadLineIsListed) {
  auto entries =
      ParseBatch("vps,org,reader\nvps-1,,r\nvps-2,o,r\nvps-3,o\n", "fleet.csv");

  ASSERT_FALSE(entries.ok());
  std::string message = entries.status().message();
  EXPECT_NE(message.find("2 bad lines"), std::string::npos) << message;
  EXPECT_NE(message.find("fleet.csv:2: org: missing"), std::string::npos)
      << message;
  EXPECT_NE(message.find("fleet.csv:4: 2 fields, the header has 3"),
            std::string::npos)
      << message;
}

TEST(BatchParseTest, VpsListedTwiceIsRefused) {
  auto entries =
      ParseBatch("vps,org,reader\nvps-1,o,r\nvps-1,o,r2\n", "fleet.csv");

  ASSERT_FALSE(entries.ok());
  EXPECT_NE(entries.status().message().find(
                "fleet.csv:3: vps: vps-1 is already on line 2"),
            std::string::npos)
      << entries.status().message();
}

TEST(BatchParseTest, HeaderWithUnknownColumnIsRefused) {
  auto entries = ParseBatch("vps,org,reader,colour\nvps-1,o,r,red\n", "f.csv");

  ASSERT_FALSE(entries.ok());
  EXPECT_NE(entries.status().message().find(
                "f.csv:1: header: unknown column 'colour'"),
            std::string::npos)
      << entries.status().message();
}

TEST(BatchParseTest, HeaderWithoutReaderIsRefused) {
  auto entries = ParseBatch("vps,org\nvps-1,o\n", "f.csv");

  ASSERT_FALSE(entries.ok());
  EXPECT_NE(entries.status().message().find("f.csv:1: header: no column "
                                            "'reader'"),
            std::string::npos)
      << entries.status().message();
}

TEST(BatchParseTest, QuotedCsvFieldIsRefused) {
  auto entries = ParseBatch("vps,org,reader\n\"vps-1\",o,r\n", "f.csv");

  ASSERT_FALSE(entries.ok());
  EXPECT_NE(entries.status().message().find("f.csv:2: quoted fields"),
            std::string::npos)
      << entries.status().message();
}

TEST(BatchParseTest, MalformedJsonLineNamesItsLine) {
  auto entries = ParseBatch(
      "{\"vps\": \"vps-1\", \"org\": \"o\", \"reader\": \"r\"}\n"
      "{\"vps\": \"vps-2\", \"org\": \n",
      "f.jsonl");

  ASSERT_FALSE(entries.ok());
  EXPECT_NE(entries.status().message().find("f.jsonl:2: not valid JSON"),
            std::string::npos)
      << entries.status().message();
}

TEST(BatchParseTest, JsonFieldThatIsNotAStringIsRefused) {
  auto entries =
      ParseBatch("{\"vps\": \"vps-1\", \"org\": 7, \"reader\": \"r\"}\n", "f");

  ASSERT_FALSE(entries.ok());
  EXPECT_NE(entries.status().message().find("f:1: org: not a string"),
            std::string::npos)
      << entries.status().message();
}

TEST(BatchParseTest, JsonUnknownFieldIsRefused) {
  auto entries = ParseBatch(
      "{\"vps\": \"vps-1\", \"org\": \"o\", \"reader\": \"r\", \"x\": \"1\"}\n",
      "f");

  ASSERT_FALSE(entries.ok());
  EXPECT_NE(entries.status().message().find("f:1: x: unknown field"),
            std::string::npos)
      << entries.status().message();
}

TEST(BatchParseTest, FileWithoutVpsIsRefused) {
  auto entries = ParseBatch("# nothing yet\n\nvps,org,reader\n", "f.csv");

  ASSERT_FALSE(entries.ok());
  EXPECT_NE(entries.status().message().find("f.csv: no VPS listed"),
            std::string::npos)
      << entries.status().message();
}

TEST(BatchParseTest, MissingFileIsAnIoErrorNamingIt) {
  auto entries = ReadBatchFile("/nonexistent/fleet.csv");

  ASSERT_FALSE(entries.ok());
  EXPECT_EQ(entries.status().code(), StatusCode::kIoError);
  EXPECT_NE(entries.status().message().find("/nonexistent/fleet.csv"),
            std::string::npos);
}

}  // namespace
}  // namespace siq::provision
