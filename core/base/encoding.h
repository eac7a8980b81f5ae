// Encodings of secret bytes: base64 for Barbican payloads, base64url for
// generated passwords, hex for `siq run --encoding hex`. The output is a
// secret too, so it lands in SecretBytes; OpenSSL does the encoding.
#pragma once

#include <string_view>

#include "core/base/secret.h"

namespace siq {

enum class Base64Alphabet {
  kStandard,  // + and /, padded with =
  kUrlSafe,   // - and _, no padding
};

SecretBytes EncodeBase64(std::string_view bytes,
                         Base64Alphabet alphabet = Base64Alphabet::kStandard);

SecretBytes EncodeHex(std::string_view bytes);

// `count` bytes from OpenSSL's random generator.
SecretBytes RandomBytes(size_t count);

}  // namespace siq
