#include "core/notify/notifier.h"

#include <algorithm>
#include <ctime>
#include <fstream>
#include <iterator>
#include <utility>

#include <curl/curl.h>
#include <fmt/format.h>

#include "core/base/log.h"
#include "core/base/secret.h"
#include "core/transport/curl_transport.h"

namespace siq::notify {
namespace {

// Header values come from our own events, but a CR or LF in one would start
// a new header: flatten them.
std::string HeaderValue(std::string_view text) {
  std::string value(text);
  std::replace_if(
      value.begin(), value.end(), [](char c) { return c == '\r' || c == '\n'; },
      ' ');
  return value;
}

// SMTP wants CRLF line ends; libcurl does the dot-stuffing.
std::string WithCrlf(std::string_view text) {
  std::string out;
  out.reserve(text.size() + text.size() / 32);
  for (char c : text) {
    if (c == '\n') {
      out += '\r';
    }
    if (c != '\r') {
      out += c;
    }
  }
  return out;
}

std::string RfcDate() {
  std::time_t now = std::time(nullptr);
  std::tm utc{};
  gmtime_r(&now, &utc);
  char text[64];
  size_t size =
      std::strftime(text, sizeof(text), "%a, %d %b %Y %H:%M:%S +0000", &utc);
  return {text, size};
}

// The password file's content without its final newline.
Result<SecretBytes> ReadPasswordFile(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) {
    return Status(StatusCode::kInvalidArgument,
                  fmt::format("{}: cannot read the SMTP password file", path));
  }
  SecretBytes password;
  for (std::istreambuf_iterator<char> it(file), end; it != end; ++it) {
    password.Append(*it);
  }
  std::string_view text = password.Reveal();
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) {
    text.remove_suffix(1);
  }
  SecretBytes trimmed(text);
  // libcurl copies a C string: keep the terminator inside the secret memory.
  trimmed.Append('\0');
  return trimmed;
}

struct Upload {
  std::string_view rest;
};

size_t ReadUpload(char* buffer, size_t size, size_t count, void* user) {
  auto* upload = static_cast<Upload*>(user);
  size_t n = std::min(size * count, upload->rest.size());
  std::copy_n(upload->rest.data(), n, buffer);
  upload->rest.remove_prefix(n);
  return n;
}

struct CurlDeleter {
  void operator()(CURL* curl) const { curl_easy_cleanup(curl); }
  void operator()(curl_slist* list) const { curl_slist_free_all(list); }
};

class SmtpChannel : public Channel {
 public:
  explicit SmtpChannel(config::NotificationChannel settings)
      : settings_(std::move(settings)) {}

  const config::NotificationChannel& settings() const override {
    return settings_;
  }

  Status Deliver(const Event& event) override {
    SecretBytes password;
    if (!settings_.password_file.empty()) {
      auto read = ReadPasswordFile(settings_.password_file);
      if (!read.ok()) {
        return read.status();
      }
      password = std::move(*read);
    }
    std::string message = MailMessage(settings_, event, RfcDate());
    Upload upload{message};

    std::unique_ptr<CURL, CurlDeleter> curl(curl_easy_init());
    std::unique_ptr<curl_slist, CurlDeleter> recipients;
    for (const std::string& to : settings_.to) {
      std::string address = fmt::format("<{}>", to);
      recipients.reset(
          curl_slist_append(recipients.release(), address.c_str()));
    }
    std::string from = fmt::format("<{}>", settings_.from);
    char error[CURL_ERROR_SIZE] = {};
    CURL* handle = curl.get();
    curl_easy_setopt(handle, CURLOPT_URL, settings_.url.c_str());
    curl_easy_setopt(handle, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
    curl_easy_setopt(handle, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(handle, CURLOPT_ERRORBUFFER, error);
    curl_easy_setopt(handle, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
    curl_easy_setopt(handle, CURLOPT_TIMEOUT_MS, 30000L);
    curl_easy_setopt(handle, CURLOPT_MAIL_FROM, from.c_str());
    curl_easy_setopt(handle, CURLOPT_MAIL_RCPT, recipients.get());
    curl_easy_setopt(handle, CURLOPT_READFUNCTION, ReadUpload);
    curl_easy_setopt(handle, CURLOPT_READDATA, &upload);
    curl_easy_setopt(handle, CURLOPT_UPLOAD, 1L);
    // A password never crosses the network in clear: with one, TLS is a
    // must; without, STARTTLS is used when the server offers it.
    curl_easy_setopt(handle, CURLOPT_USE_SSL,
                     password.empty() ? CURLUSESSL_TRY : CURLUSESSL_ALL);
    if (!password.empty()) {
      curl_easy_setopt(handle, CURLOPT_USERNAME, settings_.username.c_str());
      curl_easy_setopt(handle, CURLOPT_PASSWORD, password.Reveal().data());
    }

    CURLcode code = curl_easy_perform(handle);
    if (code != CURLE_OK) {
      return Status(
          StatusCode::kUnavailable,
          fmt::format("sending mail through {}: {}",
                      http::EndpointOf(settings_.url),
                      error[0] != '\0' ? error : curl_easy_strerror(code)));
    }
    return OkStatus();
  }

 private:
  config::NotificationChannel settings_;
};

class WebhookChannel : public Channel {
 public:
  WebhookChannel(config::NotificationChannel settings,
                 http::Transport& transport)
      : settings_(std::move(settings)), transport_(transport) {}

  const config::NotificationChannel& settings() const override {
    return settings_;
  }

  Status Deliver(const Event& event) override {
    http::Request request;
    request.method = http::Method::kPost;
    request.url = settings_.url;
    request.headers = {{"Content-Type", "application/json"}};
    request.body = SecretBytes(WebhookBody(event).dump());
    request.secret_url = http::SecretUrl::kYes;

    auto response = transport_.Send(request);
    if (!response.ok()) {
      return response.status();
    }
    if (!response->IsSuccess()) {
      return http::ErrorFromResponse(
          fmt::format("posting to webhook at {}",
                      http::EndpointOf(settings_.url)),
          *response);
    }
    return OkStatus();
  }

 private:
  config::NotificationChannel settings_;
  http::Transport& transport_;
};

class Router : public Notifier {
 public:
  Router(std::vector<std::unique_ptr<Channel>> channels,
         std::unique_ptr<http::Transport> transport)
      : transport_(std::move(transport)), channels_(std::move(channels)) {}

  std::vector<Delivery> Send(const Event& event) override {
    auto logger = log::Get("notify");
    std::vector<Delivery> deliveries;
    for (const auto& channel : channels_) {
      const auto& audiences = channel->settings().audiences;
      if (std::find(audiences.begin(), audiences.end(), event.audience) ==
          audiences.end()) {
        continue;
      }
      Delivery delivery{channel->settings().name, channel->Deliver(event)};
      if (delivery.status.ok()) {
        logger->info("{} for {} sent through channel '{}'",
                     EventTypeName(event.type), event.audience,
                     delivery.channel);
      } else {
        logger->warn("{} for {} not sent through channel '{}': {}",
                     EventTypeName(event.type), event.audience,
                     delivery.channel, delivery.status.message());
      }
      deliveries.push_back(std::move(delivery));
    }
    if (deliveries.empty()) {
      logger->warn("no notification channel serves '{}': {} \"{}\" not sent",
                   event.audience, EventTypeName(event.type), event.subject);
    }
    return deliveries;
  }

 private:
  // Declared first so that it outlives the channels that use it.
  std::unique_ptr<http::Transport> transport_;
  std::vector<std::unique_ptr<Channel>> channels_;
};

}  // namespace

std::string_view EventTypeName(EventType type) {
  switch (type) {
    case EventType::kRotationNotice:
      return "rotation_notice";
    case EventType::kRotationDone:
      return "rotation_done";
    case EventType::kRotationFailed:
      return "rotation_failed";
    case EventType::kCustomerReauth:
      return "customer_reauth";
  }
  return "unknown";
}

nlohmann::json WebhookBody(const Event& event) {
  std::string text = event.subject;
  if (!event.text.empty()) {
    text += "\n\n" + event.text;
  }
  return {{"text", text},
          {"event", EventTypeName(event.type)},
          {"audience", event.audience},
          {"vps", event.vps},
          {"subject", event.subject},
          {"fields", event.fields}};
}

std::string MailMessage(const config::NotificationChannel& settings,
                        const Event& event,
                        std::string_view date) {
  std::string text = event.text;
  if (!event.fields.empty()) {
    text += "\n\n";
    for (const auto& [key, value] : event.fields.items()) {
      text += fmt::format(
          "{}: {}\n", key,
          value.is_string() ? value.get<std::string>() : value.dump());
    }
  }
  std::string message = fmt::format(
      "Date: {}\nFrom: <{}>\nTo: {}\nSubject: [siq] {}\n"
      "MIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n"
      "Content-Transfer-Encoding: 8bit\nX-Siq-Event: {}\n\n{}\n",
      date, HeaderValue(settings.from),
      HeaderValue(fmt::format("<{}>", fmt::join(settings.to, ">, <"))),
      HeaderValue(event.subject), EventTypeName(event.type), text);
  return WithCrlf(message);
}

std::unique_ptr<Channel> MakeSmtpChannel(config::NotificationChannel settings) {
  return std::make_unique<SmtpChannel>(std::move(settings));
}

std::unique_ptr<Channel> MakeWebhookChannel(
    config::NotificationChannel settings,
    http::Transport& transport) {
  return std::make_unique<WebhookChannel>(std::move(settings), transport);
}

std::unique_ptr<Notifier> MakeNotifier(
    std::vector<std::unique_ptr<Channel>> channels) {
  return std::make_unique<Router>(std::move(channels), nullptr);
}

std::unique_ptr<Notifier> MakeNotifier(const config::Config& config) {
  http::TransportOptions options;
  options.timeout = std::chrono::seconds(30);
  auto transport = std::make_unique<http::CurlTransport>(options);
  std::vector<std::unique_ptr<Channel>> channels;
  for (const auto& settings : config.notifications) {
    if (settings.type == config::NotificationChannel::Type::kSmtp) {
      channels.push_back(MakeSmtpChannel(settings));
    } else {
      channels.push_back(MakeWebhookChannel(settings, *transport));
    }
  }
  return std::make_unique<Router>(std::move(channels), std::move(transport));
}

}  // namespace siq::notify
