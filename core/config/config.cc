#include "core/config/config.h"

#include <filesystem>
#include <set>
#include <utility>

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include "core/base/iso_time.h"

namespace siq::config {
namespace {

using std::chrono::days;

// A kind name becomes part of secret names and environment variables.
bool IsKindName(const std::string& text) {
  if (text.empty() || text.size() > 64 || (text[0] >= '0' && text[0] <= '9')) {
    return false;
  }
  for (char c : text) {
    if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_')) {
      return false;
    }
  }
  return true;
}

class Reader {
 public:
  explicit Reader(std::string path) : path_(std::move(path)) {}

  Status Error(const YAML::Node& node, const std::string& what) const {
    return Status(StatusCode::kInvalidArgument,
                  fmt::format("{}:{}: {}", path_, node.Mark().line + 1, what));
  }

  Status CheckKeys(const YAML::Node& map,
                   const std::set<std::string>& allowed) const {
    if (!map.IsMap()) {
      return Error(map, "expected a mapping");
    }
    for (const auto& entry : map) {
      std::string key = entry.first.as<std::string>();
      if (allowed.count(key) == 0) {
        return Error(entry.first, fmt::format("unknown key '{}' (known: {})",
                                              key, fmt::join(allowed, ", ")));
      }
    }
    return OkStatus();
  }

  Result<std::string> String(const YAML::Node& node,
                             const std::string& field) const {
    if (!node.IsScalar()) {
      return Error(node, fmt::format("{} must be a string", field));
    }
    return node.as<std::string>();
  }

  Result<std::chrono::seconds> Duration(const YAML::Node& node,
                                        const std::string& field) const {
    auto text = String(node, field);
    if (!text.ok()) {
      return text.status();
    }
    auto duration = ParseDuration(*text);
    if (!duration.ok()) {
      return Error(node,
                   fmt::format("{}: {}", field, duration.status().message()));
    }
    return *duration;
  }

  Result<SecretKind> Kind(const YAML::Node& node) const {
    SIQ_RETURN_IF_ERROR(CheckKeys(node, {"kind", "bit_length", "rotate_every",
                                         "notify_before", "notify"}));
    SecretKind kind;
    if (!node["kind"] || !node["rotate_every"]) {
      return Error(node, "a secret kind needs 'kind' and 'rotate_every'");
    }
    auto name = String(node["kind"], "kind");
    if (!name.ok()) {
      return name.status();
    }
    if (!IsKindName(*name)) {
      return Error(node["kind"],
                   fmt::format("kind '{}' must be upper-case letters, digits "
                               "and '_', starting with a letter",
                               *name));
    }
    kind.kind = *name;
    auto every = Duration(node["rotate_every"], "rotate_every");
    if (!every.ok()) {
      return every.status();
    }
    kind.rotate_every = *every;
    if (node["notify_before"]) {
      auto before = Duration(node["notify_before"], "notify_before");
      if (!before.ok()) {
        return before.status();
      }
      if (*before >= kind.rotate_every) {
        return Error(node["notify_before"],
                     "notify_before must be shorter than rotate_every");
      }
      kind.notify_before = *before;
    }
    if (node["bit_length"]) {
      int bits = 0;
      // Barbican's key orders make AES keys of these sizes.
      if (!node["bit_length"].IsScalar() ||
          !YAML::convert<int>::decode(node["bit_length"], bits) ||
          (bits != 128 && bits != 192 && bits != 256)) {
        return Error(node["bit_length"],
                     "bit_length must be 128, 192 or 256 (AES key sizes)");
      }
      kind.bit_length = bits;
    }
    if (node["notify"]) {
      if (!node["notify"].IsSequence()) {
        return Error(node["notify"], "notify must be a list of names");
      }
      for (const auto& group : node["notify"]) {
        auto value = String(group, "notify");
        if (!value.ok()) {
          return value.status();
        }
        kind.notify.push_back(*value);
      }
    }
    return kind;
  }

  Status Kinds(const YAML::Node& node, std::vector<SecretKind>& kinds) const {
    if (!node.IsSequence() || node.size() == 0) {
      return Error(node, "secret_kinds must be a non-empty list");
    }
    std::set<std::string> seen;
    kinds.clear();
    for (const auto& entry : node) {
      auto kind = Kind(entry);
      if (!kind.ok()) {
        return kind.status();
      }
      if (!seen.insert(kind->kind).second) {
        return Error(entry,
                     fmt::format("kind '{}' is listed twice", kind->kind));
      }
      kinds.push_back(std::move(*kind));
    }
    return OkStatus();
  }

  Status Readers(const YAML::Node& node, ReaderSettings& readers) const {
    SIQ_RETURN_IF_ERROR(CheckKeys(node, {"domain", "project", "role"}));
    for (auto [field, target] : {std::pair{"domain", &readers.domain},
                                 std::pair{"project", &readers.project},
                                 std::pair{"role", &readers.role}}) {
      if (node[field]) {
        auto value = String(node[field], field);
        if (!value.ok()) {
          return value.status();
        }
        *target = *value;
      }
    }
    return OkStatus();
  }

  Status Backup(const YAML::Node& node, BackupSettings& backup) const {
    SIQ_RETURN_IF_ERROR(CheckKeys(node, {"directory", "recipients", "keep"}));
    if (node["directory"]) {
      auto value = String(node["directory"], "directory");
      if (!value.ok()) {
        return value.status();
      }
      backup.directory = *value;
    }
    if (node["recipients"]) {
      if (!node["recipients"].IsSequence()) {
        return Error(node["recipients"],
                     "recipients must be a list of certificate files");
      }
      for (const auto& entry : node["recipients"]) {
        auto value = String(entry, "recipients");
        if (!value.ok()) {
          return value.status();
        }
        backup.recipients.push_back(*value);
      }
    }
    if (node["keep"]) {
      int keep = 0;
      if (!node["keep"].IsScalar() ||
          !YAML::convert<int>::decode(node["keep"], keep) || keep < 0) {
        return Error(node["keep"], "keep must be a whole number, 0 or more");
      }
      backup.keep = keep;
    }
    return OkStatus();
  }

 private:
  std::string path_;
};

}  // namespace

std::vector<SecretKind> DefaultSecretKinds() {
  auto kind = [](const char* name, int rotate_days, int notify_days,
                 std::vector<std::string> notify) {
    SecretKind made;
    made.kind = name;
    made.rotate_every = days(rotate_days);
    made.notify_before = days(notify_days);
    made.notify = std::move(notify);
    return made;
  };
  return {
      kind("JWT_SECRET", 90, 7, {"admins"}),
      kind("JWT_REFRESH_SECRET", 90, 7, {"admins"}),
      kind("ENCRYPTION_KEY", 180, 14, {"admins"}),
      kind("SESSION_SECRET", 90, 0, {}),
      kind("DB_PASSWORD", 180, 14, {"admins"}),
      kind("API_KEY_PRIMARY", 30, 7, {"api-consumers"}),
      kind("API_KEY_SECONDARY", 30, 7, {"api-consumers"}),
  };
}

Result<Config> LoadConfig(const std::string& path) {
  Config config;
  config.secret_kinds = DefaultSecretKinds();
  if (path.empty()) {
    return config;
  }
  config.path = path;
  std::error_code error;
  if (!std::filesystem::exists(path, error)) {
    return Status(StatusCode::kInvalidArgument,
                  fmt::format("{}: no such config file", path));
  }
  if (!std::filesystem::is_regular_file(path, error)) {
    return Status(StatusCode::kInvalidArgument,
                  fmt::format("{}: not a regular file", path));
  }

  YAML::Node root;
  try {
    root = YAML::LoadFile(path);
  } catch (const YAML::Exception& e) {
    return Status(StatusCode::kInvalidArgument,
                  fmt::format("{}:{}: {}", path, e.mark.line + 1, e.msg));
  }
  if (root.IsNull()) {
    return config;
  }
  Reader reader(path);
  try {
    SIQ_RETURN_IF_ERROR(reader.CheckKeys(
        root, {"records", "secret_kinds", "readers", "policies", "backup"}));
    if (root["records"]) {
      auto records = reader.String(root["records"], "records");
      if (!records.ok()) {
        return records.status();
      }
      config.records = *records;
    }
    if (root["policies"]) {
      auto policies = reader.String(root["policies"], "policies");
      if (!policies.ok()) {
        return policies.status();
      }
      config.policies = *policies;
    }
    if (root["secret_kinds"]) {
      SIQ_RETURN_IF_ERROR(
          reader.Kinds(root["secret_kinds"], config.secret_kinds));
    }
    if (root["readers"]) {
      SIQ_RETURN_IF_ERROR(reader.Readers(root["readers"], config.readers));
    }
    if (root["backup"]) {
      SIQ_RETURN_IF_ERROR(reader.Backup(root["backup"], config.backup));
    }
  } catch (const YAML::Exception& e) {
    return Status(StatusCode::kInvalidArgument,
                  fmt::format("{}:{}: {}", path, e.mark.line + 1, e.msg));
  }
  return config;
}

std::string SecretName(std::string_view vps, std::string_view kind) {
  return fmt::format("{}_{}", vps, kind);
}

}  // namespace siq::config
