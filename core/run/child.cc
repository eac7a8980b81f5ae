#include "core/run/child.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include <fmt/format.h>

#include "core/base/secret.h"

namespace siq::run {
namespace {

// Closes both ends of a pipe on every path out of Start.
struct Pipe {
  int read = -1;
  int write = -1;
  ~Pipe() {
    if (read >= 0) {
      close(read);
    }
    if (write >= 0) {
      close(write);
    }
  }
};

}  // namespace

Result<Child> Child::Start(const std::vector<std::string>& argv,
                           EnvironmentBlock& env,
                           SecretsPipe pipe) {
  if (argv.empty()) {
    return Status(StatusCode::kInvalidArgument, "no command to run");
  }
  std::vector<char*> args;
  args.reserve(argv.size() + 1);
  for (const std::string& arg : argv) {
    args.push_back(const_cast<char*>(arg.c_str()));
  }
  args.push_back(nullptr);

  Pipe secrets;
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  if (pipe == SecretsPipe::kYes) {
    int ends[2];
    if (pipe2(ends, O_CLOEXEC) != 0) {
      posix_spawn_file_actions_destroy(&actions);
      return Status(
          StatusCode::kInternal,
          fmt::format("creating the secrets pipe: {}", std::strerror(errno)));
    }
    secrets.read = ends[0];
    secrets.write = ends[1];
    (void)fcntl(secrets.write, F_SETFL, O_NONBLOCK);
    // dup2 clears close-on-exec on the copy, so only fd 3 reaches the child.
    posix_spawn_file_actions_adddup2(&actions, secrets.read, kSecretsFd);
  }

  posix_spawnattr_t attributes;
  posix_spawnattr_init(&attributes);
  sigset_t none;
  sigemptyset(&none);
  sigset_t defaults;
  sigemptyset(&defaults);
  for (int signal : {SIGTERM, SIGINT, SIGHUP, SIGCHLD, SIGPIPE}) {
    sigaddset(&defaults, signal);
  }
  posix_spawnattr_setsigmask(&attributes, &none);
  posix_spawnattr_setsigdefault(&attributes, &defaults);
  posix_spawnattr_setflags(&attributes,
                           POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);

  pid_t pid = -1;
  int error = posix_spawnp(&pid, args[0], &actions, &attributes, args.data(),
                           env.envp());
  posix_spawnattr_destroy(&attributes);
  posix_spawn_file_actions_destroy(&actions);
  if (error != 0) {
    return Status(
        StatusCode::kInvalidArgument,
        fmt::format("starting {}: {}", argv[0], std::strerror(error)));
  }
  int write_end = secrets.write;
  secrets.write = -1;
  return Child(pid, write_end);
}

Child::Child(Child&& other) noexcept
    : pid_(std::exchange(other.pid_, -1)),
      secrets_fd_(std::exchange(other.secrets_fd_, -1)) {}

Child& Child::operator=(Child&& other) noexcept {
  if (this != &other) {
    if (secrets_fd_ >= 0) {
      close(secrets_fd_);
    }
    pid_ = std::exchange(other.pid_, -1);
    secrets_fd_ = std::exchange(other.secrets_fd_, -1);
  }
  return *this;
}

Child::~Child() {
  if (secrets_fd_ >= 0) {
    close(secrets_fd_);
  }
}

void Child::Signal(int signal) const {
  if (pid_ > 0) {
    (void)kill(pid_, signal);
  }
}

Status Child::WriteSecrets(const EnvironmentBlock& entries) const {
  if (secrets_fd_ < 0) {
    return Status(StatusCode::kUnavailable, "the child has no secrets pipe");
  }
  SecretBytes frame;
  for (std::string_view entry : entries.Entries()) {
    frame.Append(entry);
    frame.Append('\0');
  }
  frame.Append('\0');

  std::string_view rest = frame.Reveal();
  while (!rest.empty()) {
    ssize_t written = write(secrets_fd_, rest.data(), rest.size());
    if (written < 0 && errno == EINTR) {
      continue;
    }
    if (written <= 0) {
      return Status(StatusCode::kUnavailable,
                    fmt::format("writing to the secrets pipe of process {}: {}",
                                pid_, std::strerror(errno)));
    }
    rest.remove_prefix(static_cast<size_t>(written));
  }
  return OkStatus();
}

int ExitCodeOfWaitStatus(int wait_status) {
  if (WIFEXITED(wait_status)) {
    return WEXITSTATUS(wait_status);
  }
  if (WIFSIGNALED(wait_status)) {
    return 128 + WTERMSIG(wait_status);
  }
  return 128;
}

}  // namespace siq::run
