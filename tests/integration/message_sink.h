// MessageSink: a real SMTP server or HTTP endpoint on loopback, run as a
// child process (tests/integration/message_sink.py), that keeps every
// notification it receives. It stands in for a mail relay or a chat
// webhook, never for Keystone or Barbican.
//
// Owned by one test; the child is killed when the sink is destroyed.
#pragma once

#include <chrono>
#include <string>
#include <vector>

namespace siq::testing {

class MessageSink {
 public:
  enum class Kind { kSmtp, kWebhook };

  // Starts the receiver and waits until it listens.
  explicit MessageSink(Kind kind);
  ~MessageSink();
  MessageSink(const MessageSink&) = delete;
  MessageSink& operator=(const MessageSink&) = delete;

  // smtp://127.0.0.1:PORT, or http://127.0.0.1:PORT/hook for a webhook.
  const std::string& url() const { return url_; }
  // Every message received so far, in arrival order: the mail as it came,
  // or the POST's body.
  std::vector<std::string> Messages() const;
  // Messages() once it holds at least `count`, or what came by `timeout`.
  std::vector<std::string> WaitFor(
      size_t count,
      std::chrono::seconds timeout = std::chrono::seconds(10));

 private:
  int pid_ = -1;
  std::string dir_;
  std::string url_;
};

}  // namespace siq::testing
