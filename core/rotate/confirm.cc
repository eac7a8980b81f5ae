#include "core/rotate/confirm.h"

#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "core/base/log.h"
#include "core/run/secret_loader.h"

extern char** environ;  // NOLINT: POSIX declares it nowhere else

namespace siq::rotate {
namespace {

using Method = config::Confirmation::Method;

constexpr std::chrono::seconds kCommandDeadline{60};
constexpr std::chrono::milliseconds kCommandPoll{50};

std::string ReplaceAll(std::string text,
                       std::string_view from,
                       std::string_view to) {
  for (size_t at = text.find(from); at != std::string::npos;
       at = text.find(from, at + to.size())) {
    text.replace(at, from.size(), to);
  }
  return text;
}

// Waits for `pid` up to the deadline; kills it when it overruns. A real
// process runs in real time, whatever clock the rotation uses.
Result<int> WaitWithDeadline(pid_t pid) {
  auto deadline = std::chrono::steady_clock::now() + kCommandDeadline;
  int status = 0;
  while (true) {
    pid_t done = waitpid(pid, &status, WNOHANG);
    if (done == pid) {
      return status;
    }
    if (done < 0 && errno != EINTR) {
      return Status(StatusCode::kInternal,
                    fmt::format("waiting for the confirmation command: {}",
                                std::strerror(errno)));
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      return Status(StatusCode::kDeadlineExceeded,
                    "the confirmation command ran longer than 60s");
    }
    std::this_thread::sleep_for(kCommandPoll);
  }
}

}  // namespace

barbican::Consumer VpsConsumer(const std::string& vps) {
  return {std::string(run::kConsumerService),
          std::string(run::kConsumerResourceType), vps};
}

SystemConfirmer::SystemConfirmer(KeyManager& keys,
                                 http::Transport& transport,
                                 Clock& clock)
    : keys_(keys), transport_(transport), clock_(clock) {}

Result<bool> SystemConfirmer::Confirmed(const config::Confirmation& how,
                                        const ConfirmQuestion& question) {
  switch (how.method) {
    case Method::kConsumer:
      return ByConsumer(question);
    case Method::kHttp:
      return ByHttp(how.url, question);
    case Method::kCommand:
      return ByCommand(how.command, question);
    case Method::kWait:
      return clock_.Now() >= question.told_at + how.wait;
  }
  return Status(StatusCode::kInternal, "unknown confirmation method");
}

Result<bool> SystemConfirmer::ByConsumer(const ConfirmQuestion& question) {
  auto consumers = keys_.ListSecretConsumers(question.secret);
  if (!consumers.ok()) {
    return consumers.status();
  }
  barbican::Consumer wanted = VpsConsumer(question.vps);
  return std::find(consumers->begin(), consumers->end(), wanted) !=
         consumers->end();
}

Result<bool> SystemConfirmer::ByHttp(const std::string& url,
                                     const ConfirmQuestion& question) {
  http::Request request{.url =
                            ReplaceAll(ReplaceAll(url, "{vps}", question.vps),
                                       "{kind}", question.kind)};
  auto response = transport_.Send(request);
  auto logger = log::Get("rotate");
  if (!response.ok()) {
    logger->warn("{} {}: confirmation URL not reachable yet: {}", question.vps,
                 question.kind, response.status().message());
    return false;
  }
  if (!response->IsSuccess()) {
    logger->warn("{} {}: confirmation URL answered HTTP {}", question.vps,
                 question.kind, response->status);
    return false;
  }
  return response->body.find(run::Fingerprint(question.secret)) !=
         std::string::npos;
}

Result<bool> SystemConfirmer::ByCommand(const std::string& command,
                                        const ConfirmQuestion& question) {
  std::vector<std::string> args = {"/bin/sh",
                                   "-c",
                                   command,
                                   "siq-confirm",
                                   question.vps,
                                   question.kind,
                                   run::Fingerprint(question.secret),
                                   question.secret.url()};
  std::vector<char*> argv;
  argv.reserve(args.size() + 1);
  for (std::string& arg : args) {
    argv.push_back(arg.data());
  }
  argv.push_back(nullptr);

  // The command's output must not mix with siq's results on stdout.
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, STDERR_FILENO, STDOUT_FILENO);
  pid_t pid = -1;
  int error =
      posix_spawn(&pid, "/bin/sh", &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (error != 0) {
    return Status(StatusCode::kInternal,
                  fmt::format("starting the confirmation command: {}",
                              std::strerror(error)));
  }

  auto status = WaitWithDeadline(pid);
  if (!status.ok()) {
    log::Get("rotate")->warn("{} {}: {}", question.vps, question.kind,
                             status.status().message());
    return false;
  }
  return WIFEXITED(*status) && WEXITSTATUS(*status) == 0;
}

}  // namespace siq::rotate
