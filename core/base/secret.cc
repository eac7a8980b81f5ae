#include "core/base/secret.h"

#include <sys/prctl.h>

#include <algorithm>
#include <cstring>
#include <exception>
#include <string>
#include <utility>

#include <openssl/crypto.h>

namespace siq {
namespace {

// 1 MiB of locked memory holds every value a siq process needs at once; the
// minimum block keeps small tokens from sharing a cache line with neighbours.
constexpr size_t kSecureHeapSize = size_t{1} << 20;
constexpr int kSecureHeapMinBlock = 32;

}  // namespace

SecretBytes::SecretBytes(std::string_view bytes) {
  Append(bytes);
}

SecretBytes::~SecretBytes() {
  Clear();
}

SecretBytes::SecretBytes(SecretBytes&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)),
      size_(std::exchange(other.size_, 0)),
      capacity_(std::exchange(other.capacity_, 0)) {}

SecretBytes& SecretBytes::operator=(SecretBytes&& other) noexcept {
  if (this != &other) {
    Clear();
    data_ = std::exchange(other.data_, nullptr);
    size_ = std::exchange(other.size_, 0);
    capacity_ = std::exchange(other.capacity_, 0);
  }
  return *this;
}

SecretBytes SecretBytes::Clone() const {
  return SecretBytes(Reveal());
}

void SecretBytes::Append(std::string_view bytes) {
  if (bytes.empty()) {
    return;
  }
  Reserve(size_ + bytes.size());
  if (data_ == nullptr) {
    std::terminate();  // Reserve() has allocated or terminated already
  }
  std::memcpy(data_ + size_, bytes.data(), bytes.size());
  size_ += bytes.size();
}

void SecretBytes::Append(char byte) {
  Append(std::string_view(&byte, 1));
}

void SecretBytes::Clear() {
  if (data_ != nullptr) {
    OPENSSL_secure_clear_free(data_, capacity_);
  }
  data_ = nullptr;
  size_ = 0;
  capacity_ = 0;
}

bool SecretBytes::Equals(const SecretBytes& other) const {
  return size_ == other.size_ &&
         (size_ == 0 || CRYPTO_memcmp(data_, other.data_, size_) == 0);
}

void SecretBytes::Reserve(size_t capacity) {
  if (capacity <= capacity_) {
    return;
  }
  // Grow by doubling, copying into a fresh block and wiping the old one:
  // realloc could leave the old bytes behind in freed memory.
  size_t new_capacity = std::max<size_t>({capacity, capacity_ * 2, 32});
  auto* fresh = static_cast<char*>(OPENSSL_secure_zalloc(new_capacity));
  if (fresh == nullptr) {
    // The locked arena is full: the ordinary heap still gets the value
    // wiped on free (OPENSSL_secure_clear_free handles both kinds).
    fresh = static_cast<char*>(OPENSSL_zalloc(new_capacity));
  }
  if (fresh == nullptr) {
    std::terminate();
  }
  if (size_ > 0) {
    std::memcpy(fresh, data_, size_);
  }
  size_t size = size_;
  Clear();
  data_ = fresh;
  size_ = size;
  capacity_ = new_capacity;
}

std::ostream& operator<<(std::ostream& out, const SecretBytes& /*secret*/) {
  return out << SecretBytes::kMask;
}

void WipeString(std::string& text) {
  OPENSSL_cleanse(text.data(), text.size());
  text.clear();
}

void InitSecureMemory() {
  // A refusal to lock memory (a low RLIMIT_MEMLOCK) leaves OpenSSL on its
  // normal heap; values are still wiped on free.
  CRYPTO_secure_malloc_init(kSecureHeapSize, kSecureHeapMinBlock);
  prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
}

}  // namespace siq
