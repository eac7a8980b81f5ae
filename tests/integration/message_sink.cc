#include "tests/integration/message_sink.h"

#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <stdexcept>
#include <thread>

#include <gtest/gtest.h>

#include "tests/integration/stack.h"

namespace siq::testing {
namespace fs = std::filesystem;

MessageSink::MessageSink(Kind kind)
    : dir_(::testing::TempDir() + UniqueName("sink")) {
  fs::create_directories(dir_);
  std::string script = SIQ_SOURCE_DIR "/tests/integration/message_sink.py";
  std::vector<std::string> args = {"/usr/bin/python3", script,
                                   kind == Kind::kSmtp ? "smtp" : "http", dir_};
  std::vector<char*> argv;
  argv.reserve(args.size() + 1);
  for (std::string& arg : args) {
    argv.push_back(arg.data());
  }
  argv.push_back(nullptr);
  if (posix_spawn(&pid_, argv[0], nullptr, nullptr, argv.data(), environ) !=
      0) {
    throw std::runtime_error("cannot start message_sink.py");
  }

  std::string port;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (port.empty() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    port = ReadFile(dir_ + "/port");
  }
  if (port.empty()) {
    throw std::runtime_error("message_sink.py did not start listening");
  }
  url_ = kind == Kind::kSmtp ? "smtp://127.0.0.1:" + port
                             : "http://127.0.0.1:" + port + "/hook";
}

MessageSink::~MessageSink() {
  if (pid_ > 0) {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
  std::error_code ignored;
  fs::remove_all(dir_, ignored);
}

std::vector<std::string> MessageSink::Messages() const {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(dir_)) {
    if (entry.path().extension() == ".msg") {
      names.push_back(entry.path().string());
    }
  }
  std::sort(names.begin(), names.end());
  std::vector<std::string> messages;
  messages.reserve(names.size());
  for (const std::string& name : names) {
    messages.push_back(ReadFile(name));
  }
  return messages;
}

std::vector<std::string> MessageSink::WaitFor(size_t count,
                                              std::chrono::seconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  std::vector<std::string> messages = Messages();
  while (messages.size() < count &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    messages = Messages();
  }
  return messages;
}

}  // namespace siq::testing
