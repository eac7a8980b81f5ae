// The child's environment: siq's own variables plus the loaded secrets, each
// encoded as asked, built in one SecretBytes block so that the values never
// sit in an ordinary string. The block owns its memory and wipes it when
// destroyed; the pointer array it hands to execve points into that memory.
// Movable, not copyable, not safe to share between threads.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/base/secret.h"
#include "core/base/status.h"
#include "core/run/secret_loader.h"

namespace siq::run {

enum class Encoding {
  kBase64,  // standard alphabet, padded: safe for any bytes (the default)
  kHex,     // lower-case hex
  kRaw,     // the bytes themselves; refused when they hold a NUL
};

// `value` in `encoding`. Fails with kInvalidArgument naming `variable` when
// a raw value holds a NUL byte, which an environment cannot carry.
[[nodiscard]] Result<SecretBytes> EncodeValue(std::string_view variable,
                                              const SecretBytes& value,
                                              Encoding encoding);

class EnvironmentBlock {
 public:
  // `base` ("NAME=value" entries, siq's environment) minus any variable a
  // secret sets, then one "VARIABLE=encoded value" per secret. Fails as
  // EncodeValue does. No I/O.
  [[nodiscard]] static Result<EnvironmentBlock> Build(
      const std::vector<std::string>& base,
      const std::vector<LoadedSecret>& secrets,
      Encoding encoding);

  EnvironmentBlock(EnvironmentBlock&&) = default;
  EnvironmentBlock& operator=(EnvironmentBlock&&) = default;

  // The NULL-terminated array execve and posix_spawn take. Valid while the
  // block lives and is not moved.
  char* const* envp();

  // Every "NAME=value" entry; for tests.
  std::vector<std::string_view> Entries() const;

 private:
  EnvironmentBlock() = default;

  SecretBytes block_;            // entries, each followed by a NUL
  std::vector<size_t> offsets_;  // where each entry starts in block_
  std::vector<char*> pointers_;  // built by envp()
};

// This process's environment as "NAME=value" entries.
std::vector<std::string> ProcessEnvironmentEntries();

}  // namespace siq::run
