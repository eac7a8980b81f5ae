#include "core/base/encoding.h"

#include <algorithm>
#include <cstdlib>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

namespace siq {

SecretBytes EncodeBase64(std::string_view bytes, Base64Alphabet alphabet) {
  SecretBytes out;
  // EVP_EncodeBlock writes 4 characters per 3 bytes and a NUL; encode in
  // chunks so that the scratch buffer stays small and is wiped.
  constexpr size_t kChunk = size_t{3} * 64;
  unsigned char encoded[kChunk / 3 * 4 + 1];
  for (size_t at = 0; at < bytes.size(); at += kChunk) {
    std::string_view chunk = bytes.substr(at, kChunk);
    int length = EVP_EncodeBlock(
        encoded, reinterpret_cast<const unsigned char*>(chunk.data()),
        static_cast<int>(chunk.size()));
    for (int i = 0; i < length; ++i) {
      char c = static_cast<char>(encoded[i]);
      if (alphabet == Base64Alphabet::kUrlSafe) {
        if (c == '=') {
          continue;
        }
        c = c == '+' ? '-' : c == '/' ? '_' : c;
      }
      out.Append(c);
    }
  }
  OPENSSL_cleanse(encoded, sizeof(encoded));
  return out;
}

SecretBytes EncodeHex(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  SecretBytes out;
  for (char c : bytes) {
    auto byte = static_cast<unsigned char>(c);
    out.Append(kDigits[byte >> 4]);
    out.Append(kDigits[byte & 0xf]);
  }
  return out;
}

SecretBytes RandomBytes(size_t count) {
  SecretBytes out;
  unsigned char block[64];
  while (out.size() < count) {
    size_t take = std::min(sizeof(block), count - out.size());
    if (RAND_bytes(block, static_cast<int>(take)) != 1) {
      std::abort();  // no entropy: nothing safe to fall back on
    }
    out.Append(std::string_view(reinterpret_cast<char*>(block), take));
  }
  OPENSSL_cleanse(block, sizeof(block));
  return out;
}

}  // namespace siq
