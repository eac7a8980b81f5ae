#include "core/config/config.h"

#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>

#include <gtest/gtest.h>

namespace siq::config {
namespace {

using std::chrono::days;
using std::chrono::hours;
using std::chrono::seconds;

class ConfigTest : public ::testing::Test {
 protected:
  ConfigTest()
      : path_(::testing::TempDir() + "siq-config-" + std::to_string(getpid()) +
              ".yaml") {}
  ~ConfigTest() override { std::filesystem::remove(path_); }

  Result<Config> Load(const std::string& yaml) {
    std::ofstream(path_) << yaml;
    return LoadConfig(path_);
  }

  std::string path_;
};

TEST_F(ConfigTest, NoFileGivesTheStandardsCatalog) {
  auto config = LoadConfig("");

  ASSERT_TRUE(config.ok());
  EXPECT_EQ(config->records, "/var/lib/siq/deployments.json");
  ASSERT_EQ(config->secret_kinds.size(), 7u);
  const SecretKind& jwt = config->secret_kinds[0];
  EXPECT_EQ(jwt.kind, "JWT_SECRET");
  EXPECT_EQ(jwt.rotate_every, days(90));
  EXPECT_EQ(jwt.notify_before, days(7));
  EXPECT_EQ(jwt.notify, std::vector<std::string>{"admins"});
  EXPECT_EQ(jwt.bit_length, 256);
  EXPECT_EQ(config->secret_kinds[2].kind, "ENCRYPTION_KEY");
  EXPECT_EQ(config->secret_kinds[2].rotate_every, days(180));
  EXPECT_EQ(config->secret_kinds[3].notify_before, seconds(0));
  EXPECT_EQ(config->secret_kinds[5].rotate_every, days(30));
}

TEST_F(ConfigTest, FileReplacesTheCatalogAndKeepsOtherDefaults) {
  auto config = Load(R"(
records: /tmp/records.json
secret_kinds:
  - kind: JWT_SECRET
    rotate_every: 90s
    notify_before: 30s
    notify: [admins, ops]
  - kind: DB_PASSWORD
    rotate_every: 2h
    bit_length: 128
readers:
  role: custom-reader
)");

  ASSERT_TRUE(config.ok()) << config.status().message();
  EXPECT_EQ(config->path, path_);
  EXPECT_EQ(config->records, "/tmp/records.json");
  ASSERT_EQ(config->secret_kinds.size(), 2u);
  EXPECT_EQ(config->secret_kinds[0].rotate_every, seconds(90));
  EXPECT_EQ(config->secret_kinds[0].notify_before, seconds(30));
  EXPECT_EQ(config->secret_kinds[0].notify,
            (std::vector<std::string>{"admins", "ops"}));
  EXPECT_EQ(config->secret_kinds[1].rotate_every, hours(2));
  EXPECT_EQ(config->secret_kinds[1].bit_length, 128);
  EXPECT_EQ(config->readers.role, "custom-reader");
  EXPECT_EQ(config->readers.domain, "siq-readers");
}

struct BadConfig {
  const char* yaml;
  int line;
  const char* says;
};

class BadConfigTest : public ConfigTest,
                      public ::testing::WithParamInterface<BadConfig> {};

TEST_P(BadConfigTest, ErrorNamesTheFileAndLine) {
  auto config = Load(GetParam().yaml);

  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.status().code(), StatusCode::kInvalidArgument);
  std::string where = path_ + ":" + std::to_string(GetParam().line) + ":";
  EXPECT_EQ(config.status().message().rfind(where, 0), 0u)
      << config.status().message();
  EXPECT_NE(config.status().message().find(GetParam().says), std::string::npos)
      << config.status().message();
}

INSTANTIATE_TEST_SUITE_P(
    EachMistake,
    BadConfigTest,
    ::testing::Values(
        BadConfig{"records: x\nrecrods: y\n", 2, "unknown key 'recrods'"},
        BadConfig{"secret_kinds:\n  - kind: A\n    rotate_every: 90\n", 3,
                  "rotate_every"},
        BadConfig{"secret_kinds:\n  - kind: A\n    rotate_every: 1w\n", 3,
                  "'1w'"},
        BadConfig{"secret_kinds:\n  - kind: A\n    rotate_every: 1d\n"
                  "  - kind: A\n    rotate_every: 2d\n",
                  4, "listed twice"},
        BadConfig{"secret_kinds:\n  - kind: jwt\n    rotate_every: 1d\n", 2,
                  "upper-case"},
        BadConfig{"secret_kinds:\n  - kind: A\n", 2, "rotate_every"},
        BadConfig{"secret_kinds:\n  - kind: A\n    rotate_every: 1d\n"
                  "    bit_length: 100\n",
                  4, "128, 192 or 256"},
        BadConfig{"secret_kinds:\n  - kind: A\n    rotate_every: 1d\n"
                  "    notify_before: 2d\n",
                  4, "shorter than rotate_every"},
        BadConfig{"secret_kinds:\n  - kind: A\n    rotate_every: 1d\n"
                  "    algorithm: rot13\n",
                  4, "unknown key 'algorithm'"},
        BadConfig{"secret_kinds: []\n", 1, "non-empty"},
        BadConfig{"readers:\n  domian: x\n", 2, "unknown key 'domian'"},
        BadConfig{"records: a\nreaders: {}\nrecords: b\n", 3,
                  "key 'records' is repeated"},
        BadConfig{"notifications:\n  - name: a\n    audiences: [x]\n", 2,
                  "exactly one of 'smtp' and 'webhook'"},
        BadConfig{"notifications:\n  - name: a\n    audiences: [x]\n"
                  "    webhook: ftp://x\n",
                  4, "http:// or https://"},
        BadConfig{"notifications:\n  - name: a\n    audiences: [x]\n"
                  "    smtp: smtp://x\n",
                  2, "needs 'from' and 'to'"},
        BadConfig{"notifications:\n  - name: a\n    audiences: [x]\n"
                  "    webhook: http://x\n    to: [a@b]\n",
                  2, "are for smtp"},
        BadConfig{"notifications:\n  - name: a\n    audiences: x\n"
                  "    webhook: http://x\n",
                  3, "audiences must be a list"},
        BadConfig{"notifications:\n  - name: a\n    audiences: [x]\n"
                  "    webhook: http://x\n  - name: a\n    audiences: [y]\n"
                  "    webhook: http://y\n",
                  5, "channel 'a' is listed twice"},
        BadConfig{"records: [a, b\n", 2, ""}));

TEST_F(ConfigTest, NotificationChannelsAreRead) {
  auto config = Load(R"(
notifications:
  - name: admins-mail
    smtp: smtps://mail.example.com:465
    from: siq@example.com
    to: [admins@example.com, oncall@example.com]
    username: siq
    password_file: /etc/siq/smtp-password
    audiences: [admins, operations]
  - name: ops-chat
    webhook: https://hooks.example.com/T/B/C
    audiences: [operations]
)");

  ASSERT_TRUE(config.ok()) << config.status().message();
  ASSERT_EQ(config->notifications.size(), 2u);
  const NotificationChannel& mail = config->notifications[0];
  EXPECT_EQ(mail.type, NotificationChannel::Type::kSmtp);
  EXPECT_EQ(mail.url, "smtps://mail.example.com:465");
  EXPECT_EQ(mail.to, (std::vector<std::string>{"admins@example.com",
                                               "oncall@example.com"}));
  EXPECT_EQ(mail.password_file, "/etc/siq/smtp-password");
  EXPECT_EQ(mail.audiences, (std::vector<std::string>{"admins", "operations"}));
  const NotificationChannel& chat = config->notifications[1];
  EXPECT_EQ(chat.type, NotificationChannel::Type::kWebhook);
  EXPECT_EQ(chat.url, "https://hooks.example.com/T/B/C");
  EXPECT_EQ(chat.audiences, std::vector<std::string>{"operations"});
}

TEST_F(ConfigTest, MissingFileIsAConfigurationError) {
  auto config = LoadConfig(path_ + ".absent");

  EXPECT_EQ(config.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(config.status().message().find(path_ + ".absent"),
            std::string::npos);
}

TEST(SecretNameTest, JoinsVpsAndKind) {
  EXPECT_EQ(SecretName("vps-1", "JWT_SECRET"), "vps-1_JWT_SECRET");
}

}  // namespace
}  // namespace siq::config
