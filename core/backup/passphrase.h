// Where a backup passphrase comes from: a file descriptor the caller opened
// (`--passphrase-fd 3 3<file`), or a prompt on the controlling terminal with
// echo off. Never argv, never the environment. The passphrase lands in
// SecretBytes straight from the read buffer, which is wiped.
//
// Functions of the process's file descriptors and terminal; not for use
// from several threads at once.
#pragma once

#include <string_view>

#include "core/base/secret.h"
#include "core/base/status.h"

namespace siq::backup {

// Reads `fd` to its end and closes it; one trailing "\n" (or "\r\n") is
// dropped. kInvalidArgument for stdout and stderr, for a descriptor that is
// not open for reading, and for an empty passphrase.
[[nodiscard]] Result<SecretBytes> ReadPassphraseFromFd(int fd);

// Asks on /dev/tty with echo off, twice when `confirm` (for a new bundle),
// and fails with kInvalidArgument when the answers differ, are empty, or
// there is no terminal.
enum class Confirm { kNo, kYes };
[[nodiscard]] Result<SecretBytes> PromptPassphrase(std::string_view prompt,
                                                   Confirm confirm);

}  // namespace siq::backup
