// SecretBytes: the one type that holds a secret value, token or password.
//
// The bytes live on OpenSSL's secure heap (locked in memory and left out of
// core dumps once InitSecureMemory() has run) and are wiped when the object is
// destroyed or cleared. The type cannot be copied by accident, converted to a
// string, or printed: streams and fmt print a fixed mask. Reveal() is the one
// explicit way to the bytes, for code that builds a request or hands a value
// to a child process; grep for it to audit every use.
//
// An object is not safe to share between threads while one of them modifies
// it; moving transfers ownership of the buffer.
#pragma once

#include <cstddef>
#include <ostream>
#include <string_view>

#include <fmt/format.h>

namespace siq {

class SecretBytes {
 public:
  static constexpr std::string_view kMask = "[redacted]";

  SecretBytes() = default;
  // Copies `bytes` into secure memory. The caller wipes its own copy.
  explicit SecretBytes(std::string_view bytes);
  ~SecretBytes();

  SecretBytes(const SecretBytes&) = delete;
  SecretBytes& operator=(const SecretBytes&) = delete;
  SecretBytes(SecretBytes&& other) noexcept;
  SecretBytes& operator=(SecretBytes&& other) noexcept;

  // An explicit copy, for the rare holder that needs its own.
  SecretBytes Clone() const;

  void Append(std::string_view bytes);
  void Append(char byte);
  // Wipes the bytes; keeps nothing allocated.
  void Clear();

  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }

  // The bytes themselves. The view is valid until the next change.
  std::string_view Reveal() const { return {data_, size_}; }

  // Constant-time comparison of the bytes.
  bool Equals(const SecretBytes& other) const;

 private:
  void Reserve(size_t capacity);

  char* data_ = nullptr;
  size_t size_ = 0;
  size_t capacity_ = 0;
};

// Prints the mask, never the bytes.
std::ostream& operator<<(std::ostream& out, const SecretBytes& secret);

// Wipes `text` in place: for strings that briefly held secret bytes.
void WipeString(std::string& text);

// Sets up the secure heap and stops this process from dumping core. Call once,
// first thing in main(). Failure to lock memory is not fatal: the bytes are
// still wiped, only not locked.
void InitSecureMemory();

}  // namespace siq

template <>
struct fmt::formatter<siq::SecretBytes> : fmt::formatter<std::string_view> {
  template <typename FormatContext>
  auto format(const siq::SecretBytes& /*secret*/, FormatContext& ctx) const {
    return fmt::formatter<std::string_view>::format(siq::SecretBytes::kMask,
                                                    ctx);
  }
};
