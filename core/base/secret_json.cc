#include "core/base/secret_json.h"

#include <cstdlib>
#include <string>

#include <fmt/format.h>

namespace siq {
namespace {

void AppendJsonEscaped(SecretBytes& out, std::string_view text) {
  for (char c : text) {
    auto byte = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out.Append('\\');
      out.Append(c);
    } else if (byte < 0x20) {
      out.Append(fmt::format("\\u{:04x}", byte));
    } else {
      out.Append(c);
    }
  }
}

}  // namespace

SecretBytes DumpWithSecret(const nlohmann::json& doc,
                           const SecretBytes& secret) {
  std::string text = doc.dump();
  std::string quoted = nlohmann::json(kSecretPlaceholder).dump();
  size_t at = text.find(quoted);
  if (at == std::string::npos) {
    std::abort();  // a caller broke the contract: better than a leak
  }

  SecretBytes out;
  out.Append(std::string_view(text).substr(0, at));
  out.Append('"');
  AppendJsonEscaped(out, secret.Reveal());
  out.Append('"');
  out.Append(std::string_view(text).substr(at + quoted.size()));
  return out;
}

}  // namespace siq
