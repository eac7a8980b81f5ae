#include "cli/app.h"

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>

#include <fmt/format.h>

#include "core/base/log.h"
#include "core/policy/guard.h"

namespace siq::cli {
namespace {

// The --config of the chosen command. Commands parse it into their own
// options; Connect needs it too, and every command calls Connect.
std::string& ConfigFlag() {
  static std::string path;
  return path;
}

void AddConnectionOption(CLI::App& app,
                         const char* flag,
                         std::string& target,
                         const char* what,
                         const char* env_name) {
  app.add_option(flag, target, fmt::format("{} (env {})", what, env_name))
      ->group("Connection")
      ->type_name("TEXT");
}

}  // namespace

void AddGlobalOptions(CLI::App& app, GlobalOptions& options) {
  keystone::AuthFlags& auth = options.auth;
  AddConnectionOption(app, "--os-cloud", auth.os_cloud,
                      "entry of clouds.yaml to use", "OS_CLOUD");
  AddConnectionOption(app, "--os-auth-url", auth.os_auth_url, "Keystone URL",
                      "OS_AUTH_URL");
  AddConnectionOption(app, "--os-auth-type", auth.os_auth_type,
                      "password or v3applicationcredential", "OS_AUTH_TYPE");
  AddConnectionOption(app, "--os-username", auth.os_username, "user name",
                      "OS_USERNAME");
  AddConnectionOption(app, "--os-user-id", auth.os_user_id, "user id",
                      "OS_USER_ID");
  AddConnectionOption(app, "--os-user-domain-name", auth.os_user_domain_name,
                      "the user's domain", "OS_USER_DOMAIN_NAME");
  AddConnectionOption(app, "--os-user-domain-id", auth.os_user_domain_id,
                      "the user's domain id", "OS_USER_DOMAIN_ID");
  AddConnectionOption(app, "--os-project-name", auth.os_project_name,
                      "project to scope to", "OS_PROJECT_NAME");
  AddConnectionOption(app, "--os-project-id", auth.os_project_id,
                      "project id to scope to", "OS_PROJECT_ID");
  AddConnectionOption(app, "--os-project-domain-name",
                      auth.os_project_domain_name, "the project's domain",
                      "OS_PROJECT_DOMAIN_NAME");
  AddConnectionOption(app, "--os-project-domain-id", auth.os_project_domain_id,
                      "the project's domain id", "OS_PROJECT_DOMAIN_ID");
  AddConnectionOption(app, "--os-application-credential-id",
                      auth.os_application_credential_id,
                      "application credential id (its secret only from the "
                      "environment or clouds.yaml)",
                      "OS_APPLICATION_CREDENTIAL_ID");
  AddConnectionOption(app, "--os-region-name", auth.os_region_name,
                      "region of the key-manager endpoint", "OS_REGION_NAME");
  AddConnectionOption(app, "--os-interface", auth.os_interface,
                      "endpoint interface: public, internal or admin",
                      "OS_INTERFACE");
  AddConnectionOption(app, "--os-cacert", auth.os_cacert,
                      "CA bundle that signs the servers' certificates",
                      "OS_CACERT");
  AddConnectionOption(app, "--barbican-endpoint", auth.barbican_endpoint,
                      "Barbican URL, instead of the catalog's",
                      "SIQ_BARBICAN_ENDPOINT");
  app.add_option("--timeout", options.timeout_seconds,
                 "seconds one HTTP exchange may take")
      ->group("Connection")
      ->capture_default_str()
      ->check(CLI::Range(0.001, 86400.0));
  app.add_option("--connect-timeout", options.connect_timeout_seconds,
                 "seconds to wait for a connection")
      ->group("Connection")
      ->capture_default_str()
      ->check(CLI::Range(0.001, 86400.0));

  app.add_flag("-v,--verbose", options.verbosity,
               "more detail on stderr: -v info, -vv debug (one line per "
               "HTTP exchange)")
      ->group("Output");
  app.add_flag("-q,--quiet", options.quiet, "errors only on stderr")
      ->group("Output");
}

void AddOutputOption(CLI::App& command, OutputFormat& format) {
  command
      .add_option_function<std::string>(
          "-o,--output",
          [&format](const std::string& value) {
            format =
                value == "json" ? OutputFormat::kJson : OutputFormat::kTable;
          },
          "table for people, json for scripts")
      ->check(CLI::IsMember({"table", "json"}))
      ->option_text("table|json (default table)")
      ->group("Output");
}

void AddRecordOptions(CLI::App& command, RecordOptions& options) {
  command
      .add_option("--config", options.config,
                  "siq's config file: secret kinds, records, readers, "
                  "acting role (env SIQ_CONFIG)")
      ->each(RememberConfigFlag)
      ->group("Records");
  command
      .add_option("--records", options.records,
                  "the deployment record file (default: the config's, or "
                  "/var/lib/siq/deployments.json)")
      ->group("Records");
  command
      .add_option("--lock-wait", options.lock_wait_seconds,
                  "seconds to wait for another siq's lock on the records")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 86400.0))
      ->group("Records");
}

Result<Records> OpenRecords(const RecordOptions& options, Access access) {
  std::string config_path = options.config;
  if (config_path.empty()) {
    config_path = keystone::ProcessEnvironment()("SIQ_CONFIG").value_or("");
  }
  auto config = config::LoadConfig(config_path);
  if (!config.ok()) {
    return config.status();
  }
  std::string path =
      options.records.empty() ? config->records : options.records;

  std::filesystem::path parent = std::filesystem::path(path).parent_path();
  std::error_code error;
  if (access == Access::kWrite && !parent.empty() &&
      !std::filesystem::exists(parent, error)) {
    std::filesystem::create_directories(parent, error);
    if (!error) {
      std::filesystem::permissions(parent, std::filesystem::perms::owner_all,
                                   error);
    }
    if (error) {
      return Status(
          StatusCode::kIoError,
          fmt::format("creating {}: {}", parent.string(), error.message()));
    }
  }
  auto wait = std::chrono::milliseconds(
      static_cast<int64_t>(options.lock_wait_seconds * 1000));
  return Records{std::move(*config),
                 std::make_unique<records::FileRecordStore>(path, wait)};
}

void ApplyVerbosity(const GlobalOptions& options) {
  if (options.quiet) {
    log::SetVerbosity(log::Verbosity::kQuiet);
  } else if (options.verbosity >= 2) {
    log::SetVerbosity(log::Verbosity::kDebug);
  } else if (options.verbosity == 1) {
    log::SetVerbosity(log::Verbosity::kInfo);
  } else {
    log::SetVerbosity(log::Verbosity::kDefault);
  }
}

http::TransportOptions TransportFrom(const GlobalOptions& options) {
  http::TransportOptions transport;
  transport.timeout = std::chrono::milliseconds(
      static_cast<int64_t>(options.timeout_seconds * 1000));
  transport.connect_timeout = std::chrono::milliseconds(
      static_cast<int64_t>(options.connect_timeout_seconds * 1000));
  return transport;
}

void RememberConfigFlag(const std::string& path) {
  ConfigFlag() = path;
}

namespace {

// Loads the config and the policies once; the maker it returns copies them
// into a new guard for each connection.
Result<barbican::ConnectionShare::GuardMaker> MakeGuardMaker(
    const std::optional<ActingRole>& acting) {
  std::string path = ConfigFlag();
  if (path.empty()) {
    path = keystone::ProcessEnvironment()("SIQ_CONFIG").value_or("");
  }
  auto config = config::LoadConfig(path);
  if (!config.ok()) {
    return config.status();
  }
  auto set =
      policy::LoadEnforcedPolicies(config->policies, config::Config{}.policies);
  if (!set.ok()) {
    return set.status().WithContext("loading the enforced policies");
  }
  ActingRole role = acting.value_or(ActingRole{config->role, {}});
  if (set->FindRole(role.role) == nullptr) {
    return Status(StatusCode::kInvalidArgument,
                  fmt::format("{}: role '{}' is not in the role table of {}",
                              path.empty() ? "the default config" : path,
                              role.role, set->dir));
  }
  log::Get("policy")->info("acting as role {} under the policies of {}",
                           role.role, set->dir);
  return barbican::ConnectionShare::GuardMaker(
      [set = std::move(*set), role = std::move(role)] {
        return std::make_unique<policy::PolicyGuard>(set, role.role, role.vars);
      });
}

}  // namespace

Status GuardConnection(barbican::Connection& connection,
                       const std::optional<ActingRole>& acting) {
  auto maker = MakeGuardMaker(acting);
  if (!maker.ok()) {
    return maker.status();
  }
  connection.set_guard((*maker)());
  return OkStatus();
}

Result<std::unique_ptr<barbican::Connection>> Connect(
    const GlobalOptions& options,
    const std::optional<ActingRole>& acting,
    AuthenticateAt when) {
  keystone::EnvLookup env = keystone::ProcessEnvironment();
  auto config = keystone::LoadAuthConfig(options.auth, env,
                                         keystone::CloudsYamlPaths(env));
  keystone::ScrubCredentialEnvironment();
  if (!config.ok()) {
    return config.status();
  }
  auto connection = std::make_unique<barbican::Connection>(
      std::move(*config), TransportFrom(options));
  SIQ_RETURN_IF_ERROR(GuardConnection(*connection, acting));
  if (when == AuthenticateAt::kConnect) {
    SIQ_RETURN_IF_ERROR(connection->session().Authenticate());
  }
  return connection;
}

Result<std::unique_ptr<barbican::ConnectionShare>> ConnectShared(
    const GlobalOptions& options) {
  keystone::EnvLookup env = keystone::ProcessEnvironment();
  auto config = keystone::LoadAuthConfig(options.auth, env,
                                         keystone::CloudsYamlPaths(env));
  keystone::ScrubCredentialEnvironment();
  if (!config.ok()) {
    return config.status();
  }
  auto maker = MakeGuardMaker(std::nullopt);
  if (!maker.ok()) {
    return maker.status();
  }
  auto share = std::make_unique<barbican::ConnectionShare>(
      std::move(*config), TransportFrom(options));
  share->set_guard_maker(std::move(*maker));
  return share;
}

ExitCode Fail(const Status& status) {
  fmt::print(stderr, "siq: error: {}\n", status.message());
  return ExitCodeFor(status);
}

}  // namespace siq::cli
