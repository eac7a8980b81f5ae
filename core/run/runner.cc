#include "core/run/runner.h"

#include <signal.h>
#include <sys/wait.h>
#include <time.h>

#include <algorithm>
#include <cerrno>
#include <tuple>
#include <utility>

#include <fmt/format.h>

#include "core/base/exit_codes.h"
#include "core/base/log.h"
#include "core/run/child.h"

namespace siq::run {
namespace {

using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

constexpr char kSecretsFdVariable[] = "SIQ_SECRETS_FD";

// One loaded set: the container entries it came from (to notice a change)
// and the values.
struct LoadedSet {
  std::vector<barbican::ContainerEntry> entries;
  std::vector<LoadedSecret> secrets;

  std::vector<barbican::SecretRef> Refs() const {
    std::vector<barbican::SecretRef> refs;
    for (const LoadedSecret& secret : secrets) {
      refs.push_back(secret.selection.ref);
    }
    return refs;
  }
};

std::vector<barbican::ContainerEntry> SortedEntries(
    std::vector<barbican::ContainerEntry> entries) {
  std::sort(
      entries.begin(), entries.end(),
      [](const barbican::ContainerEntry& a, const barbican::ContainerEntry& b) {
        return std::tie(a.name, a.ref) < std::tie(b.name, b.ref);
      });
  return entries;
}

sigset_t HandledSignals() {
  sigset_t set;
  sigemptyset(&set);
  for (int signal : {SIGTERM, SIGINT, SIGHUP, SIGCHLD}) {
    sigaddset(&set, signal);
  }
  return set;
}

// The next handled signal, or 0 when `timeout` passed first.
int WaitForSignal(const sigset_t& set, std::optional<milliseconds> timeout) {
  for (;;) {
    int signal = 0;
    if (timeout) {
      milliseconds wait = std::max(*timeout, milliseconds(0));
      timespec spec{static_cast<time_t>(wait.count() / 1000),
                    static_cast<long>(wait.count() % 1000) * 1000000};
      signal = sigtimedwait(&set, nullptr, &spec);
    } else {
      signal = sigwaitinfo(&set, nullptr);
    }
    if (signal > 0) {
      return signal;
    }
    if (errno == EAGAIN) {
      return 0;
    }
    // EINTR: a signal outside the set; wait again.
  }
}

// Whether `pid` has ended, with its wait status.
bool Reaped(pid_t pid, int& wait_status, int options = WNOHANG) {
  for (;;) {
    pid_t done = waitpid(pid, &wait_status, options);
    if (done == pid) {
      return true;
    }
    if (done < 0 && errno == EINTR) {
      continue;
    }
    return false;
  }
}

std::vector<barbican::SecretRef> Missing(
    const std::vector<barbican::SecretRef>& old_refs,
    const std::vector<barbican::SecretRef>& new_refs) {
  std::vector<barbican::SecretRef> missing;
  for (const barbican::SecretRef& ref : old_refs) {
    if (std::find(new_refs.begin(), new_refs.end(), ref) == new_refs.end()) {
      missing.push_back(ref);
    }
  }
  return missing;
}

// The running state of one `siq run`.
class Supervisor {
 public:
  Supervisor(SecretLoader& loader, const RunnerOptions& options)
      : loader_(loader), options_(options), signals_(HandledSignals()) {}

  Result<int> Run() {
    auto container = loader_.FindContainer(options_.container);
    if (!container.ok()) {
      return container.status();
    }
    container_ = container->ref;
    auto loaded = Load(*container);
    if (!loaded.ok()) {
      return loaded.status();
    }
    loaded_ = std::move(*loaded);

    sigset_t previous;
    pthread_sigmask(SIG_BLOCK, &signals_, &previous);
    auto child = Spawn();
    if (!child.ok()) {
      pthread_sigmask(SIG_SETMASK, &previous, nullptr);
      return child.status();
    }
    child_ = std::move(*child);
    RegisterConsumers({});
    return Supervise();
  }

 private:
  Result<LoadedSet> Load(const barbican::Container& container) {
    auto selections = loader_.Select(container);
    if (!selections.ok()) {
      return selections.status();
    }
    auto secrets = loader_.Load(*selections);
    if (!secrets.ok()) {
      return secrets.status();
    }
    return LoadedSet{SortedEntries(container.secrets), std::move(*secrets)};
  }

  Result<Child> Spawn() {
    std::vector<std::string> base;
    for (std::string& entry : ProcessEnvironmentEntries()) {
      if (!entry.starts_with(std::string(kSecretsFdVariable) + "=")) {
        base.push_back(std::move(entry));
      }
    }
    SecretsPipe pipe = SecretsPipe::kNo;
    if (options_.watch && options_.reload_mode == ReloadMode::kSignal) {
      base.push_back(fmt::format("{}={}", kSecretsFdVariable, kSecretsFd));
      pipe = SecretsPipe::kYes;
    }
    auto env =
        EnvironmentBlock::Build(base, loaded_.secrets, options_.encoding);
    if (!env.ok()) {
      return env.status();
    }
    auto child = Child::Start(options_.argv, *env, pipe);
    if (child.ok()) {
      log::Get("run")->info("started {} as process {} with {} secrets",
                            options_.argv[0], child->pid(),
                            loaded_.secrets.size());
    }
    return child;
  }

  void RegisterConsumers(const std::vector<barbican::SecretRef>& dropped) {
    Status status = loader_.UpdateConsumers(loaded_.Refs(), dropped);
    if (!status.ok()) {
      log::Get("run")->warn("updating the consumers of the loaded secrets: {}",
                            status.message());
    }
  }

  Result<int> Supervise() {
    auto next_poll = Clock::now() + options_.watch.value_or(milliseconds(0));
    for (;;) {
      std::optional<milliseconds> timeout;
      if (options_.watch) {
        timeout =
            std::chrono::duration_cast<milliseconds>(next_poll - Clock::now());
      }
      int signal = WaitForSignal(signals_, timeout);
      if (signal == SIGCHLD) {
        int wait_status = 0;
        if (Reaped(child_->pid(), wait_status)) {
          return ExitCodeOfWaitStatus(wait_status);
        }
      } else if (signal != 0) {
        child_->Signal(signal);
      } else {
        std::optional<int> ended = Poll();
        if (ended) {
          return *ended;
        }
        next_poll = Clock::now() + *options_.watch;
      }
    }
  }

  // Looks for a change and hands it over. Returns an exit code when the run
  // must end (siq was told to stop while restarting the child).
  std::optional<int> Poll() {
    auto container = loader_.FindContainer(container_);
    if (!container.ok()) {
      log::Get("run")->warn("polling the container: {}",
                            container.status().message());
      return std::nullopt;
    }
    if (SortedEntries(container->secrets) == loaded_.entries) {
      return std::nullopt;
    }
    auto loaded = Load(*container);
    if (!loaded.ok()) {
      log::Get("run")->warn("loading the changed secrets: {}",
                            loaded.status().message());
      return std::nullopt;
    }
    std::vector<barbican::SecretRef> old_refs = loaded_.Refs();
    loaded_ = std::move(*loaded);
    log::Get("run")->info("the container changed; {} secrets loaded",
                          loaded_.secrets.size());

    std::optional<int> ended = HandOver();
    if (!ended) {
      RegisterConsumers(Missing(old_refs, loaded_.Refs()));
    }
    return ended;
  }

  std::optional<int> HandOver() {
    if (options_.reload_mode == ReloadMode::kSignal) {
      auto secrets_only =
          EnvironmentBlock::Build({}, loaded_.secrets, options_.encoding);
      Status written = secrets_only.ok() ? child_->WriteSecrets(*secrets_only)
                                         : secrets_only.status();
      if (written.ok()) {
        child_->Signal(options_.reload_signal);
        return std::nullopt;
      }
      log::Get("run")->warn("{}; restarting the child instead",
                            written.message());
    }
    return Restart();
  }

  std::optional<int> Restart() {
    bool told_to_stop = false;
    int wait_status = Stop(told_to_stop);
    if (told_to_stop) {
      return ExitCodeOfWaitStatus(wait_status);
    }
    auto child = Spawn();
    if (!child.ok()) {
      log::Get("run")->error("restarting: {}", child.status().message());
      return static_cast<int>(ExitCode::kRuntime);
    }
    child_ = std::move(*child);
    return std::nullopt;
  }

  // TERM, then KILL after the stop timeout. Notes a TERM or INT that siq
  // received meanwhile. Returns the child's wait status.
  int Stop(bool& told_to_stop) {
    child_->Signal(SIGTERM);
    auto deadline = Clock::now() + options_.stop_timeout;
    int wait_status = 0;
    while (!Reaped(child_->pid(), wait_status)) {
      auto left =
          std::chrono::duration_cast<milliseconds>(deadline - Clock::now());
      int signal = WaitForSignal(signals_, left);
      if (signal == SIGTERM || signal == SIGINT) {
        told_to_stop = true;
      } else if (signal == 0) {
        log::Get("run")->warn("process {} ignored TERM for {} ms; killing it",
                              child_->pid(), options_.stop_timeout.count());
        child_->Signal(SIGKILL);
        Reaped(child_->pid(), wait_status, 0);
        break;
      }
    }
    return wait_status;
  }

  SecretLoader& loader_;
  const RunnerOptions& options_;
  sigset_t signals_;
  barbican::ContainerRef container_;
  LoadedSet loaded_;
  std::optional<Child> child_;
};

}  // namespace

Runner::Runner(SecretLoader& loader, RunnerOptions options)
    : loader_(loader), options_(std::move(options)) {}

Result<int> Runner::Run() {
  Supervisor supervisor(loader_, options_);
  return supervisor.Run();
}

}  // namespace siq::run
