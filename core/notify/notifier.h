// Notifier: how siq tells people what it did or is about to do — a
// rotation notice, a rotation done or failed, a customer asked to
// re-authenticate after a recovery.
//
// An event names an audience ("admins", "operations", "customer", or a
// kind's `notify:` group); the config's `notifications:` channels say which
// audiences each one serves. Two real channels: email over SMTP and a JSON
// POST to a webhook (the `text` field common chat incoming-webhooks read).
// A notification is never worth a failed rotation: Send() reports each
// channel's outcome and never throws, and callers log failures and go on.
//
// A Notifier is owned by its caller and is not safe to share between threads.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/base/status.h"
#include "core/config/config.h"
#include "core/transport/http.h"

namespace siq::notify {

enum class EventType {
  kRotationNotice,
  kRotationDone,
  kRotationFailed,
  kCustomerReauth,
};

// "rotation_notice", "rotation_done", "rotation_failed", "customer_reauth".
std::string_view EventTypeName(EventType type);

// One thing to tell. Never holds a secret value: refs, names and dates only.
struct Event {
  EventType type = EventType::kRotationNotice;
  std::string audience;
  std::string vps;                                   // may be empty
  std::string subject;                               // one line
  std::string text;                                  // plain text
  nlohmann::json fields = nlohmann::json::object();  // kind, due_at, ...
};

// The outcome of handing an event to one channel.
struct Delivery {
  std::string channel;
  Status status;
};

class Notifier {
 public:
  virtual ~Notifier() = default;
  // Sends `event` to every channel that serves its audience, in config
  // order; one failing channel never stops the others. Returns one Delivery
  // per channel tried; none (and a warning in the log) when no channel
  // serves the audience. Network: SMTP and HTTP, bounded by the timeouts.
  virtual std::vector<Delivery> Send(const Event& event) = 0;
};

// One way of delivering, for one configured channel.
class Channel {
 public:
  virtual ~Channel() = default;
  virtual const config::NotificationChannel& settings() const = 0;
  [[nodiscard]] virtual Status Deliver(const Event& event) = 0;
};

// Email through the SMTP server at settings.url (smtp:// or smtps://), on
// libcurl. With a password file it insists on TLS (STARTTLS for smtp://).
std::unique_ptr<Channel> MakeSmtpChannel(config::NotificationChannel settings);
// A JSON POST to settings.url through `transport` (not owned; must outlive
// the channel). The URL's path is kept out of logs: chat webhooks carry
// their token there.
std::unique_ptr<Channel> MakeWebhookChannel(
    config::NotificationChannel settings,
    http::Transport& transport);

// A notifier over `channels`, routing by audience.
std::unique_ptr<Notifier> MakeNotifier(
    std::vector<std::unique_ptr<Channel>> channels);
// The notifier `config.notifications` describes, with its own HTTP transport.
std::unique_ptr<Notifier> MakeNotifier(const config::Config& config);

// The JSON a webhook receives for `event`: {"text", "event", "audience",
// "vps", "subject", "fields"}. "text" is subject and text for chat tools.
nlohmann::json WebhookBody(const Event& event);
// The RFC 5322 message an SMTP channel sends for `event`.
std::string MailMessage(const config::NotificationChannel& settings,
                        const Event& event,
                        std::string_view date);

}  // namespace siq::notify
