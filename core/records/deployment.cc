#include "core/records/deployment.h"

#include <climits>
#include <cstdint>
#include <functional>
#include <set>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/base/iso_time.h"

namespace siq::records {
namespace {

using nlohmann::json;

constexpr size_t kMaxQuoted = 64;

// `text` quoted for an error message: at most `max_bytes` of it, with
// anything but printable ASCII escaped so that the message stays one line of
// valid UTF-8 (nlohmann refuses to dump anything else).
std::string Quote(std::string_view text, size_t max_bytes) {
  std::string out = "'";
  for (char c : text.substr(0, max_bytes)) {
    auto byte = static_cast<unsigned char>(c);
    if (byte >= 0x20 && byte < 0x7f) {
      out += c;
    } else {
      out += fmt::format("\\x{:02X}", byte);
    }
  }
  out += text.size() > max_bytes ? "'..." : "'";
  return out;
}

bool IsVpsIdChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         (c >= '0' && c <= '9') || c == '-';
}

std::string Join(std::string_view path, std::string_view key) {
  if (path.empty()) {
    return std::string(key);
  }
  return fmt::format("{}.{}", path, key);
}

Status FieldError(std::string_view path, std::string_view what) {
  return Status(StatusCode::kInvalidArgument,
                fmt::format("{}: {}", path, what));
}

// Reads the fields of one JSON object by name and remembers which it read,
// so that a field the record does not have is found afterwards.
class ObjectReader {
 public:
  ObjectReader(const json& doc, std::string path)
      : doc_(doc), path_(std::move(path)) {}

  // REQUIRES: ok before any other method is called.
  Status CheckIsObject() const {
    if (!doc_.is_object()) {
      return FieldError(path_, "not an object");
    }
    return OkStatus();
  }

  std::string PathOf(std::string_view key) const { return Join(path_, key); }

  // The value at `key`, or nullptr when there is none.
  const json* Find(std::string_view key) {
    known_.emplace(key);
    auto it = doc_.find(std::string(key));
    return it == doc_.end() ? nullptr : &*it;
  }

  Status Required(std::string_view key, const json*& value) {
    value = Find(key);
    if (value == nullptr) {
      return FieldError(PathOf(key), "missing");
    }
    return OkStatus();
  }

  Status String(std::string_view key, std::string& out) {
    const json* value = nullptr;
    SIQ_RETURN_IF_ERROR(Required(key, value));
    if (!value->is_string()) {
      return FieldError(PathOf(key), "not a string");
    }
    out = value->get<std::string>();
    return OkStatus();
  }

  Status Time(std::string_view key, TimePoint& out) {
    const json* value = nullptr;
    SIQ_RETURN_IF_ERROR(Required(key, value));
    return ParseTime(key, *value, out);
  }

  Status OptionalTime(std::string_view key, std::optional<TimePoint>& out) {
    const json* value = Find(key);
    if (value == nullptr || value->is_null()) {
      out.reset();
      return OkStatus();
    }
    TimePoint time;
    SIQ_RETURN_IF_ERROR(ParseTime(key, *value, time));
    out = time;
    return OkStatus();
  }

  Status Count(std::string_view key, int& out) {
    const json* value = nullptr;
    SIQ_RETURN_IF_ERROR(Required(key, value));
    bool in_range = value->is_number_unsigned()
                        ? value->get<uint64_t>() <= INT_MAX
                        : value->is_number_integer() &&
                              value->get<int64_t>() >= 0 &&
                              value->get<int64_t>() <= INT_MAX;
    if (!in_range) {
      return FieldError(PathOf(key), "not a whole number from 0 to 2^31-1");
    }
    out = value->get<int>();
    return OkStatus();
  }

  // Fails naming the first field that none of the methods above read.
  Status CheckNoOtherFields() const {
    for (const auto& item : doc_.items()) {
      if (known_.count(item.key()) == 0) {
        return FieldError(PathOf(item.key()), "unknown field");
      }
    }
    return OkStatus();
  }

 private:
  Status ParseTime(std::string_view key, const json& value, TimePoint& out) {
    if (!value.is_string()) {
      return FieldError(PathOf(key), "not an ISO 8601 time");
    }
    const auto& text = value.get_ref<const std::string&>();
    Result<TimePoint> time = ParseIso8601(text);
    if (!time.ok()) {
      return FieldError(PathOf(key), fmt::format("not an ISO 8601 time: {}",
                                                 Quote(text, kMaxQuoted)));
    }
    out = *time;
    return OkStatus();
  }

  const json& doc_;
  std::string path_;
  std::set<std::string, std::less<>> known_;
};

Result<SecretVersion> VersionFromJson(const json& doc, std::string path) {
  ObjectReader reader(doc, std::move(path));
  SIQ_RETURN_IF_ERROR(reader.CheckIsObject());

  SecretVersion version;
  SIQ_RETURN_IF_ERROR(reader.String("ref", version.ref));
  SIQ_RETURN_IF_ERROR(reader.String("order_ref", version.order_ref));
  SIQ_RETURN_IF_ERROR(reader.Time("created_at", version.created_at));
  SIQ_RETURN_IF_ERROR(reader.CheckNoOtherFields());
  return version;
}

Status ReadOptionalVersion(ObjectReader& reader,
                           std::string_view key,
                           std::optional<SecretVersion>& out) {
  const json* value = reader.Find(key);
  if (value == nullptr || value->is_null()) {
    out.reset();
    return OkStatus();
  }
  Result<SecretVersion> version = VersionFromJson(*value, reader.PathOf(key));
  if (!version.ok()) {
    return version.status();
  }
  out = std::move(version).value();
  return OkStatus();
}

Result<SecretSlot> SlotFromJson(const json& doc, std::string path) {
  ObjectReader reader(doc, std::move(path));
  SIQ_RETURN_IF_ERROR(reader.CheckIsObject());

  SecretSlot slot;
  SIQ_RETURN_IF_ERROR(reader.String("kind", slot.kind));
  SIQ_RETURN_IF_ERROR(reader.String("name", slot.name));
  SIQ_RETURN_IF_ERROR(ReadOptionalVersion(reader, "current", slot.current));
  SIQ_RETURN_IF_ERROR(ReadOptionalVersion(reader, "pending", slot.pending));
  SIQ_RETURN_IF_ERROR(ReadOptionalVersion(reader, "previous", slot.previous));
  SIQ_RETURN_IF_ERROR(reader.Time("due_at", slot.due_at));
  SIQ_RETURN_IF_ERROR(reader.String("rotation_state", slot.rotation_state));
  SIQ_RETURN_IF_ERROR(
      reader.OptionalTime("rotation_started_at", slot.rotation_started_at));
  SIQ_RETURN_IF_ERROR(
      reader.OptionalTime("rotation_state_since", slot.rotation_state_since));
  SIQ_RETURN_IF_ERROR(
      reader.Count("rotation_failures", slot.rotation_failures));
  SIQ_RETURN_IF_ERROR(reader.String("last_error", slot.last_error));
  SIQ_RETURN_IF_ERROR(
      reader.OptionalTime("notice_sent_for_due", slot.notice_sent_for_due));
  SIQ_RETURN_IF_ERROR(reader.CheckNoOtherFields());
  return slot;
}

Status ReadSecrets(ObjectReader& reader,
                   std::map<std::string, SecretSlot>& secrets) {
  const json* doc = nullptr;
  SIQ_RETURN_IF_ERROR(reader.Required("secrets", doc));
  std::string path = reader.PathOf("secrets");
  if (!doc->is_object()) {
    return FieldError(path, "not an object");
  }

  for (const auto& item : doc->items()) {
    std::string slot_path = Join(path, item.key());
    Result<SecretSlot> slot = SlotFromJson(item.value(), slot_path);
    if (!slot.ok()) {
      return slot.status();
    }
    if (slot->kind != item.key()) {
      return FieldError(Join(slot_path, "kind"),
                        fmt::format("{} differs from its key",
                                    Quote(slot->kind, kMaxQuoted)));
    }
    secrets.emplace(item.key(), std::move(slot).value());
  }
  return OkStatus();
}

Result<VpsId> ReadVpsId(ObjectReader& reader) {
  std::string text;
  SIQ_RETURN_IF_ERROR(reader.String("vps", text));
  Result<VpsId> vps = VpsId::Parse(text);
  if (!vps.ok()) {
    return FieldError(reader.PathOf("vps"), vps.status().message());
  }
  return vps;
}

Status ReadState(ObjectReader& reader, std::string& state) {
  SIQ_RETURN_IF_ERROR(reader.String("state", state));
  if (state != kStateProvisioning && state != kStateComplete) {
    return FieldError(reader.PathOf("state"),
                      fmt::format("{} is not a deployment state ({} or {})",
                                  Quote(state, kMaxQuoted), kStateProvisioning,
                                  kStateComplete));
  }
  return OkStatus();
}

json TimeToJson(const std::optional<TimePoint>& time) {
  if (!time) {
    return nullptr;
  }
  return FormatIso8601(*time);
}

json VersionToJson(const std::optional<SecretVersion>& version) {
  if (!version) {
    return nullptr;
  }
  json doc = json::object();
  doc["ref"] = version->ref;
  doc["order_ref"] = version->order_ref;
  doc["created_at"] = FormatIso8601(version->created_at);
  return doc;
}

json SlotToJson(const SecretSlot& slot) {
  json doc = json::object();
  doc["kind"] = slot.kind;
  doc["name"] = slot.name;
  doc["current"] = VersionToJson(slot.current);
  doc["pending"] = VersionToJson(slot.pending);
  doc["previous"] = VersionToJson(slot.previous);
  doc["due_at"] = FormatIso8601(slot.due_at);
  doc["rotation_state"] = slot.rotation_state;
  doc["rotation_started_at"] = TimeToJson(slot.rotation_started_at);
  doc["rotation_state_since"] = TimeToJson(slot.rotation_state_since);
  doc["rotation_failures"] = slot.rotation_failures;
  doc["last_error"] = slot.last_error;
  doc["notice_sent_for_due"] = TimeToJson(slot.notice_sent_for_due);
  return doc;
}

}  // namespace

Result<VpsId> VpsId::Parse(std::string_view text) {
  constexpr std::string_view kRule =
      "a VPS id is 1 to 64 ASCII letters, digits and '-'";

  if (text.empty()) {
    return Status(StatusCode::kInvalidArgument,
                  fmt::format("VPS id is empty: {}", kRule));
  }
  if (text.size() > kMaxLength) {
    return Status(StatusCode::kInvalidArgument,
                  fmt::format("VPS id {} is too long ({} bytes): {}",
                              Quote(text, kMaxLength), text.size(), kRule));
  }
  for (size_t i = 0; i < text.size(); ++i) {
    if (!IsVpsIdChar(text[i])) {
      return Status(StatusCode::kInvalidArgument,
                    fmt::format("VPS id {} has {} at position {}: {}",
                                Quote(text, kMaxLength),
                                Quote(text.substr(i, 1), 1), i + 1, kRule));
    }
  }
  return VpsId(std::string(text));
}

json ToJson(const Deployment& deployment) {
  json secrets = json::object();
  for (const auto& [kind, slot] : deployment.secrets) {
    secrets[kind] = SlotToJson(slot);
  }

  json doc = json::object();
  doc["vps"] = deployment.vps.str();
  doc["organization"] = deployment.organization;
  doc["environment"] = deployment.environment;
  doc["region"] = deployment.region;
  doc["state"] = deployment.state;
  doc["container_name"] = deployment.container_name;
  doc["container_ref"] = deployment.container_ref;
  doc["reader_user_id"] = deployment.reader_user_id;
  doc["reader_user_name"] = deployment.reader_user_name;
  doc["reader_credential_id"] = deployment.reader_credential_id;
  doc["provisioned_at"] = FormatIso8601(deployment.provisioned_at);
  doc["updated_at"] = FormatIso8601(deployment.updated_at);
  doc["recovered_at"] = TimeToJson(deployment.recovered_at);
  doc["secrets"] = std::move(secrets);
  return doc;
}

Result<Deployment> DeploymentFromJson(const json& doc, std::string_view path) {
  ObjectReader reader(doc, std::string(path));
  SIQ_RETURN_IF_ERROR(reader.CheckIsObject());
  Result<VpsId> vps = ReadVpsId(reader);
  if (!vps.ok()) {
    return vps.status();
  }

  Deployment deployment{.vps = std::move(vps).value()};
  SIQ_RETURN_IF_ERROR(reader.String("organization", deployment.organization));
  SIQ_RETURN_IF_ERROR(reader.String("environment", deployment.environment));
  SIQ_RETURN_IF_ERROR(reader.String("region", deployment.region));
  SIQ_RETURN_IF_ERROR(ReadState(reader, deployment.state));
  SIQ_RETURN_IF_ERROR(
      reader.String("container_name", deployment.container_name));
  SIQ_RETURN_IF_ERROR(reader.String("container_ref", deployment.container_ref));
  SIQ_RETURN_IF_ERROR(
      reader.String("reader_user_id", deployment.reader_user_id));
  SIQ_RETURN_IF_ERROR(
      reader.String("reader_user_name", deployment.reader_user_name));
  SIQ_RETURN_IF_ERROR(
      reader.String("reader_credential_id", deployment.reader_credential_id));
  SIQ_RETURN_IF_ERROR(reader.Time("provisioned_at", deployment.provisioned_at));
  SIQ_RETURN_IF_ERROR(reader.Time("updated_at", deployment.updated_at));
  SIQ_RETURN_IF_ERROR(
      reader.OptionalTime("recovered_at", deployment.recovered_at));
  SIQ_RETURN_IF_ERROR(ReadSecrets(reader, deployment.secrets));
  SIQ_RETURN_IF_ERROR(reader.CheckNoOtherFields());
  return deployment;
}

}  // namespace siq::records
