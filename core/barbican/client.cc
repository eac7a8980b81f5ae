#include "core/barbican/client.h"

#include <algorithm>
#include <charconv>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/base/encoding.h"
#include "core/base/secret_json.h"

namespace siq::barbican {
namespace {

using nlohmann::json;

// Barbican caps a page at 100 items.
constexpr int kPageSize = 100;
constexpr char kConsumersVersion[] = "key-manager 1.1";

std::string JsonString(const json& doc, const char* key) {
  auto it = doc.find(key);
  return it != doc.end() && it->is_string() ? it->get<std::string>() : "";
}

int JsonInt(const json& doc, const char* key) {
  auto it = doc.find(key);
  return it != doc.end() && it->is_number_integer() ? it->get<int>() : 0;
}

// Barbican keeps an order's error_status_code as a string ("400", or
// "400 Bad Request" in its API reference); a number is taken too.
int StatusCodeOf(const json& doc, const char* key) {
  auto it = doc.find(key);
  if (it != doc.end() && it->is_string()) {
    const auto& text = it->get_ref<const std::string&>();
    int code = 0;
    std::from_chars(text.data(), text.data() + text.size(), code);
    return code;
  }
  return JsonInt(doc, key);
}

SecretMeta ParseSecretMeta(const json& doc) {
  SecretMeta meta;
  meta.ref = SecretRef(JsonString(doc, "secret_ref"));
  meta.name = JsonString(doc, "name");
  meta.secret_type = JsonString(doc, "secret_type");
  meta.status = JsonString(doc, "status");
  meta.algorithm = JsonString(doc, "algorithm");
  meta.bit_length = JsonInt(doc, "bit_length");
  meta.mode = JsonString(doc, "mode");
  meta.created = JsonString(doc, "created");
  meta.updated = JsonString(doc, "updated");
  meta.expiration = JsonString(doc, "expiration");
  meta.creator_id = JsonString(doc, "creator_id");
  if (auto types = doc.find("content_types");
      types != doc.end() && types->is_object()) {
    for (const auto& [key, value] : types->items()) {
      if (value.is_string()) {
        meta.content_types[key] = value.get<std::string>();
      }
    }
  }
  return meta;
}

Order ParseOrder(const json& doc) {
  Order order;
  order.ref = OrderRef(JsonString(doc, "order_ref"));
  order.type = JsonString(doc, "type");
  order.status = JsonString(doc, "status");
  order.secret_ref = SecretRef(JsonString(doc, "secret_ref"));
  order.created = JsonString(doc, "created");
  order.error_status_code = StatusCodeOf(doc, "error_status_code");
  order.error_reason = JsonString(doc, "error_reason");
  if (auto meta = doc.find("meta"); meta != doc.end() && meta->is_object()) {
    order.name = JsonString(*meta, "name");
  }
  return order;
}

Container ParseContainer(const json& doc) {
  Container container;
  container.ref = ContainerRef(JsonString(doc, "container_ref"));
  container.name = JsonString(doc, "name");
  container.type = JsonString(doc, "type");
  container.status = JsonString(doc, "status");
  container.created = JsonString(doc, "created");
  container.creator_id = JsonString(doc, "creator_id");
  for (const json& entry : doc.value("secret_refs", json::array())) {
    container.secrets.push_back({JsonString(entry, "name"),
                                 SecretRef(JsonString(entry, "secret_ref"))});
  }
  return container;
}

Acl ParseAcl(const json& doc) {
  Acl acl;
  auto read = doc.find("read");
  if (read == doc.end() || !read->is_object()) {
    return acl;
  }
  acl.project_access = read->value("project-access", true);
  for (const json& user : read->value("users", json::array())) {
    if (user.is_string()) {
      acl.read_users.push_back(user.get<std::string>());
    }
  }
  std::sort(acl.read_users.begin(), acl.read_users.end());
  return acl;
}

json AclBody(const Acl& acl) {
  return {
      {"read",
       {{"users", acl.read_users}, {"project-access", acl.project_access}}}};
}

json ConsumerBody(const Consumer& consumer) {
  return {{"service", consumer.service},
          {"resource_type", consumer.resource_type},
          {"resource_id", consumer.resource_id}};
}

Result<json> ParseBody(std::string_view operation,
                       const http::Response& response) {
  json doc = json::parse(response.body, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object()) {
    return Status(StatusCode::kServerError,
                  fmt::format("{}: Barbican's answer is not a JSON object "
                              "(request {})",
                              operation, response.RequestId()));
  }
  return doc;
}

}  // namespace

// One exchange with Barbican: what to send and which statuses mean success.
struct Client::Call {
  std::string operation;
  http::Method method = http::Method::kGet;
  std::string path;  // after /v1, with any query
  json body;         // null for none
  SecretBytes secret_body;
  std::vector<int> success = {200};
  http::SensitiveBody sensitive = http::SensitiveBody::kNo;
  std::string accept = "application/json";
  bool consumers_api = false;
  // What the guard is asked before the request is sent.
  GuardedCall guarded;
};

Client::Client(keystone::Session& session, Clock& clock)
    : session_(session), clock_(clock) {}

Result<std::string> Client::Url(std::string_view path) {
  if (endpoint_.empty()) {
    auto endpoint = session_.EndpointFor("key-manager");
    if (!endpoint.ok()) {
      return endpoint.status();
    }
    std::string url = *endpoint;
    while (!url.empty() && url.back() == '/') {
      url.pop_back();
    }
    if (url.size() >= 3 && url.compare(url.size() - 3, 3, "/v1") == 0) {
      url.resize(url.size() - 3);
    }
    endpoint_ = std::move(url);
  }
  return fmt::format("{}/v1{}", endpoint_, path);
}

GuardedCall Client::On(GuardedResource resource,
                       GuardedAction action,
                       std::string_view id,
                       NameCheck unknown) const {
  GuardedCall call{.action = action, .resource = resource};
  if (auto known = names_.find(id); known != names_.end()) {
    call.name = known->second;
  } else if (!id.empty()) {
    call.name_check = unknown;
  }
  return call;
}

void Client::Remember(std::string_view id, const std::string& name) {
  if (guard_ != nullptr && !id.empty() && !name.empty()) {
    names_.insert_or_assign(std::string(id), name);
  }
}

Status Client::CheckAnswer(GuardedCall call,
                           std::string operation,
                           const std::string& name) {
  if (guard_ == nullptr || call.name_check != NameCheck::kAfterAnswer) {
    return OkStatus();
  }
  call.name = name;
  call.name_check = NameCheck::kBefore;
  call.operation = std::move(operation);
  return guard_->Check(call);
}

Result<http::Response> Client::Send(Call call) {
  if (guard_ != nullptr) {
    call.guarded.operation = call.operation;
    SIQ_RETURN_IF_ERROR(guard_->Check(call.guarded));
  }
  auto url = Url(call.path);
  if (!url.ok()) {
    return url.status().WithContext(call.operation);
  }
  http::Request request;
  request.method = call.method;
  request.url = std::move(*url);
  request.headers = {{"Accept", call.accept}};
  if (call.consumers_api) {
    request.headers.emplace_back("OpenStack-API-Version", kConsumersVersion);
  }
  if (!call.body.is_null() || !call.secret_body.empty()) {
    request.headers.emplace_back("Content-Type", "application/json");
    request.body = call.secret_body.empty() ? SecretBytes(call.body.dump())
                                            : std::move(call.secret_body);
  }
  request.sensitive_body = call.sensitive;

  auto response = session_.Send(std::move(request));
  if (!response.ok()) {
    return response.status().WithContext(call.operation);
  }
  if (std::find(call.success.begin(), call.success.end(), response->status) ==
      call.success.end()) {
    // An error answer is Barbican's message, never the payload.
    if (call.sensitive == http::SensitiveBody::kYes) {
      response->body = std::string(response->secret_body.Reveal());
    }
    return http::ErrorFromResponse(call.operation, *response);
  }
  return response;
}

Result<json> Client::SendForJson(Call call) {
  std::string operation = call.operation;
  auto response = Send(std::move(call));
  if (!response.ok()) {
    return response.status();
  }
  return ParseBody(operation, *response);
}

Result<SecretRef> Client::CreateSecret(const SecretSpec& spec,
                                       const SecretBytes& payload) {
  json body = {{"name", spec.name},
               {"secret_type", spec.secret_type},
               {"payload", kSecretPlaceholder},
               {"payload_content_type", spec.payload_content_type}};
  // Barbican takes text/plain as it is and everything else as base64.
  SecretBytes encoded = spec.payload_content_type == "text/plain"
                            ? payload.Clone()
                            : EncodeBase64(payload.Reveal());
  if (spec.payload_content_type != "text/plain") {
    body["payload_content_encoding"] = "base64";
  }
  if (!spec.algorithm.empty()) {
    body["algorithm"] = spec.algorithm;
  }
  if (spec.bit_length > 0) {
    body["bit_length"] = spec.bit_length;
  }
  if (!spec.mode.empty()) {
    body["mode"] = spec.mode;
  }
  if (!spec.expiration.empty()) {
    body["expiration"] = spec.expiration;
  }
  auto doc =
      SendForJson({.operation = fmt::format("creating secret {}", spec.name),
                   .method = http::Method::kPost,
                   .path = "/secrets",
                   .secret_body = DumpWithSecret(body, encoded),
                   .success = {201},
                   .guarded = {.action = GuardedAction::kCreate,
                               .resource = GuardedResource::kSecrets,
                               .name = spec.name}});
  if (!doc.ok()) {
    return doc.status();
  }
  SecretRef ref(JsonString(*doc, "secret_ref"));
  Remember(ref.id(), spec.name);
  return ref;
}

Result<SecretMeta> Client::GetSecret(const SecretRef& ref) {
  // Accept must be exactly application/json: any other value on this path
  // is Barbican's legacy way to read the payload.
  std::string operation = fmt::format("reading secret {}", ref.url());
  GuardedCall guarded = On(GuardedResource::kSecrets, GuardedAction::kGet,
                           ref.id(), NameCheck::kAfterAnswer);
  auto doc = SendForJson({.operation = operation,
                          .path = fmt::format("/secrets/{}", ref.id()),
                          .guarded = guarded});
  if (!doc.ok()) {
    return doc.status();
  }
  SecretMeta meta = ParseSecretMeta(*doc);
  if (meta.ref.empty()) {
    meta.ref = ref;
  }
  SIQ_RETURN_IF_ERROR(CheckAnswer(guarded, operation, meta.name));
  Remember(ref.id(), meta.name);
  return meta;
}

Result<SecretBytes> Client::GetPayload(const SecretRef& ref) {
  auto meta = GetSecret(ref);
  if (!meta.ok()) {
    return meta.status();
  }
  auto type = meta->content_types.find("default");
  auto response = Send(
      {.operation = fmt::format("reading the payload of secret {}", ref.url()),
       .path = fmt::format("/secrets/{}/payload", ref.id()),
       .sensitive = http::SensitiveBody::kYes,
       .accept = type == meta->content_types.end() ? "application/octet-stream"
                                                   : type->second,
       .guarded = {.action = GuardedAction::kGet,
                   .resource = GuardedResource::kSecretPayloads,
                   .name = meta->name}});
  if (!response.ok()) {
    return response.status();
  }
  return std::move(response->secret_body);
}

Status Client::DeleteSecret(const SecretRef& ref) {
  return Send({.operation = fmt::format("deleting secret {}", ref.url()),
               .method = http::Method::kDelete,
               .path = fmt::format("/secrets/{}", ref.id()),
               .success = {204},
               .guarded = On(GuardedResource::kSecrets, GuardedAction::kDelete,
                             ref.id())})
      .status();
}

Result<std::vector<SecretMeta>> Client::ListSecrets(
    const SecretFilter& filter) {
  std::string query;
  if (!filter.name.empty()) {
    query += "&name=" + http::QueryEscape(filter.name);
  }
  if (!filter.secret_type.empty()) {
    query += "&secret_type=" + http::QueryEscape(filter.secret_type);
  }
  if (!filter.sort.empty()) {
    query += "&sort=" + http::QueryEscape(filter.sort);
  }

  std::vector<SecretMeta> secrets;
  for (int offset = 0;; offset += kPageSize) {
    std::string operation = fmt::format("listing secrets (offset {})", offset);
    auto doc =
        SendForJson({.operation = operation,
                     .path = fmt::format("/secrets?limit={}&offset={}{}",
                                         kPageSize, offset, query),
                     .guarded = {.action = GuardedAction::kList,
                                 .resource = GuardedResource::kSecrets}});
    if (!doc.ok()) {
      return doc.status();
    }
    json page = doc->value("secrets", json::array());
    for (const json& secret : page) {
      secrets.push_back(ParseSecretMeta(secret));
      Remember(secrets.back().ref.id(), secrets.back().name);
    }
    // "next" is present while more remain; an empty page ends it anyway.
    if (page.empty() || !doc->contains("next")) {
      return secrets;
    }
  }
}

Result<std::vector<SecretMeta>> Client::FindSecretsNamed(
    const std::string& name) {
  auto secrets = ListSecrets({.name = name});
  if (!secrets.ok()) {
    return secrets.status();
  }
  std::erase_if(*secrets,
                [&](const SecretMeta& meta) { return meta.name != name; });
  return secrets;
}

Result<std::map<std::string, std::string>> Client::GetSecretMetadata(
    const SecretRef& ref) {
  std::string operation =
      fmt::format("reading the metadata of secret {}", ref.url());
  auto doc = SendForJson({.operation = operation,
                          .path = fmt::format("/secrets/{}/metadata", ref.id()),
                          .guarded = On(GuardedResource::kSecrets,
                                        GuardedAction::kGet, ref.id())});
  if (!doc.ok()) {
    return doc.status();
  }
  std::map<std::string, std::string> metadata;
  json pairs = doc->value("metadata", json::object());
  for (const auto& [key, value] : pairs.items()) {
    if (value.is_string()) {
      metadata[key] = value.get<std::string>();
    }
  }
  return metadata;
}

Status Client::PutSecretMetadata(
    const SecretRef& ref,
    const std::map<std::string, std::string>& metadata) {
  return Send({.operation =
                   fmt::format("writing the metadata of secret {}", ref.url()),
               .method = http::Method::kPut,
               .path = fmt::format("/secrets/{}/metadata", ref.id()),
               .body = {{"metadata", metadata}},
               .success = {200, 201},
               .guarded = On(GuardedResource::kSecrets, GuardedAction::kUpdate,
                             ref.id())})
      .status();
}

Result<OrderRef> Client::CreateKeyOrder(const KeyOrderSpec& spec) {
  std::string operation = fmt::format("creating order {}", spec.name);
  json meta = {{"name", spec.name},
               {"algorithm", spec.algorithm},
               {"bit_length", spec.bit_length},
               {"payload_content_type", spec.payload_content_type}};
  if (!spec.mode.empty()) {
    meta["mode"] = spec.mode;
  }
  auto doc = SendForJson({.operation = operation,
                          .method = http::Method::kPost,
                          .path = "/orders",
                          .body = {{"type", "key"}, {"meta", meta}},
                          .success = {202},
                          .guarded = {.action = GuardedAction::kCreate,
                                      .resource = GuardedResource::kSecrets,
                                      .name = spec.name}});
  if (!doc.ok()) {
    return doc.status();
  }
  OrderRef ref(JsonString(*doc, "order_ref"));
  Remember(ref.id(), spec.name);
  return ref;
}

Result<Order> Client::GetOrder(const OrderRef& ref) {
  std::string operation = fmt::format("reading order {}", ref.url());
  // Reading an order is reading the secret collection's progress, as
  // Barbican's own policy (order:get) and the oslo rendering see it.
  auto doc = SendForJson({.operation = operation,
                          .path = fmt::format("/orders/{}", ref.id()),
                          .guarded = {.action = GuardedAction::kList,
                                      .resource = GuardedResource::kSecrets}});
  if (!doc.ok()) {
    return doc.status();
  }
  Order order = ParseOrder(*doc);
  if (order.ref.empty()) {
    order.ref = ref;
  }
  Remember(order.ref.id(), order.name);
  Remember(order.secret_ref.id(), order.name);
  return order;
}

Result<Order> Client::WaitForOrder(const OrderRef& ref,
                                   std::chrono::milliseconds deadline) {
  TimePoint give_up = clock_.Now() + deadline;
  std::chrono::milliseconds pause{100};
  for (;;) {
    auto order = GetOrder(ref);
    if (!order.ok()) {
      return order.status();
    }
    if (order->status == "ACTIVE") {
      return order;
    }
    if (order->status == "ERROR") {
      return Status(StatusCode::kServerError,
                    fmt::format("order {} failed: {} {}", ref.url(),
                                order->error_status_code, order->error_reason));
    }
    if (clock_.Now() + pause > give_up) {
      return Status(StatusCode::kDeadlineExceeded,
                    fmt::format("order {} still {} after {} ms", ref.url(),
                                order->status, deadline.count()));
    }
    clock_.SleepFor(pause);
    pause = std::min(pause * 2, std::chrono::milliseconds(2000));
  }
}

Status Client::DeleteOrder(const OrderRef& ref) {
  return Send({.operation = fmt::format("deleting order {}", ref.url()),
               .method = http::Method::kDelete,
               .path = fmt::format("/orders/{}", ref.id()),
               .success = {204},
               .guarded = On(GuardedResource::kSecrets, GuardedAction::kDelete,
                             ref.id())})
      .status();
}

Result<std::vector<Order>> Client::ListOrders() {
  std::vector<Order> orders;
  for (int offset = 0;; offset += kPageSize) {
    std::string operation = fmt::format("listing orders (offset {})", offset);
    auto doc = SendForJson(
        {.operation = operation,
         .path = fmt::format("/orders?limit={}&offset={}", kPageSize, offset),
         .guarded = {.action = GuardedAction::kList,
                     .resource = GuardedResource::kSecrets}});
    if (!doc.ok()) {
      return doc.status();
    }
    json page = doc->value("orders", json::array());
    for (const json& order : page) {
      orders.push_back(ParseOrder(order));
    }
    if (page.empty() || !doc->contains("next")) {
      return orders;
    }
  }
}

Result<ContainerRef> Client::CreateContainer(
    const std::string& name,
    const std::vector<ContainerEntry>& secrets) {
  std::string operation = fmt::format("creating container {}", name);
  json refs = json::array();
  for (const ContainerEntry& entry : secrets) {
    refs.push_back({{"name", entry.name}, {"secret_ref", entry.ref.url()}});
  }
  auto doc = SendForJson(
      {.operation = operation,
       .method = http::Method::kPost,
       .path = "/containers",
       .body = {{"type", "generic"}, {"name", name}, {"secret_refs", refs}},
       .success = {201},
       .guarded = {.action = GuardedAction::kCreate,
                   .resource = GuardedResource::kContainers,
                   .name = name}});
  if (!doc.ok()) {
    return doc.status();
  }
  ContainerRef ref(JsonString(*doc, "container_ref"));
  Remember(ref.id(), name);
  return ref;
}

Result<Container> Client::GetContainer(const ContainerRef& ref) {
  std::string operation = fmt::format("reading container {}", ref.url());
  GuardedCall guarded = On(GuardedResource::kContainers, GuardedAction::kGet,
                           ref.id(), NameCheck::kAfterAnswer);
  auto doc = SendForJson({.operation = operation,
                          .path = fmt::format("/containers/{}", ref.id()),
                          .guarded = guarded});
  if (!doc.ok()) {
    return doc.status();
  }
  Container container = ParseContainer(*doc);
  if (container.ref.empty()) {
    container.ref = ref;
  }
  SIQ_RETURN_IF_ERROR(CheckAnswer(guarded, operation, container.name));
  Remember(ref.id(), container.name);
  return container;
}

Result<std::vector<Container>> Client::ListContainers(const std::string& name) {
  std::string query = name.empty() ? "" : "&name=" + http::QueryEscape(name);
  std::vector<Container> containers;
  for (int offset = 0;; offset += kPageSize) {
    std::string operation =
        fmt::format("listing containers (offset {})", offset);
    auto doc =
        SendForJson({.operation = operation,
                     .path = fmt::format("/containers?limit={}&offset={}{}",
                                         kPageSize, offset, query),
                     .guarded = {.action = GuardedAction::kList,
                                 .resource = GuardedResource::kContainers}});
    if (!doc.ok()) {
      return doc.status();
    }
    json page = doc->value("containers", json::array());
    for (const json& container : page) {
      Container parsed = ParseContainer(container);
      Remember(parsed.ref.id(), parsed.name);
      if (name.empty() || parsed.name == name) {
        containers.push_back(std::move(parsed));
      }
    }
    if (page.empty() || !doc->contains("next")) {
      return containers;
    }
  }
}

Status Client::DeleteContainer(const ContainerRef& ref) {
  return Send({.operation = fmt::format("deleting container {}", ref.url()),
               .method = http::Method::kDelete,
               .path = fmt::format("/containers/{}", ref.id()),
               .success = {204},
               .guarded = On(GuardedResource::kContainers,
                             GuardedAction::kDelete, ref.id())})
      .status();
}

Status Client::AddContainerSecret(const ContainerRef& ref,
                                  const ContainerEntry& entry) {
  return Send({.operation = fmt::format("adding {} to container {}", entry.name,
                                        ref.url()),
               .method = http::Method::kPost,
               .path = fmt::format("/containers/{}/secrets", ref.id()),
               .body = {{"name", entry.name}, {"secret_ref", entry.ref.url()}},
               .success = {201},
               .guarded = On(GuardedResource::kContainers,
                             GuardedAction::kUpdate, ref.id())})
      .status();
}

Status Client::RemoveContainerSecret(const ContainerRef& ref,
                                     const ContainerEntry& entry) {
  return Send({.operation = fmt::format("removing {} from container {}",
                                        entry.name, ref.url()),
               .method = http::Method::kDelete,
               .path = fmt::format("/containers/{}/secrets", ref.id()),
               .body = {{"name", entry.name}, {"secret_ref", entry.ref.url()}},
               .success = {204},
               .guarded = On(GuardedResource::kContainers,
                             GuardedAction::kUpdate, ref.id())})
      .status();
}

Result<Acl> Client::GetSecretAcl(const SecretRef& ref) {
  std::string operation =
      fmt::format("reading the ACL of secret {}", ref.url());
  auto doc = SendForJson({.operation = operation,
                          .path = fmt::format("/secrets/{}/acl", ref.id()),
                          .guarded = On(GuardedResource::kSecrets,
                                        GuardedAction::kGet, ref.id())});
  if (!doc.ok()) {
    return doc.status();
  }
  return ParseAcl(*doc);
}

Status Client::SetSecretAcl(const SecretRef& ref, const Acl& acl) {
  return Send({.operation =
                   fmt::format("setting the ACL of secret {}", ref.url()),
               .method = http::Method::kPut,
               .path = fmt::format("/secrets/{}/acl", ref.id()),
               .body = AclBody(acl),
               .success = {200, 201},
               .guarded = On(GuardedResource::kSecrets, GuardedAction::kUpdate,
                             ref.id())})
      .status();
}

Result<Acl> Client::GetContainerAcl(const ContainerRef& ref) {
  std::string operation =
      fmt::format("reading the ACL of container {}", ref.url());
  auto doc = SendForJson({.operation = operation,
                          .path = fmt::format("/containers/{}/acl", ref.id()),
                          .guarded = On(GuardedResource::kContainers,
                                        GuardedAction::kGet, ref.id())});
  if (!doc.ok()) {
    return doc.status();
  }
  return ParseAcl(*doc);
}

Status Client::SetContainerAcl(const ContainerRef& ref, const Acl& acl) {
  return Send({.operation =
                   fmt::format("setting the ACL of container {}", ref.url()),
               .method = http::Method::kPut,
               .path = fmt::format("/containers/{}/acl", ref.id()),
               .body = AclBody(acl),
               .success = {200, 201},
               .guarded = On(GuardedResource::kContainers,
                             GuardedAction::kUpdate, ref.id())})
      .status();
}

Status Client::AddSecretConsumer(const SecretRef& ref,
                                 const Consumer& consumer) {
  return Send({.operation = fmt::format("registering a consumer of secret {}",
                                        ref.url()),
               .method = http::Method::kPost,
               .path = fmt::format("/secrets/{}/consumers", ref.id()),
               .body = ConsumerBody(consumer),
               .success = {200, 201},
               .consumers_api = true,
               .guarded = On(GuardedResource::kSecrets, GuardedAction::kGet,
                             ref.id())})
      .status();
}

Status Client::RemoveSecretConsumer(const SecretRef& ref,
                                    const Consumer& consumer) {
  return Send({.operation =
                   fmt::format("removing a consumer of secret {}", ref.url()),
               .method = http::Method::kDelete,
               .path = fmt::format("/secrets/{}/consumers", ref.id()),
               .body = ConsumerBody(consumer),
               .success = {200, 204},
               .consumers_api = true,
               .guarded = On(GuardedResource::kSecrets, GuardedAction::kGet,
                             ref.id())})
      .status();
}

Result<std::vector<Consumer>> Client::ListSecretConsumers(
    const SecretRef& ref) {
  std::vector<Consumer> consumers;
  for (int offset = 0;; offset += kPageSize) {
    std::string operation =
        fmt::format("listing the consumers of secret {}", ref.url());
    auto doc = SendForJson(
        {.operation = operation,
         .path = fmt::format("/secrets/{}/consumers?limit={}&offset={}",
                             ref.id(), kPageSize, offset),
         .consumers_api = true,
         .guarded =
             On(GuardedResource::kSecrets, GuardedAction::kGet, ref.id())});
    if (!doc.ok()) {
      return doc.status();
    }
    json page = doc->value("consumers", json::array());
    for (const json& consumer : page) {
      consumers.push_back({JsonString(consumer, "service"),
                           JsonString(consumer, "resource_type"),
                           JsonString(consumer, "resource_id")});
    }
    if (page.empty() || !doc->contains("next")) {
      return consumers;
    }
  }
}

}  // namespace siq::barbican
