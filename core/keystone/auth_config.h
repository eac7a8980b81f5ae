// AuthConfig: who siq authenticates as, and where. Loaded the way operators
// already configure OpenStack tools: command-line flags first, then the OS_*
// environment variables, then an entry of clouds.yaml named by --os-cloud or
// OS_CLOUD (searched in ./, ~/.config/openstack/ and /etc/openstack/, or the
// file OS_CLIENT_CONFIG_FILE names).
//
// Passwords and application-credential secrets are never taken from flags,
// since argv is visible to every user of the machine.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/base/secret.h"
#include "core/base/status.h"

namespace siq::keystone {

enum class AuthType { kPassword, kApplicationCredential };

struct AuthConfig {
  std::string auth_url;  // always ends in /v3
  AuthType auth_type = AuthType::kPassword;

  std::string user_id;
  std::string username;
  std::string user_domain_id;
  std::string user_domain_name;
  SecretBytes password;

  std::string application_credential_id;
  std::string application_credential_name;
  SecretBytes application_credential_secret;

  // Scope: a project, a domain, or (both empty) none.
  std::string project_id;
  std::string project_name;
  std::string project_domain_id;
  std::string project_domain_name;
  std::string domain_id;
  std::string domain_name;

  std::string region_name;
  std::string interface = "public";
  std::string cacert;
  // Skips the catalog lookup when set (--barbican-endpoint).
  std::string barbican_endpoint;

  AuthConfig Clone() const;
};

// What the command line said; unset options are empty.
struct AuthFlags {
  std::string os_cloud;
  std::string os_auth_url;
  std::string os_auth_type;
  std::string os_username;
  std::string os_user_id;
  std::string os_user_domain_name;
  std::string os_user_domain_id;
  std::string os_project_name;
  std::string os_project_id;
  std::string os_project_domain_name;
  std::string os_project_domain_id;
  std::string os_application_credential_id;
  std::string os_region_name;
  std::string os_interface;
  std::string os_cacert;
  std::string barbican_endpoint;
};

// Looks up an environment variable; std::nullopt when unset or empty.
using EnvLookup =
    std::function<std::optional<std::string>(std::string_view name)>;

// Reads the process environment.
EnvLookup ProcessEnvironment();

// Where clouds.yaml is searched, in order; `env` supplies HOME and
// OS_CLIENT_CONFIG_FILE.
std::vector<std::string> CloudsYamlPaths(const EnvLookup& env);

// Merges flags, environment and the named clouds.yaml entry. Fails with
// kInvalidArgument naming the missing setting, or the file and line of a
// clouds.yaml problem. Reads files; no network.
Result<AuthConfig> LoadAuthConfig(const AuthFlags& flags,
                                  const EnvLookup& env,
                                  const std::vector<std::string>& clouds_paths);

// Overwrites the values of the environment variables that hold credentials
// (OS_PASSWORD, OS_APPLICATION_CREDENTIAL_SECRET) in this process's
// environment block and removes them, so that neither /proc/<pid>/environ
// nor a child process sees them. Call after LoadAuthConfig().
void ScrubCredentialEnvironment();

}  // namespace siq::keystone
