#include "core/keystone/auth_config.h"

#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <tuple>
#include <utility>

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

extern char** environ;  // NOLINT: POSIX declares it nowhere else

namespace siq::keystone {
namespace {

// The clouds.yaml entry in use, with the file it came from for messages.
struct Cloud {  // NOLINT(bugprone-exception-escape): yaml-cpp nodes may throw
                // when copied
  std::string path;
  YAML::Node entry;
};

std::string Located(const std::string& path, const YAML::Mark& mark) {
  return fmt::format("{}:{}", path, mark.line + 1);
}

Result<std::optional<Cloud>> FindCloud(const std::string& name,
                                       const std::vector<std::string>& paths) {
  for (const std::string& path : paths) {
    std::error_code error;
    if (!std::filesystem::is_regular_file(path, error)) {
      continue;
    }
    YAML::Node root;
    try {
      root = YAML::LoadFile(path);
    } catch (const YAML::Exception& e) {
      return Status(StatusCode::kInvalidArgument,
                    fmt::format("{}: {}", Located(path, e.mark), e.msg));
    }
    // yaml-cpp throws when a key is looked up in a scalar: check the shape
    // here, where the file and line are at hand.
    YAML::Node clouds = root.IsMap() ? root["clouds"] : YAML::Node();
    if (clouds && clouds.IsMap() && clouds[name]) {
      YAML::Node entry = clouds[name];
      if (!entry.IsMap()) {
        return Status(StatusCode::kInvalidArgument,
                      fmt::format("{}: cloud '{}' must be a mapping",
                                  Located(path, entry.Mark()), name));
      }
      if (YAML::Node auth = entry["auth"]; auth && !auth.IsMap()) {
        return Status(StatusCode::kInvalidArgument,
                      fmt::format("{}: 'auth' must be a mapping",
                                  Located(path, auth.Mark())));
      }
      return std::optional<Cloud>(Cloud{path, entry});
    }
  }
  return Status(StatusCode::kInvalidArgument,
                fmt::format("cloud '{}' not found in clouds.yaml (searched {})",
                            name, fmt::join(paths, ", ")));
}

// One setting: its flag, its OS_* variable, and its key in clouds.yaml (a
// key of the entry's `auth` map when `in_auth`).
class Resolver {
 public:
  Resolver(const EnvLookup& env, const std::optional<Cloud>& cloud)
      : env_(env), cloud_(cloud) {}

  Result<std::string> Get(const std::string& flag,
                          std::string_view env_name,
                          const char* cloud_key,
                          bool in_auth = true) const {
    if (!flag.empty()) {
      return flag;
    }
    if (auto value = env_(env_name)) {
      return *value;
    }
    if (!cloud_) {
      return std::string();
    }
    YAML::Node node =
        in_auth ? cloud_->entry["auth"][cloud_key] : cloud_->entry[cloud_key];
    if (!node) {
      return std::string();
    }
    if (!node.IsScalar()) {
      return Status(StatusCode::kInvalidArgument,
                    fmt::format("{}: '{}' must be a string",
                                Located(cloud_->path, node.Mark()), cloud_key));
    }
    return node.as<std::string>();
  }

 private:
  const EnvLookup& env_;
  const std::optional<Cloud>& cloud_;
};

std::string NormalizeAuthUrl(std::string url) {
  while (!url.empty() && url.back() == '/') {
    url.pop_back();
  }
  if (url.size() < 3 || url.compare(url.size() - 3, 3, "/v3") != 0) {
    url += "/v3";
  }
  return url;
}

Status Missing(std::string_view what,
               std::string_view flag,
               std::string_view env_name,
               std::string_view cloud_key) {
  return Status(
      StatusCode::kInvalidArgument,
      fmt::format("no {}: set {}{}{}, or {} in a clouds.yaml entry", what, flag,
                  flag.empty() ? "" : ", ", env_name, cloud_key));
}

Status CheckComplete(const AuthConfig& config) {
  if (config.auth_url == "/v3") {
    return Missing("auth URL", "--os-auth-url", "OS_AUTH_URL", "auth_url");
  }
  if (config.auth_type == AuthType::kPassword) {
    if (config.username.empty() && config.user_id.empty()) {
      return Missing("user", "--os-username", "OS_USERNAME", "username");
    }
    if (config.password.empty()) {
      return Missing("password", "", "OS_PASSWORD", "password");
    }
    return OkStatus();
  }
  if (config.application_credential_id.empty() &&
      (config.application_credential_name.empty() ||
       (config.username.empty() && config.user_id.empty()))) {
    return Missing("application credential id",
                   "--os-application-credential-id",
                   "OS_APPLICATION_CREDENTIAL_ID", "application_credential_id");
  }
  if (config.application_credential_secret.empty()) {
    return Missing("application credential secret", "",
                   "OS_APPLICATION_CREDENTIAL_SECRET",
                   "application_credential_secret");
  }
  return OkStatus();
}

Result<AuthType> ParseAuthType(const std::string& text) {
  if (text.empty() || text == "password" || text == "v3password") {
    return AuthType::kPassword;
  }
  if (text == "v3applicationcredential" || text == "applicationcredential") {
    return AuthType::kApplicationCredential;
  }
  return Status(StatusCode::kInvalidArgument,
                fmt::format("unsupported auth type '{}': use password or "
                            "v3applicationcredential",
                            text));
}

}  // namespace

AuthConfig AuthConfig::Clone() const {
  AuthConfig copy;
  copy.auth_url = auth_url;
  copy.auth_type = auth_type;
  copy.user_id = user_id;
  copy.username = username;
  copy.user_domain_id = user_domain_id;
  copy.user_domain_name = user_domain_name;
  copy.password = password.Clone();
  copy.application_credential_id = application_credential_id;
  copy.application_credential_name = application_credential_name;
  copy.application_credential_secret = application_credential_secret.Clone();
  copy.project_id = project_id;
  copy.project_name = project_name;
  copy.project_domain_id = project_domain_id;
  copy.project_domain_name = project_domain_name;
  copy.domain_id = domain_id;
  copy.domain_name = domain_name;
  copy.region_name = region_name;
  copy.interface = interface;
  copy.cacert = cacert;
  copy.barbican_endpoint = barbican_endpoint;
  return copy;
}

EnvLookup ProcessEnvironment() {
  return [](std::string_view name) -> std::optional<std::string> {
    const char* value = std::getenv(std::string(name).c_str());
    if (value == nullptr || *value == '\0') {
      return std::nullopt;
    }
    return std::string(value);
  };
}

std::vector<std::string> CloudsYamlPaths(const EnvLookup& env) {
  std::vector<std::string> paths;
  if (auto file = env("OS_CLIENT_CONFIG_FILE")) {
    paths.push_back(*file);
  }
  paths.emplace_back("clouds.yaml");
  if (auto home = env("HOME")) {
    paths.push_back(*home + "/.config/openstack/clouds.yaml");
  }
  paths.emplace_back("/etc/openstack/clouds.yaml");
  return paths;
}

Result<AuthConfig> LoadAuthConfig(
    const AuthFlags& flags,
    const EnvLookup& env,
    const std::vector<std::string>& clouds_paths) {
  std::optional<Cloud> cloud;
  std::string cloud_name = flags.os_cloud;
  if (cloud_name.empty()) {
    cloud_name = env("OS_CLOUD").value_or("");
  }
  if (!cloud_name.empty()) {
    auto found = FindCloud(cloud_name, clouds_paths);
    if (!found.ok()) {
      return found.status();
    }
    cloud = std::move(*found);
  }
  Resolver r(env, cloud);

  // Each line: the field, its flag, its variable, its clouds.yaml key.
  AuthConfig config;
  struct Field {
    std::string* target;
    const std::string& flag;
    std::string_view env_name;
    const char* cloud_key;
    bool in_auth;
  };
  std::string auth_type;
  const Field fields[] = {
      {&config.auth_url, flags.os_auth_url, "OS_AUTH_URL", "auth_url", true},
      {&auth_type, flags.os_auth_type, "OS_AUTH_TYPE", "auth_type", false},
      {&config.username, flags.os_username, "OS_USERNAME", "username", true},
      {&config.user_id, flags.os_user_id, "OS_USER_ID", "user_id", true},
      {&config.user_domain_name, flags.os_user_domain_name,
       "OS_USER_DOMAIN_NAME", "user_domain_name", true},
      {&config.user_domain_id, flags.os_user_domain_id, "OS_USER_DOMAIN_ID",
       "user_domain_id", true},
      {&config.project_name, flags.os_project_name, "OS_PROJECT_NAME",
       "project_name", true},
      {&config.project_id, flags.os_project_id, "OS_PROJECT_ID", "project_id",
       true},
      {&config.project_domain_name, flags.os_project_domain_name,
       "OS_PROJECT_DOMAIN_NAME", "project_domain_name", true},
      {&config.project_domain_id, flags.os_project_domain_id,
       "OS_PROJECT_DOMAIN_ID", "project_domain_id", true},
      {&config.application_credential_id, flags.os_application_credential_id,
       "OS_APPLICATION_CREDENTIAL_ID", "application_credential_id", true},
      {&config.region_name, flags.os_region_name, "OS_REGION_NAME",
       "region_name", false},
      {&config.cacert, flags.os_cacert, "OS_CACERT", "cacert", false},
      {&config.barbican_endpoint, flags.barbican_endpoint,
       "SIQ_BARBICAN_ENDPOINT", "barbican_endpoint", false},
  };
  for (const Field& field : fields) {
    auto value =
        r.Get(field.flag, field.env_name, field.cloud_key, field.in_auth);
    if (!value.ok()) {
      return value.status();
    }
    *field.target = std::move(*value);
  }
  static const std::string kNoFlag;
  for (auto [target, env_name, key] :
       {std::tuple{&config.application_credential_name,
                   "OS_APPLICATION_CREDENTIAL_NAME",
                   "application_credential_name"},
        std::tuple{&config.domain_name, "OS_DOMAIN_NAME", "domain_name"},
        std::tuple{&config.domain_id, "OS_DOMAIN_ID", "domain_id"}}) {
    auto value = r.Get(kNoFlag, env_name, key);
    if (!value.ok()) {
      return value.status();
    }
    *target = std::move(*value);
  }
  auto interface = r.Get(flags.os_interface, "OS_INTERFACE", "interface",
                         /*in_auth=*/false);
  if (!interface.ok()) {
    return interface.status();
  }
  if (!interface->empty()) {
    config.interface = *interface;
  }

  // Secrets: never from flags. The std::string copies are wiped at once.
  for (auto [target, env_name, key] :
       {std::tuple{&config.password, "OS_PASSWORD", "password"},
        std::tuple{&config.application_credential_secret,
                   "OS_APPLICATION_CREDENTIAL_SECRET",
                   "application_credential_secret"}}) {
    auto value = r.Get(kNoFlag, env_name, key);
    if (!value.ok()) {
      return value.status();
    }
    *target = SecretBytes(*value);
    WipeString(*value);
  }

  // Any YAML spelling of false (false, False, no, off...), as openstacksdk
  // reads it.
  if (cloud && cloud->entry["verify"] && cloud->entry["verify"].IsScalar() &&
      !cloud->entry["verify"].as<bool>(true)) {
    return Status(
        StatusCode::kInvalidArgument,
        fmt::format("{}: 'verify: false' is refused: siq always "
                    "verifies TLS; name a CA bundle with cacert",
                    Located(cloud->path, cloud->entry["verify"].Mark())));
  }
  auto type = ParseAuthType(auth_type);
  if (!type.ok()) {
    return type.status();
  }
  config.auth_type = *type;
  config.auth_url = NormalizeAuthUrl(config.auth_url);
  // keystoneauth's habit: a name without a domain is in the Default domain.
  if (config.user_domain_name.empty() && config.user_domain_id.empty()) {
    config.user_domain_name = "Default";
  }
  if (config.project_domain_name.empty() && config.project_domain_id.empty()) {
    config.project_domain_name = "Default";
  }
  SIQ_RETURN_IF_ERROR(CheckComplete(config));
  return config;
}

void ScrubCredentialEnvironment() {
  for (const char* name : {"OS_PASSWORD", "OS_APPLICATION_CREDENTIAL_SECRET"}) {
    size_t name_length = std::strlen(name);
    for (char** entry = environ; entry != nullptr && *entry != nullptr;
         ++entry) {
      if (std::strncmp(*entry, name, name_length) == 0 &&
          (*entry)[name_length] == '=') {
        // The block that /proc/<pid>/environ shows is the original one:
        // unsetenv() alone would leave the bytes there.
        char* value = *entry + name_length + 1;
        std::memset(value, 0, std::strlen(value));
      }
    }
    unsetenv(name);
  }
}

}  // namespace siq::keystone
