// The parts of `siq run` that need no server: choosing current and previous
// secrets, fingerprints, value encodings and the child's environment block.

#include <chrono>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "core/run/environment.h"
#include "core/run/secret_loader.h"

namespace siq::run {
namespace {

using barbican::SecretRef;
using std::chrono::seconds;

const TimePoint kEarlier = TimePoint(seconds(1'700'000'000));
const TimePoint kLater = kEarlier + seconds(90);

SecretRef Ref(const std::string& id) {
  return SecretRef("http://barbican:9311/v1/secrets/" + id);
}

LoadedSecret Loaded(const std::string& variable, std::string_view value) {
  return {{variable, variable, Ref(variable)}, "", SecretBytes(value)};
}

TEST(SelectCurrentAndPreviousTest, OneEntryPerKindIsCurrent) {
  std::vector<DatedEntry> entries = {{"JWT_SECRET", Ref("a"), kEarlier},
                                     {"DB_PASSWORD", Ref("b"), kLater}};

  auto selected = SelectCurrentAndPrevious(entries);

  ASSERT_TRUE(selected.ok()) << selected.status().message();
  std::vector<Selection> expected = {{"DB_PASSWORD", "DB_PASSWORD", Ref("b")},
                                     {"JWT_SECRET", "JWT_SECRET", Ref("a")}};
  EXPECT_EQ(*selected, expected);
}

TEST(SelectCurrentAndPreviousTest, NewerOfTwoIsCurrentAndOlderIsPrevious) {
  std::vector<DatedEntry> entries = {{"JWT_SECRET", Ref("new"), kLater},
                                     {"JWT_SECRET", Ref("old"), kEarlier}};

  auto selected = SelectCurrentAndPrevious(entries);

  ASSERT_TRUE(selected.ok()) << selected.status().message();
  std::vector<Selection> expected = {
      {"JWT_SECRET", "JWT_SECRET", Ref("new")},
      {"JWT_SECRET_PREVIOUS", "JWT_SECRET", Ref("old")}};
  EXPECT_EQ(*selected, expected);
}

TEST(SelectCurrentAndPreviousTest, OrderInTheContainerDoesNotMatter) {
  std::vector<DatedEntry> entries = {{"JWT_SECRET", Ref("old"), kEarlier},
                                     {"JWT_SECRET", Ref("new"), kLater}};

  auto selected = SelectCurrentAndPrevious(entries);

  ASSERT_TRUE(selected.ok());
  ASSERT_EQ(selected->size(), 2u);
  EXPECT_EQ((*selected)[0].ref, Ref("new"));
  EXPECT_EQ((*selected)[1].ref, Ref("old"));
}

TEST(SelectCurrentAndPreviousTest, TwoSecretsCreatedAtOnceAreRefused) {
  std::vector<DatedEntry> entries = {{"JWT_SECRET", Ref("a"), kEarlier},
                                     {"JWT_SECRET", Ref("b"), kEarlier}};

  auto selected = SelectCurrentAndPrevious(entries);

  EXPECT_EQ(selected.status().code(), StatusCode::kConflict);
  EXPECT_NE(selected.status().message().find("JWT_SECRET"), std::string::npos);
}

TEST(SelectCurrentAndPreviousTest, ThreeSecretsUnderOneNameAreRefused) {
  std::vector<DatedEntry> entries = {
      {"JWT_SECRET", Ref("a"), kEarlier},
      {"JWT_SECRET", Ref("b"), kLater},
      {"JWT_SECRET", Ref("c"), kLater + seconds(1)}};

  auto selected = SelectCurrentAndPrevious(entries);

  EXPECT_EQ(selected.status().code(), StatusCode::kConflict);
}

TEST(FingerprintTest, IsTheStartOfTheSha256OfTheRefId) {
  // printf 'abc' | sha256sum
  EXPECT_EQ(Fingerprint(Ref("abc")), "ba7816bf8f01cfea");
}

TEST(EncodeValueTest, EncodesBase64AndHex) {
  SecretBytes value(std::string_view("\x00\xff\x10", 3));

  auto base64 = EncodeValue("K", value, Encoding::kBase64);
  auto hex = EncodeValue("K", value, Encoding::kHex);

  ASSERT_TRUE(base64.ok());
  ASSERT_TRUE(hex.ok());
  EXPECT_EQ(base64->Reveal(), "AP8Q");
  EXPECT_EQ(hex->Reveal(), "00ff10");
}

TEST(EncodeValueTest, RawKeepsTheBytes) {
  SecretBytes value(std::string_view("a b\n\xff", 5));

  auto raw = EncodeValue("K", value, Encoding::kRaw);

  ASSERT_TRUE(raw.ok());
  EXPECT_EQ(raw->Reveal(), std::string_view("a b\n\xff", 5));
}

TEST(EncodeValueTest, RawRefusesANulByteNamingTheVariable) {
  SecretBytes value(std::string_view("a\0b", 3));

  auto raw = EncodeValue("JWT_SECRET", value, Encoding::kRaw);

  EXPECT_EQ(raw.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(raw.status().message().find("JWT_SECRET"), std::string::npos);
}

TEST(EnvironmentBlockTest, HoldsTheBaseAndTheEncodedSecrets) {
  std::vector<LoadedSecret> secrets;
  secrets.push_back(Loaded("JWT_SECRET", "ab"));
  secrets.push_back(Loaded("JWT_SECRET_PREVIOUS", "cd"));

  auto block = EnvironmentBlock::Build({"PATH=/bin", "HOME=/root"}, secrets,
                                       Encoding::kHex);

  ASSERT_TRUE(block.ok());
  std::vector<std::string_view> expected = {
      "PATH=/bin", "HOME=/root", "JWT_SECRET=6162", "JWT_SECRET_PREVIOUS=6364"};
  EXPECT_EQ(block->Entries(), expected);
}

TEST(EnvironmentBlockTest, SecretReplacesAVariableOfTheSameName) {
  std::vector<LoadedSecret> secrets;
  secrets.push_back(Loaded("JWT_SECRET", "x"));

  auto block = EnvironmentBlock::Build({"JWT_SECRET=stale", "A=1"}, secrets,
                                       Encoding::kRaw);

  ASSERT_TRUE(block.ok());
  std::vector<std::string_view> expected = {"A=1", "JWT_SECRET=x"};
  EXPECT_EQ(block->Entries(), expected);
}

TEST(EnvironmentBlockTest, EnvpPointsAtEachEntryAndEndsWithNull) {
  std::vector<LoadedSecret> secrets;
  secrets.push_back(Loaded("K", "v"));
  auto block = EnvironmentBlock::Build({"A=1"}, secrets, Encoding::kRaw);
  ASSERT_TRUE(block.ok());

  char* const* envp = block->envp();

  EXPECT_STREQ(envp[0], "A=1");
  EXPECT_STREQ(envp[1], "K=v");
  EXPECT_EQ(envp[2], nullptr);
}

}  // namespace
}  // namespace siq::run
