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
    std::set<std::string> seen;
    for (const auto& entry : map) {
      std::string key = entry.first.as<std::string>();
      if (allowed.count(key) == 0) {
        return Error(entry.first, fmt::format("unknown key '{}' (known: {})",
                                              key, fmt::join(allowed, ", ")));
      }
      // yaml-cpp keeps both entries of a repeated key and reads the first:
      // a second `records:` would be silently ignored.
      if (!seen.insert(key).second) {
        return Error(entry.first, fmt::format("key '{}' is repeated", key));
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

  Status StringList(const YAML::Node& node,
                    const std::string& field,
                    std::vector<std::string>& values) const {
    if (!node.IsSequence()) {
      return Error(node, fmt::format("{} must be a list", field));
    }
    values.clear();
    for (const auto& item : node) {
      auto value = String(item, field);
      if (!value.ok()) {
        return value.status();
      }
      values.push_back(*value);
    }
    return OkStatus();
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
      SIQ_RETURN_IF_ERROR(StringList(node["notify"], "notify", kind.notify));
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

  Result<NotificationChannel> Channel(const YAML::Node& node) const {
    SIQ_RETURN_IF_ERROR(
        CheckKeys(node, {"name", "smtp", "webhook", "from", "to", "username",
                         "password_file", "audiences"}));
    if (!node["name"] || !node["audiences"] ||
        (node["smtp"].IsDefined() == node["webhook"].IsDefined())) {
      return Error(node,
                   "a notification channel needs 'name', 'audiences' and "
                   "exactly one of 'smtp' and 'webhook'");
    }
    NotificationChannel channel;
    bool smtp = node["smtp"].IsDefined();
    channel.type = smtp ? NotificationChannel::Type::kSmtp
                        : NotificationChannel::Type::kWebhook;
    for (auto [field, target] :
         {std::pair{"name", &channel.name},
          std::pair{smtp ? "smtp" : "webhook", &channel.url},
          std::pair{"from", &channel.from},
          std::pair{"username", &channel.username},
          std::pair{"password_file", &channel.password_file}}) {
      if (node[field]) {
        auto value = String(node[field], field);
        if (!value.ok()) {
          return value.status();
        }
        *target = *value;
      }
    }
    SIQ_RETURN_IF_ERROR(
        StringList(node["audiences"], "audiences", channel.audiences));
    if (node["to"]) {
      SIQ_RETURN_IF_ERROR(StringList(node["to"], "to", channel.to));
    }
    return CheckChannel(node, channel);
  }

  Result<NotificationChannel> CheckChannel(const YAML::Node& node,
                                           NotificationChannel channel) const {
    const std::string& url = channel.url;
    auto scheme_is = [&url](std::string_view scheme) {
      return url.rfind(scheme, 0) == 0;
    };
    if (channel.type == NotificationChannel::Type::kSmtp) {
      if (!scheme_is("smtp://") && !scheme_is("smtps://")) {
        return Error(node["smtp"], "smtp must be an smtp:// or smtps:// URL");
      }
      if (channel.from.empty() || channel.to.empty()) {
        return Error(node, "an smtp channel needs 'from' and 'to'");
      }
      return channel;
    }
    if (!scheme_is("http://") && !scheme_is("https://")) {
      return Error(node["webhook"],
                   "webhook must be an http:// or https:// URL");
    }
    if (node["from"] || node["to"] || node["username"] ||
        node["password_file"]) {
      return Error(node,
                   "from, to, username and password_file are for smtp "
                   "channels");
    }
    return channel;
  }

  Status Notifications(const YAML::Node& node,
                       std::vector<NotificationChannel>& channels) const {
    if (!node.IsSequence()) {
      return Error(node, "notifications must be a list of channels");
    }
    std::set<std::string> seen;
    for (const auto& entry : node) {
      auto channel = Channel(entry);
      if (!channel.ok()) {
        return channel.status();
      }
      if (!seen.insert(channel->name).second) {
        return Error(
            entry, fmt::format("channel '{}' is listed twice", channel->name));
      }
      channels.push_back(std::move(*channel));
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

  Status Audit(const YAML::Node& node, AuditSettings& audit) const {
    SIQ_RETURN_IF_ERROR(
        CheckKeys(node, {"service_accounts", "endpoints", "backup_dirs"}));
    for (auto [field, target] :
         {std::pair{"service_accounts", &audit.service_accounts},
          std::pair{"backup_dirs", &audit.backup_dirs}}) {
      if (node[field]) {
        SIQ_RETURN_IF_ERROR(StringList(node[field], field, *target));
      }
    }
    if (node["endpoints"]) {
      if (!node["endpoints"].IsMap()) {
        return Error(node["endpoints"], "endpoints must map VPS ids to URLs");
      }
      for (const auto& entry : node["endpoints"]) {
        auto url = String(entry.second, "endpoints");
        if (!url.ok()) {
          return url.status();
        }
        if (!url->starts_with("http://") && !url->starts_with("https://")) {
          return Error(entry.second,
                       fmt::format("endpoint '{}' must be an http:// or "
                                   "https:// URL",
                                   *url));
        }
        audit.endpoints[entry.first.as<std::string>()] = *url;
      }
    }
    return OkStatus();
  }

  // `consumer`, or a mapping with exactly one of http, command and wait.
  Status Confirm(const YAML::Node& node, Confirmation& confirm) const {
    using Method = Confirmation::Method;
    if (node.IsScalar()) {
      if (node.as<std::string>() != "consumer") {
        return Error(node,
                     "confirm must be 'consumer' or one of http: URL, "
                     "command: CMD, wait: DURATION");
      }
      confirm = Confirmation{};
      return OkStatus();
    }
    SIQ_RETURN_IF_ERROR(CheckKeys(node, {"http", "command", "wait"}));
    if (node.size() != 1) {
      return Error(node, "confirm takes exactly one of http, command, wait");
    }
    confirm = Confirmation{};
    if (node["http"]) {
      auto url = String(node["http"], "http");
      if (!url.ok()) {
        return url.status();
      }
      if (!url->starts_with("http://") && !url->starts_with("https://")) {
        return Error(node["http"], "http must be an http:// or https:// URL");
      }
      confirm.method = Method::kHttp;
      confirm.url = *url;
    } else if (node["command"]) {
      auto command = String(node["command"], "command");
      if (!command.ok()) {
        return command.status();
      }
      confirm.method = Method::kCommand;
      confirm.command = *command;
    } else {
      auto wait = Duration(node["wait"], "wait");
      if (!wait.ok()) {
        return wait.status();
      }
      confirm.method = Method::kWait;
      confirm.wait = *wait;
    }
    return OkStatus();
  }

  Status Deployments(const YAML::Node& node,
                     std::map<std::string, Confirmation>& deployments) const {
    if (!node.IsMap()) {
      return Error(node, "deployments must map VPS ids to settings");
    }
    for (const auto& entry : node) {
      SIQ_RETURN_IF_ERROR(CheckKeys(entry.second, {"confirm"}));
      Confirmation confirm;
      if (entry.second["confirm"]) {
        SIQ_RETURN_IF_ERROR(Confirm(entry.second["confirm"], confirm));
      }
      deployments[entry.first.as<std::string>()] = confirm;
    }
    return OkStatus();
  }

  Status Rotation(const YAML::Node& node, RotationSettings& rotation) const {
    SIQ_RETURN_IF_ERROR(CheckKeys(node, {"grace", "confirm_timeout", "attempts",
                                         "backoff", "confirm", "deployments"}));
    for (auto [field, target] :
         {std::pair{"grace", &rotation.grace},
          std::pair{"confirm_timeout", &rotation.confirm_timeout},
          std::pair{"backoff", &rotation.backoff}}) {
      if (node[field]) {
        auto value = Duration(node[field], field);
        if (!value.ok()) {
          return value.status();
        }
        *target = *value;
      }
    }
    if (node["attempts"]) {
      int attempts = 0;
      if (!node["attempts"].IsScalar() ||
          !YAML::convert<int>::decode(node["attempts"], attempts) ||
          attempts < 1 || attempts > 10) {
        return Error(node["attempts"],
                     "attempts must be a number from 1 to 10");
      }
      rotation.attempts = attempts;
    }
    if (node["confirm"]) {
      SIQ_RETURN_IF_ERROR(Confirm(node["confirm"], rotation.confirm));
    }
    if (node["deployments"]) {
      SIQ_RETURN_IF_ERROR(
          Deployments(node["deployments"], rotation.deployments));
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
      SIQ_RETURN_IF_ERROR(
          StringList(node["recipients"], "recipients", backup.recipients));
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
        root, {"records", "secret_kinds", "readers", "policies", "role",
               "notifications", "audit", "rotation", "backup"}));
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
    if (root["role"]) {
      auto role = reader.String(root["role"], "role");
      if (!role.ok()) {
        return role.status();
      }
      config.role = *role;
    }
    if (root["secret_kinds"]) {
      SIQ_RETURN_IF_ERROR(
          reader.Kinds(root["secret_kinds"], config.secret_kinds));
    }
    if (root["readers"]) {
      SIQ_RETURN_IF_ERROR(reader.Readers(root["readers"], config.readers));
    }
    if (root["notifications"]) {
      SIQ_RETURN_IF_ERROR(
          reader.Notifications(root["notifications"], config.notifications));
    }
    if (root["audit"]) {
      SIQ_RETURN_IF_ERROR(reader.Audit(root["audit"], config.audit));
    }
    if (root["rotation"]) {
      SIQ_RETURN_IF_ERROR(reader.Rotation(root["rotation"], config.rotation));
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

const Confirmation& RotationSettings::ConfirmationFor(
    std::string_view vps) const {
  auto found = deployments.find(std::string(vps));
  return found == deployments.end() ? confirm : found->second;
}

std::string SecretName(std::string_view vps, std::string_view kind) {
  return fmt::format("{}_{}", vps, kind);
}

}  // namespace siq::config
