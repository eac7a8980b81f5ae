// What unit tests of Keystone-backed code share: the deployment account's
// credentials and a catalog whose only service is the key manager at a
// given URL, for FakeTransport's KeystoneTokenAnswer.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "core/base/secret.h"
#include "core/keystone/auth_config.h"

namespace siq::test {

inline keystone::AuthConfig DeployerConfig() {
  keystone::AuthConfig config;
  config.auth_url = "https://keystone.example:5000/v3";
  config.username = "deployer";
  config.user_domain_name = "Default";
  config.password = SecretBytes("deployer-password");
  config.project_name = "siq";
  config.project_domain_name = "Default";
  return config;
}

inline nlohmann::json KeyManagerCatalog(const std::string& url) {
  return nlohmann::json::array({{{"type", "key-manager"},
                                 {"name", "barbican"},
                                 {"endpoints",
                                  {{{"interface", "public"},
                                    {"region_id", "RegionOne"},
                                    {"url", url}}}}}});
}

}  // namespace siq::test
