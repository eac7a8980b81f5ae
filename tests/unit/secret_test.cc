#include "core/base/secret.h"

#include <cstddef>
#include <memory>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <openssl/crypto.h>
#include <spdlog/logger.h>
#include <spdlog/sinks/ostream_sink.h>

#include "core/base/secret_json.h"

namespace siq {
namespace {

constexpr std::string_view kToken = "gAAAAABn-token-bytes";

// Every byte value once, NUL and non-UTF-8 bytes included.
std::string AllByteValues() {
  std::string bytes;
  for (int i = 0; i < 256; ++i) {
    bytes += static_cast<char>(i);
  }
  return bytes;
}

TEST(SecretBytesTest, FormatsAsMask) {
  SecretBytes secret(kToken);

  std::string text = fmt::format("token={}", secret);

  EXPECT_EQ(text, "token=[redacted]");
}

TEST(SecretBytesTest, StreamsAsMask) {
  SecretBytes secret(kToken);
  std::ostringstream out;

  out << "token=" << secret;

  EXPECT_EQ(out.str(), "token=[redacted]");
}

TEST(SecretBytesTest, LogsAsMask) {
  SecretBytes secret(kToken);
  std::ostringstream out;
  auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(out);
  spdlog::logger logger("secret_test", sink);
  logger.set_pattern("%v");

  logger.warn("token={}", secret);
  logger.flush();

  EXPECT_EQ(out.str(), "token=[redacted]\n");
}

TEST(SecretBytesTest, RevealsExactBytesIncludingNulAndNonUtf8) {
  std::string bytes("a\0b\xff\xfe\x80z", 7);

  SecretBytes secret(bytes);

  EXPECT_EQ(secret.size(), 7u);
  EXPECT_EQ(secret.Reveal(), bytes);
}

TEST(SecretBytesTest, DefaultIsEmpty) {
  SecretBytes secret;

  EXPECT_TRUE(secret.empty());
  EXPECT_EQ(secret.Reveal(), "");
}

TEST(SecretBytesTest, AppendGrowsPastSeveralReallocations) {
  SecretBytes secret;
  std::string expected;

  for (int round = 0; round < 40; ++round) {
    secret.Append(AllByteValues());
    secret.Append(static_cast<char>(round));
    expected += AllByteValues();
    expected += static_cast<char>(round);
  }

  EXPECT_EQ(secret.size(), 40u * 257u);
  EXPECT_EQ(secret.Reveal(), expected);
}

TEST(SecretBytesTest, AppendOfNothingChangesNothing) {
  SecretBytes secret(kToken);

  secret.Append(std::string_view());

  EXPECT_EQ(secret.Reveal(), kToken);
}

TEST(SecretBytesTest, EqualsSameBytes) {
  EXPECT_TRUE(SecretBytes(kToken).Equals(SecretBytes(kToken)));
  EXPECT_TRUE(SecretBytes().Equals(SecretBytes()));
}

TEST(SecretBytesTest, DiffersFromOtherBytesOfSameLength) {
  EXPECT_FALSE(SecretBytes("s3cret-a").Equals(SecretBytes("s3cret-b")));
}

TEST(SecretBytesTest, DiffersFromItsPrefix) {
  EXPECT_FALSE(SecretBytes("s3cret").Equals(SecretBytes("s3cre")));
  EXPECT_FALSE(SecretBytes("").Equals(SecretBytes("s")));
}

TEST(SecretBytesTest, MoveConstructionEmptiesSource) {
  SecretBytes source(kToken);

  SecretBytes target(std::move(source));

  EXPECT_EQ(target.Reveal(), kToken);
  // The moved-from state is the behaviour under test.
  // NOLINTNEXTLINE(bugprone-use-after-move,clang-analyzer-cplusplus.Move)
  EXPECT_EQ(source.Reveal(), "");
}

TEST(SecretBytesTest, MoveAssignmentEmptiesSourceAndReplacesTarget) {
  SecretBytes source(kToken);
  SecretBytes target("old token");

  target = std::move(source);

  EXPECT_EQ(target.Reveal(), kToken);
  // NOLINTNEXTLINE(bugprone-use-after-move,clang-analyzer-cplusplus.Move)
  EXPECT_EQ(source.Reveal(), "");
}

TEST(SecretBytesTest, CloneIsIndependentOfOriginal) {
  SecretBytes original(kToken);

  SecretBytes clone = original.Clone();
  clone.Append("-more");
  original.Clear();

  EXPECT_EQ(clone.Reveal(), std::string(kToken) + "-more");
  EXPECT_TRUE(original.empty());
}

// Wiping is observed by reading the bytes at the buffer's old address after
// it was freed. That is undefined behaviour in the abstract, but the buffer
// lives in OpenSSL's secure heap: one arena that stays mapped for the life of
// the process and is managed by OpenSSL's own allocator, so the read is
// defined in practice. Reads go through volatile so the compiler keeps them.
// OpenSSL's buddy allocator writes its free-list links into the first bytes
// of a freed block unless it merges the block into a free lower neighbour;
// these tests hold no other secure allocation that could stop the merge.
class SecretBytesWipeTest : public testing::Test {
 protected:
  // As siq's main() does; the later calls in this process do nothing.
  static void SetUpTestSuite() { InitSecureMemory(); }

  static bool AllZero(const volatile char* bytes, size_t size) {
    for (size_t i = 0; i < size; ++i) {
      if (bytes[i] != 0) {
        return false;
      }
    }
    return true;
  }
};

TEST_F(SecretBytesWipeTest, KeepsBytesOnSecureHeap) {
  SecretBytes secret(kToken);

  EXPECT_EQ(CRYPTO_secure_allocated(secret.Reveal().data()), 1);
}

TEST_F(SecretBytesWipeTest, ClearZeroesBytesAtOldAddress) {
  std::string value(64, 'S');
  SecretBytes secret(value);
  const volatile char* old = secret.Reveal().data();
  ASSERT_EQ(old[0], 'S');
  ASSERT_EQ(old[63], 'S');

  secret.Clear();

  EXPECT_TRUE(secret.empty());
  EXPECT_TRUE(AllZero(old, 64));
}

TEST_F(SecretBytesWipeTest, GrowingZeroesTheOutgrownBuffer) {
  SecretBytes secret(std::string(32, 'S'));
  const volatile char* old = secret.Reveal().data();

  secret.Append(std::string(100, 'T'));

  EXPECT_NE(secret.Reveal().data(), old);
  EXPECT_EQ(secret.Reveal(), std::string(32, 'S') + std::string(100, 'T'));
  EXPECT_TRUE(AllZero(old, 32));
}

TEST(DumpWithSecretTest, ReplacesPlaceholderWithEscapedSecret) {
  nlohmann::json doc = {
      {"auth", {{"password", kSecretPlaceholder}, {"user", "deployer"}}}};
  SecretBytes secret("pa\"ss\\word\n\t\x01\x1f end");

  SecretBytes text = DumpWithSecret(doc, secret);

  EXPECT_EQ(text.Reveal(),
            R"({"auth":{"password":"pa\"ss\\word\u000a\u0009\u0001\u001f end",)"
            R"("user":"deployer"}})");
}

TEST(DumpWithSecretTest, ParsesToDocumentWithSecretInPlace) {
  std::string value = "\"quoted\" \\ back\r\n\x02 tab\t \xc3\xa4\xe2\x82\xac /";
  nlohmann::json doc = {{"name", "vps1_JWT_SECRET"},
                        {"payload", kSecretPlaceholder},
                        {"meta", {{"list", {1, 2, 3}}, {"flag", true}}}};

  SecretBytes text = DumpWithSecret(doc, SecretBytes(value));

  nlohmann::json expected = doc;
  expected["payload"] = value;
  EXPECT_EQ(nlohmann::json::parse(text.Reveal()), expected);
}

TEST(DumpWithSecretTest, LeavesOtherStringsAlone) {
  nlohmann::json doc = {{"a", "x\"y"}, {"b", kSecretPlaceholder}};

  SecretBytes text = DumpWithSecret(doc, SecretBytes("z"));

  EXPECT_EQ(text.Reveal(), R"({"a":"x\"y","b":"z"})");
}

TEST(DumpWithSecretTest, HandlesEmptySecret) {
  nlohmann::json doc = {{"secret", kSecretPlaceholder}};

  SecretBytes text = DumpWithSecret(doc, SecretBytes());

  EXPECT_EQ(text.Reveal(), R"({"secret":""})");
}

}  // namespace
}  // namespace siq
