// The nouns of Barbican's API as siq's types. A ref is the URL Barbican gave
// a resource; the three kinds of ref are distinct types so that a container
// ref is never passed where a secret ref belongs. Plain values, safe to copy
// and share.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace siq::barbican {

template <typename Tag>
class Ref {
 public:
  Ref() = default;
  explicit Ref(std::string url) : url_(std::move(url)) {}

  const std::string& url() const { return url_; }
  // The last path segment: Barbican's id (a UUID).
  std::string_view id() const {
    std::string_view url = url_;
    while (!url.empty() && url.back() == '/') {
      url.remove_suffix(1);
    }
    return url.substr(url.rfind('/') + 1);
  }
  bool empty() const { return url_.empty(); }

  // Written out: clang-tidy 14 misreads a defaulted operator<=>
  // (llvm/llvm-project#53961).
  friend bool operator==(const Ref& a, const Ref& b) {
    return a.url_ == b.url_;
  }
  friend bool operator<(const Ref& a, const Ref& b) { return a.url_ < b.url_; }

 private:
  std::string url_;
};

struct SecretTag {};
struct ContainerTag {};
struct OrderTag {};
using SecretRef = Ref<SecretTag>;
using ContainerRef = Ref<ContainerTag>;
using OrderRef = Ref<OrderTag>;

// A secret to store with a payload of the caller's.
struct SecretSpec {
  std::string name;
  std::string secret_type = "opaque";
  std::string payload_content_type = "application/octet-stream";
  std::string algorithm;
  int bit_length = 0;
  std::string mode;
  std::string expiration;  // ISO 8601; empty for none
};

// What GET /v1/secrets/{id} says: everything but the payload.
struct SecretMeta {
  SecretRef ref;
  std::string name;
  std::string secret_type;
  std::string status;
  std::string algorithm;
  int bit_length = 0;
  std::string mode;
  std::string created;
  std::string updated;
  std::string expiration;
  std::string creator_id;
  // "default" -> the content type to ask for when reading the payload.
  std::map<std::string, std::string> content_types;
};

struct SecretFilter {
  // Barbican matches this with SQL LIKE: '_' and '%' are wildcards.
  std::string name;
  std::string secret_type;
  std::string sort = "created:asc";
};

// A key Barbican generates itself: the value never leaves the server.
struct KeyOrderSpec {
  std::string name;
  std::string algorithm = "aes";
  int bit_length = 256;
  std::string mode = "cbc";
  std::string payload_content_type = "application/octet-stream";
};

struct Order {
  OrderRef ref;
  std::string type;
  std::string status;  // PENDING, ACTIVE or ERROR
  std::string name;    // meta.name
  SecretRef secret_ref;
  std::string created;
  int error_status_code = 0;
  std::string error_reason;
};

struct ContainerEntry {
  std::string name;
  SecretRef ref;
  friend bool operator==(const ContainerEntry&,
                         const ContainerEntry&) = default;
};

struct Container {
  ContainerRef ref;
  std::string name;
  std::string type;
  std::string status;
  std::string created;
  std::string creator_id;
  std::vector<ContainerEntry> secrets;
};

// The read ACL of a secret or container.
struct Acl {
  std::vector<std::string> read_users;
  // false: only the creator, the project's admins and read_users may read.
  bool project_access = true;
  friend bool operator==(const Acl&, const Acl&) = default;
};

// Who uses a secret (API 1.1 secret consumers).
struct Consumer {
  std::string service;
  std::string resource_type;
  std::string resource_id;
  friend bool operator==(const Consumer&, const Consumer&) = default;
};

}  // namespace siq::barbican
