// Notifications delivered to real receivers: an SMTP server (aiosmtpd) and
// an HTTP endpoint, both on loopback.
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "core/notify/notifier.h"
#include "tests/integration/message_sink.h"

namespace siq::testing {
namespace {

config::NotificationChannel Channel(std::string name,
                                    const MessageSink& sink,
                                    std::vector<std::string> audiences) {
  config::NotificationChannel channel;
  channel.name = std::move(name);
  channel.url = sink.url();
  channel.audiences = std::move(audiences);
  if (sink.url().rfind("smtp://", 0) == 0) {
    channel.type = config::NotificationChannel::Type::kSmtp;
    channel.from = "siq@example.com";
    channel.to = {"admins@example.com", "oncall@example.com"};
  } else {
    channel.type = config::NotificationChannel::Type::kWebhook;
  }
  return channel;
}

notify::Event Failure() {
  notify::Event event;
  event.type = notify::EventType::kRotationFailed;
  event.audience = "operations";
  event.vps = "vps-notify-1";
  event.subject = "rotation of vps-notify-1 DB_PASSWORD failed";
  event.text = "The current secret stays in service.\n.\nline after a dot";
  event.fields = {{"kind", "DB_PASSWORD"}};
  return event;
}

TEST(NotifyTest, MailAndWebhookAreReceivedByRealServers) {
  MessageSink smtp(MessageSink::Kind::kSmtp);
  MessageSink hook(MessageSink::Kind::kWebhook);
  config::Config config;
  config.notifications = {Channel("mail", smtp, {"operations"}),
                          Channel("chat", hook, {"operations"})};
  auto notifier = notify::MakeNotifier(config);

  auto deliveries = notifier->Send(Failure());

  ASSERT_EQ(deliveries.size(), 2u);
  EXPECT_TRUE(deliveries[0].status.ok()) << deliveries[0].status.message();
  EXPECT_TRUE(deliveries[1].status.ok()) << deliveries[1].status.message();
  auto mails = smtp.WaitFor(1);
  ASSERT_EQ(mails.size(), 1u);
  EXPECT_NE(mails[0].find(
                "Subject: [siq] rotation of vps-notify-1 DB_PASSWORD failed"),
            std::string::npos)
      << mails[0];
  EXPECT_NE(mails[0].find("To: <admins@example.com>, <oncall@example.com>"),
            std::string::npos);
  // The lone dot survived the SMTP transfer, so the body was not cut short.
  EXPECT_NE(mails[0].find("\r\n.\r\nline after a dot"), std::string::npos);
  auto posts = hook.WaitFor(1);
  ASSERT_EQ(posts.size(), 1u);
  nlohmann::json body = nlohmann::json::parse(posts[0]);
  EXPECT_EQ(body["event"], "rotation_failed");
  EXPECT_EQ(body["fields"]["kind"], "DB_PASSWORD");
}

TEST(NotifyTest, AFailingChannelDoesNotStopTheNextOne) {
  MessageSink hook(MessageSink::Kind::kWebhook);
  MessageSink smtp(MessageSink::Kind::kSmtp);
  config::Config config;
  config::NotificationChannel broken = Channel("broken", hook, {"operations"});
  broken.url += "/fail";
  config.notifications = {broken, Channel("mail", smtp, {"operations"})};
  auto notifier = notify::MakeNotifier(config);

  auto deliveries = notifier->Send(Failure());

  ASSERT_EQ(deliveries.size(), 2u);
  EXPECT_FALSE(deliveries[0].status.ok());
  EXPECT_NE(deliveries[0].status.message().find("500"), std::string::npos);
  EXPECT_EQ(deliveries[0].status.message().find("/hook/fail"),
            std::string::npos);
  EXPECT_TRUE(deliveries[1].status.ok()) << deliveries[1].status.message();
  EXPECT_EQ(smtp.WaitFor(1).size(), 1u);
  EXPECT_TRUE(hook.Messages().empty());
}

TEST(NotifyTest, AnUnreachableMailServerIsReportedNotThrown) {
  MessageSink hook(MessageSink::Kind::kWebhook);
  config::Config config;
  config::NotificationChannel mail = Channel("mail", hook, {"operations"});
  mail.type = config::NotificationChannel::Type::kSmtp;
  mail.url = "smtp://127.0.0.1:1";
  mail.from = "siq@example.com";
  mail.to = {"ops@example.com"};
  config.notifications = {mail};
  auto notifier = notify::MakeNotifier(config);

  auto deliveries = notifier->Send(Failure());

  ASSERT_EQ(deliveries.size(), 1u);
  EXPECT_EQ(deliveries[0].status.code(), StatusCode::kUnavailable);
  EXPECT_NE(deliveries[0].status.message().find("smtp://127.0.0.1:1"),
            std::string::npos)
      << deliveries[0].status.message();
}

}  // namespace
}  // namespace siq::testing
