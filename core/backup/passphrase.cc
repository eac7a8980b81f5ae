#include "core/backup/passphrase.h"

#include <fcntl.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

namespace siq::backup {
namespace {

void DropNewline(SecretBytes& text) {
  std::string_view bytes = text.Reveal();
  size_t keep = bytes.size();
  if (keep > 0 && bytes[keep - 1] == '\n') {
    --keep;
    if (keep > 0 && bytes[keep - 1] == '\r') {
      --keep;
    }
  }
  if (keep != bytes.size()) {
    SecretBytes trimmed(bytes.substr(0, keep));
    text = std::move(trimmed);
  }
}

// Reads `fd` to its end, or to the first newline when `one_line`.
Result<SecretBytes> ReadAll(int fd, bool one_line, std::string_view what) {
  SecretBytes text;
  char byte = 0;
  while (true) {
    ssize_t count = read(fd, &byte, 1);
    if (count < 0 && errno == EINTR) {
      continue;
    }
    if (count < 0) {
      byte = 0;
      return Status(StatusCode::kInvalidArgument,
                    fmt::format("reading the passphrase from {}: {}", what,
                                std::strerror(errno)));
    }
    if (count == 0 || (one_line && byte == '\n')) {
      break;
    }
    text.Append(byte);
  }
  byte = 0;
  DropNewline(text);
  return text;
}

}  // namespace

Result<SecretBytes> ReadPassphraseFromFd(int fd) {
  if (fd == STDOUT_FILENO || fd == STDERR_FILENO || fd < 0) {
    return Status(StatusCode::kInvalidArgument,
                  fmt::format("--passphrase-fd {}: not a descriptor to read a "
                              "passphrase from",
                              fd));
  }
  int flags = fcntl(fd, F_GETFL);
  if (flags == -1 || (flags & O_ACCMODE) == O_WRONLY) {
    return Status(StatusCode::kInvalidArgument,
                  fmt::format("--passphrase-fd {}: not open for reading", fd));
  }
  auto text = ReadAll(fd, false, fmt::format("fd {}", fd));
  close(fd);
  if (!text.ok()) {
    return text.status();
  }
  if (text->empty()) {
    return Status(
        StatusCode::kInvalidArgument,
        fmt::format("--passphrase-fd {}: the passphrase is empty", fd));
  }
  return text;
}

Result<SecretBytes> PromptPassphrase(std::string_view prompt, Confirm confirm) {
  int tty = open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY);
  if (tty < 0) {
    return Status(StatusCode::kInvalidArgument,
                  "no terminal to ask for the passphrase: give "
                  "--passphrase-fd N");
  }
  termios saved{};
  bool restore = tcgetattr(tty, &saved) == 0;
  if (restore) {
    termios quiet = saved;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    (void)tcsetattr(tty, TCSAFLUSH, &quiet);
  }
  auto ask = [&](std::string_view text) {
    std::string line = fmt::format("{}: ", text);
    (void)!write(tty, line.data(), line.size());
    auto answer = ReadAll(tty, true, "the terminal");
    (void)!write(tty, "\n", 1);
    return answer;
  };
  auto first = ask(prompt);
  Result<SecretBytes> second = SecretBytes();
  if (first.ok() && confirm == Confirm::kYes) {
    second = ask("again");
  }
  if (restore) {
    (void)tcsetattr(tty, TCSAFLUSH, &saved);
  }
  close(tty);

  if (!first.ok()) {
    return first.status();
  }
  if (!second.ok()) {
    return second.status();
  }
  if (first->empty()) {
    return Status(StatusCode::kInvalidArgument, "the passphrase is empty");
  }
  if (confirm == Confirm::kYes && !first->Equals(*second)) {
    return Status(StatusCode::kInvalidArgument,
                  "the two passphrases differ; nothing was written");
  }
  return first;
}

}  // namespace siq::backup
