#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "core/notify/notifier.h"
#include "tests/unit/fake_transport.h"

namespace siq::notify {
namespace {

config::NotificationChannel Webhook(std::string name,
                                    std::vector<std::string> audiences) {
  config::NotificationChannel channel;
  channel.name = std::move(name);
  channel.type = config::NotificationChannel::Type::kWebhook;
  channel.url = "https://hooks.example.com/services/T0/B0/tokenpart";
  channel.audiences = std::move(audiences);
  return channel;
}

Event Notice() {
  Event event;
  event.type = EventType::kRotationNotice;
  event.audience = "admins";
  event.vps = "vps-1";
  event.subject = "JWT_SECRET of vps-1 rotates on 2027-01-01";
  event.text = "The secret will be replaced.";
  event.fields = {{"kind", "JWT_SECRET"}, {"due_at", "2027-01-01T00:00:00Z"}};
  return event;
}

// A channel that answers from a script, for routing tests.
class ScriptedChannel : public Channel {
 public:
  ScriptedChannel(config::NotificationChannel settings,
                  Status answer,
                  std::vector<std::string>* log)
      : settings_(std::move(settings)), answer_(std::move(answer)), log_(log) {}

  const config::NotificationChannel& settings() const override {
    return settings_;
  }
  Status Deliver(const Event& /*event*/) override {
    log_->push_back(settings_.name);
    return answer_;
  }

 private:
  config::NotificationChannel settings_;
  Status answer_;
  std::vector<std::string>* log_;
};

TEST(NotifierTest, WebhookPostsTheEventAsJsonWithATextField) {
  test::FakeTransport transport;
  transport.Enqueue({200, {}, "ok"});
  auto channel = MakeWebhookChannel(Webhook("chat", {"admins"}), transport);

  Status sent = channel->Deliver(Notice());

  ASSERT_TRUE(sent.ok()) << sent.message();
  ASSERT_EQ(transport.Requests().size(), 1u);
  const test::RecordedRequest& request = transport.Requests()[0];
  EXPECT_EQ(request.method, http::Method::kPost);
  EXPECT_EQ(request.Header("Content-Type"), "application/json");
  nlohmann::json body = request.JsonBody();
  EXPECT_EQ(body["text"],
            "JWT_SECRET of vps-1 rotates on 2027-01-01\n\n"
            "The secret will be replaced.");
  EXPECT_EQ(body["event"], "rotation_notice");
  EXPECT_EQ(body["vps"], "vps-1");
  EXPECT_EQ(body["fields"]["due_at"], "2027-01-01T00:00:00Z");
}

TEST(NotifierTest, WebhookFailureNamesTheEndpointButNotThePath) {
  test::FakeTransport transport;
  transport.Enqueue({500, {}, "{\"description\": \"broken\"}"});
  auto channel = MakeWebhookChannel(Webhook("chat", {"admins"}), transport);

  Status sent = channel->Deliver(Notice());

  EXPECT_FALSE(sent.ok());
  EXPECT_NE(sent.message().find("https://hooks.example.com"), std::string::npos)
      << sent.message();
  EXPECT_NE(sent.message().find("500"), std::string::npos);
  EXPECT_EQ(sent.message().find("tokenpart"), std::string::npos);
}

TEST(NotifierTest, MailMessageHasHeadersCrlfAndTheFields) {
  config::NotificationChannel mail;
  mail.from = "siq@example.com";
  mail.to = {"a@example.com", "b@example.com"};
  Event event = Notice();
  event.subject = "two\r\nBcc: evil@example.com";

  std::string message =
      MailMessage(mail, event, "Thu, 03 Dec 2026 16:00:00 +0000");

  EXPECT_EQ(message.rfind("Date: Thu, 03 Dec 2026 16:00:00 +0000\r\n", 0), 0u);
  EXPECT_NE(message.find("\r\nTo: <a@example.com>, <b@example.com>\r\n"),
            std::string::npos);
  EXPECT_NE(message.find("\r\nSubject: [siq] two  Bcc: evil@example.com\r\n"),
            std::string::npos)
      << message;
  EXPECT_EQ(message.find("\r\nBcc:"), std::string::npos);
  EXPECT_NE(message.find("\r\n\r\nThe secret will be replaced.\r\n"),
            std::string::npos);
  EXPECT_NE(message.find("\r\nkind: JWT_SECRET\r\n"), std::string::npos);
  EXPECT_EQ(message.find("\n\n"), std::string::npos);
}

TEST(NotifierTest, RoutesByAudienceAndGoesOnAfterAFailingChannel) {
  std::vector<std::string> tried;
  std::vector<std::unique_ptr<Channel>> channels;
  channels.push_back(std::make_unique<ScriptedChannel>(
      Webhook("broken", {"admins"}), Status(StatusCode::kUnavailable, "down"),
      &tried));
  channels.push_back(std::make_unique<ScriptedChannel>(
      Webhook("customers", {"customer"}), OkStatus(), &tried));
  channels.push_back(std::make_unique<ScriptedChannel>(
      Webhook("mail", {"operations", "admins"}), OkStatus(), &tried));
  auto notifier = MakeNotifier(std::move(channels));

  std::vector<Delivery> deliveries = notifier->Send(Notice());

  EXPECT_EQ(tried, (std::vector<std::string>{"broken", "mail"}));
  ASSERT_EQ(deliveries.size(), 2u);
  EXPECT_EQ(deliveries[0].channel, "broken");
  EXPECT_EQ(deliveries[0].status.code(), StatusCode::kUnavailable);
  EXPECT_EQ(deliveries[1].channel, "mail");
  EXPECT_TRUE(deliveries[1].status.ok());
}

TEST(NotifierTest, NoChannelForTheAudienceDeliversNothing) {
  std::vector<std::string> tried;
  std::vector<std::unique_ptr<Channel>> channels;
  channels.push_back(std::make_unique<ScriptedChannel>(
      Webhook("ops", {"operations"}), OkStatus(), &tried));
  auto notifier = MakeNotifier(std::move(channels));
  Event event = Notice();
  event.audience = "customer";

  std::vector<Delivery> deliveries = notifier->Send(event);

  EXPECT_TRUE(deliveries.empty());
  EXPECT_TRUE(tried.empty());
}

}  // namespace
}  // namespace siq::notify
