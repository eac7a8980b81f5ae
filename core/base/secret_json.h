// JSON documents that carry one secret value (a password, a payload) are
// serialised straight into SecretBytes, so that the value never passes
// through a std::string that would be freed without being wiped.
#pragma once

#include <string_view>

#include <nlohmann/json.hpp>

#include "core/base/secret.h"

namespace siq {

// The string to put in a document where the secret value goes.
inline constexpr std::string_view kSecretPlaceholder = "\x01siq-secret\x01";

// `doc` serialised, with its one kSecretPlaceholder string replaced by
// `secret` as a JSON string. REQUIRES: the placeholder occurs exactly once
// and `secret` is valid UTF-8 (callers base64-encode binary values).
SecretBytes DumpWithSecret(const nlohmann::json& doc,
                           const SecretBytes& secret);

}  // namespace siq
