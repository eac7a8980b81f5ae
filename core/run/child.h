// Child: the application process `siq run` starts and supervises. It is
// spawned with an environment block built in SecretBytes (nothing of it
// passes through siq's own environment or argv), with the default signal
// dispositions and an empty signal mask whatever siq itself blocks.
//
// In the reload-by-signal mode the child also inherits the read end of a
// pipe as file descriptor kSecretsFd (announced as SIQ_SECRETS_FD); siq
// writes each new set of secrets into it before signalling. A pipe lives in
// kernel memory, so the values still never touch a disk.
//
// The object owns the write end of that pipe; the process itself outlives
// the object unless waited for. Movable, not copyable, not thread-safe.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <string>
#include <vector>

#include "core/base/status.h"
#include "core/run/environment.h"

namespace siq::run {

inline constexpr int kSecretsFd = 3;

enum class SecretsPipe { kNo, kYes };

class Child {
 public:
  // Starts `argv` (argv[0] searched in PATH) with `env`. With
  // SecretsPipe::kYes, env must already hold SIQ_SECRETS_FD. Fails with
  // kInvalidArgument when the program cannot be started. Side effect: a
  // process.
  [[nodiscard]] static Result<Child> Start(const std::vector<std::string>& argv,
                                           EnvironmentBlock& env,
                                           SecretsPipe pipe);

  Child(Child&& other) noexcept;
  Child& operator=(Child&& other) noexcept;
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;
  ~Child();

  pid_t pid() const { return pid_; }

  // Sends `signal`; a child already gone is not an error.
  void Signal(int signal) const;

  // Writes `entries` ("NAME=value" each followed by a NUL, then one more
  // NUL) into the secrets pipe without blocking. Fails with kUnavailable
  // when there is no pipe or it is full (the child is not reading it).
  [[nodiscard]] Status WriteSecrets(const EnvironmentBlock& entries) const;

 private:
  Child(pid_t pid, int secrets_fd) : pid_(pid), secrets_fd_(secrets_fd) {}

  pid_t pid_ = -1;
  int secrets_fd_ = -1;  // write end of the secrets pipe, or -1
};

// The exit code a shell would report for a wait status: the exit status,
// or 128 + the signal that killed it.
int ExitCodeOfWaitStatus(int wait_status);

}  // namespace siq::run
