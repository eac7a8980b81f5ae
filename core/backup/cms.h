// Sealing and opening backup bundles with OpenSSL's CMS: AuthEnvelopedData
// with AES-256-GCM, so that a bundle cannot be read or changed without
// being noticed. Two ways to seal:
//
//   - to recipient certificates (key transport for RSA, key agreement for
//     EC): writing a backup needs no secret, and the holder of a
//     recipient's private key opens it, also with
//     `openssl cms -decrypt -in FILE -inkey key.pem -recip cert.pem`;
//   - to a passphrase (CMS password recipient info, PBKDF2 with
//     HMAC-SHA-256 wrapping the content key with AES-256 key wrap in CBC as
//     RFC 3211 has it), for small setups without certificates.
//
// The sealed form is S/MIME text (MIME headers and base64), which
// `openssl cms` reads without an -inform option. The plain text of a bundle
// holds references and metadata only, so it travels in std::string; a
// passphrase only ever in SecretBytes.
//
// Pure functions over their arguments (files are read, none written); safe
// to call from any thread.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/base/secret.h"
#include "core/base/status.h"

namespace siq::backup {

// PBKDF2 rounds for passphrase-sealed bundles.
inline constexpr int kPassphraseIterations = 200000;

// Seals `plain` so that the private key of any certificate in
// `certificate_paths` (PEM files) opens it. Fails with kInvalidArgument
// naming the file when a certificate cannot be read, is not PEM, or its key
// cannot receive a CMS content key; with kInternal when OpenSSL fails.
[[nodiscard]] Result<std::string> SealToCertificates(
    std::string_view plain,
    const std::vector<std::string>& certificate_paths);

// Seals `plain` so that `passphrase` opens it. kInvalidArgument for an empty
// passphrase.
[[nodiscard]] Result<std::string> SealWithPassphrase(
    std::string_view plain,
    const SecretBytes& passphrase);

// How to open a sealed bundle: a private key (PEM, unencrypted) with,
// optionally, its certificate to pick the recipient entry; or a passphrase.
struct OpeningKey {
  std::string key_path;
  std::string certificate_path;  // may be empty
  SecretBytes passphrase;        // used when key_path is empty
};

// Opens a sealed bundle. `name` (the file it came from) begins every error.
// Fails with kInvalidArgument when a key or certificate file cannot be
// read; with kCorrupt when `sealed` is not a CMS AuthEnvelopedData
// structure, and also when the key or passphrase does not open it or the
// authentication tag does not match (a wrong passphrase and an altered
// bundle cannot be told apart, and the message says so). Not
// kPermissionDenied: that is siq's policy saying no (exit 3).
[[nodiscard]] Result<std::string> Open(std::string_view sealed,
                                       const OpeningKey& key,
                                       std::string_view name);

// The SHA-256 of `bytes` as 64 lower-case hex digits.
std::string Sha256Hex(std::string_view bytes);

}  // namespace siq::backup
