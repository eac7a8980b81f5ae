// Runner: the whole of `siq run` once the connection exists. It loads the
// VPS's secrets, starts the child with them in its environment, registers
// the VPS as a consumer of each loaded secret, forwards TERM, INT and HUP to
// the child, and returns the child's exit code when it ends.
//
// With a watch interval it polls the VPS's container. When the container's
// entries change it loads the new set and hands it over:
//  - ReloadMode::kRestart: TERM to the child, KILL after the stop timeout,
//    then the same command again with the new environment;
//  - ReloadMode::kSignal: the new set is written into the secrets pipe the
//    child inherited (see child.h) and the reload signal is sent; a child
//    whose pipe is full is restarted instead.
// Then it registers the VPS as a consumer of the new secrets and removes its
// entry from the ones no longer loaded: the handshake `siq rotate` waits
// for. A failed poll or load is logged and retried at the next interval; the
// running child keeps its values. A child that exits on its own ends the
// run; siq does not restart a crashed application.
//
// Blocks TERM, INT, HUP and CHLD in the calling thread to wait for them
// synchronously; call it from the main thread before any other thread
// starts. Not thread-safe.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "core/barbican/types.h"
#include "core/base/status.h"
#include "core/run/environment.h"
#include "core/run/secret_loader.h"

namespace siq::run {

enum class ReloadMode { kSignal, kRestart };

struct RunnerOptions {
  std::vector<std::string> argv;
  barbican::ContainerRef container;  // empty: found by the VPS's name
  Encoding encoding = Encoding::kBase64;
  // Poll interval; none: load once and never poll.
  std::optional<std::chrono::milliseconds> watch;
  ReloadMode reload_mode = ReloadMode::kSignal;
  int reload_signal = 1;  // SIGHUP
  std::chrono::milliseconds stop_timeout = std::chrono::seconds(10);
};

class Runner {
 public:
  // `loader` must outlive the runner.
  Runner(SecretLoader& loader, RunnerOptions options);

  // The child's exit code (128 + signal when a signal killed it). Fails
  // before the child starts when the secrets cannot be loaded or the
  // command cannot be started. Network, a process, signals.
  [[nodiscard]] Result<int> Run();

 private:
  SecretLoader& loader_;
  RunnerOptions options_;
};

}  // namespace siq::run
