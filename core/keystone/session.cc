#include "core/keystone/session.h"

#include <algorithm>
#include <ctime>
#include <utility>

#include <fmt/chrono.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/base/log.h"
#include "core/base/secret_json.h"
#include "core/transport/retry.h"

namespace siq::keystone {
namespace {

using nlohmann::json;

// Renew this long before expiry, or a fifth of the token's life if shorter,
// so that a request never leaves with a token about to die in flight.
constexpr std::chrono::seconds kRenewMargin{60};

json NameOrId(const std::string& id,
              const std::string& name,
              const std::string& domain_id,
              const std::string& domain_name) {
  if (!id.empty()) {
    return {{"id", id}};
  }
  json out = {{"name", name}};
  out["domain"] =
      domain_id.empty() ? json{{"name", domain_name}} : json{{"id", domain_id}};
  return out;
}

json Scope(const AuthConfig& config) {
  if (!config.project_id.empty() || !config.project_name.empty()) {
    return {{"project",
             NameOrId(config.project_id, config.project_name,
                      config.project_domain_id, config.project_domain_name)}};
  }
  if (!config.domain_id.empty()) {
    return {{"domain", {{"id", config.domain_id}}}};
  }
  if (!config.domain_name.empty()) {
    return {{"domain", {{"name", config.domain_name}}}};
  }
  return nullptr;
}

Result<TokenInfo> ParseToken(const std::string& body) {
  TokenInfo info;
  try {
    json token = json::parse(body).at("token");
    info.user_id = token.at("user").at("id").get<std::string>();
    info.user_name = token.at("user").value("name", "");
    if (token.contains("project")) {
      info.project_id = token["project"].at("id").get<std::string>();
      info.project_name = token["project"].value("name", "");
    }
    if (token.contains("domain")) {
      info.domain_id = token["domain"].at("id").get<std::string>();
    }
    for (const json& role : token.value("roles", json::array())) {
      info.roles.push_back(role.at("name").get<std::string>());
    }
    for (const json& service : token.value("catalog", json::array())) {
      CatalogEntry entry{
          service.at("type").get<std::string>(), service.value("name", ""), {}};
      for (const json& endpoint : service.at("endpoints")) {
        std::string region = endpoint.value("region_id", "");
        if (region.empty()) {
          region = endpoint.value("region", "");
        }
        entry.endpoints.push_back({endpoint.at("interface").get<std::string>(),
                                   region,
                                   endpoint.at("url").get<std::string>()});
      }
      info.catalog.push_back(std::move(entry));
    }
    auto issued = ParseKeystoneTime(token.at("issued_at").get<std::string>());
    auto expires = ParseKeystoneTime(token.at("expires_at").get<std::string>());
    if (!issued.ok() || !expires.ok()) {
      return Status(StatusCode::kServerError,
                    "Keystone answered a token with unreadable times");
    }
    info.issued_at = *issued;
    info.expires_at = *expires;
  } catch (const json::exception& e) {
    return Status(
        StatusCode::kServerError,
        fmt::format("Keystone answered an unreadable token: {}", e.what()));
  }
  return info;
}

}  // namespace

SecretBytes TokenRequestBody(const AuthConfig& config) {
  json identity;
  const SecretBytes* secret = nullptr;
  if (config.auth_type == AuthType::kPassword) {
    json user = NameOrId(config.user_id, config.username, config.user_domain_id,
                         config.user_domain_name);
    user["password"] = kSecretPlaceholder;
    identity = {{"methods", {"password"}}, {"password", {{"user", user}}}};
    secret = &config.password;
  } else {
    json credential = {{"secret", kSecretPlaceholder}};
    if (!config.application_credential_id.empty()) {
      credential["id"] = config.application_credential_id;
    } else {
      credential["name"] = config.application_credential_name;
      credential["user"] =
          NameOrId(config.user_id, config.username, config.user_domain_id,
                   config.user_domain_name);
    }
    identity = {{"methods", {"application_credential"}},
                {"application_credential", credential}};
    secret = &config.application_credential_secret;
  }

  json auth = {{"identity", identity}};
  // An application credential is already bound to its project.
  if (config.auth_type == AuthType::kPassword) {
    if (json scope = Scope(config); !scope.is_null()) {
      auth["scope"] = scope;
    }
  }
  return DumpWithSecret(json{{"auth", auth}}, *secret);
}

SharedToken::SharedToken(AuthConfig config, Clock& clock)
    : config_(std::move(config)), clock_(clock) {}

Status SharedToken::Authenticate(http::Transport& transport) {
  std::lock_guard lock(mutex_);
  return AuthenticateLocked(transport);
}

Result<SharedToken::Token> SharedToken::Fresh(http::Transport& transport) {
  std::lock_guard lock(mutex_);
  if (!IsFreshLocked()) {
    SIQ_RETURN_IF_ERROR(AuthenticateLocked(transport));
  }
  return token_;
}

Result<SharedToken::Token> SharedToken::Renew(http::Transport& transport,
                                              const Token& refused) {
  std::lock_guard lock(mutex_);
  if (token_ == refused || !IsFreshLocked()) {
    log::Get("keystone")->info("token rejected; authenticating again");
    SIQ_RETURN_IF_ERROR(AuthenticateLocked(transport));
  }
  return token_;
}

TokenInfo SharedToken::info() const {
  std::lock_guard lock(mutex_);
  return info_;
}

Status SharedToken::AuthenticateLocked(http::Transport& transport) {
  http::Request request;
  request.method = http::Method::kPost;
  request.url = config_.auth_url + "/auth/tokens";
  request.headers = {{"Content-Type", "application/json"},
                     {"Accept", "application/json"}};
  request.body = TokenRequestBody(config_);
  request.secret_header = "x-subject-token";
  // A token request changes nothing on the server: safe to resend.
  request.repeatable = http::Repeatable::kYes;

  auto response = transport.Send(request);
  if (!response.ok()) {
    return response.status().WithContext("authenticating with Keystone");
  }
  std::string operation =
      fmt::format("authenticating with Keystone at {}", config_.auth_url);
  if (response->status != 201) {
    return http::ErrorFromResponse(operation, *response);
  }
  if (response->secret_header.empty()) {
    return Status(StatusCode::kServerError,
                  operation + ": the answer has no X-Subject-Token");
  }
  auto info = ParseToken(response->body);
  if (!info.ok()) {
    return info.status().WithContext(operation);
  }
  token_ =
      std::make_shared<const SecretBytes>(std::move(response->secret_header));
  info_ = std::move(*info);
  log::Get("keystone")
      ->info("token for user {} (project {}) valid until {:%FT%TZ}",
             info_.user_id, info_.project_id.empty() ? "-" : info_.project_id,
             info_.expires_at);
  return OkStatus();
}

bool SharedToken::IsFreshLocked() const {
  if (token_ == nullptr) {
    return false;
  }
  auto life = info_.expires_at - info_.issued_at;
  auto margin =
      std::min<std::chrono::system_clock::duration>(kRenewMargin, life / 5);
  return clock_.Now() + margin < info_.expires_at;
}

Session::Session(http::Transport& transport, AuthConfig config, Clock& clock)
    : transport_(transport),
      token_(std::make_shared<SharedToken>(std::move(config), clock)) {}

Session::Session(http::Transport& transport, std::shared_ptr<SharedToken> token)
    : transport_(transport), token_(std::move(token)) {}

Status Session::Authenticate() {
  return token_->Authenticate(transport_);
}

Status Session::EnsureAuthenticated() {
  return token_->Fresh(transport_).status();
}

Result<std::string> Session::EndpointFor(std::string_view service_type) {
  const AuthConfig& config = token_->config();
  if (service_type == "key-manager" && !config.barbican_endpoint.empty()) {
    return config.barbican_endpoint;
  }
  SIQ_RETURN_IF_ERROR(EnsureAuthenticated());
  return FindEndpoint(token_->info().catalog, service_type, config.interface,
                      config.region_name);
}

Result<http::Response> Session::Send(http::Request request) {
  auto token = token_->Fresh(transport_);
  if (!token.ok()) {
    return token.status();
  }
  request.token = token->get();
  auto response = transport_.Send(request);

  if (response.ok() && response->status == 401) {
    auto renewed = token_->Renew(transport_, *token);
    if (renewed.ok() &&
        http::IsRepeatable(request.method, request.repeatable)) {
      request.token = renewed->get();
      response = transport_.Send(request);
    }
  }
  return response;
}

Result<std::string> FindEndpoint(const std::vector<CatalogEntry>& catalog,
                                 std::string_view service_type,
                                 std::string_view interface,
                                 std::string_view region) {
  for (const CatalogEntry& entry : catalog) {
    if (entry.type != service_type) {
      continue;
    }
    for (const Endpoint& endpoint : entry.endpoints) {
      if (endpoint.interface == interface &&
          (region.empty() || endpoint.region == region)) {
        return endpoint.url;
      }
    }
  }
  return Status(StatusCode::kNotFound,
                fmt::format("the catalog has no {} endpoint for interface {}"
                            "{}{}",
                            service_type, interface,
                            region.empty() ? "" : " in region ", region));
}

Result<TimePoint> ParseKeystoneTime(std::string_view text) {
  std::tm tm = {};
  std::string copy(text);
  const char* rest = strptime(copy.c_str(), "%Y-%m-%dT%H:%M:%S", &tm);
  if (rest == nullptr) {
    return Status(StatusCode::kInvalidArgument,
                  fmt::format("'{}' is not an ISO 8601 time", text));
  }
  auto seconds = std::chrono::seconds(timegm(&tm));
  std::chrono::microseconds fraction{0};
  if (*rest == '.') {
    ++rest;
    int digits = 0;
    int64_t value = 0;
    while (*rest >= '0' && *rest <= '9') {
      if (digits < 6) {
        value = value * 10 + (*rest - '0');
        ++digits;
      }
      ++rest;
    }
    while (digits++ < 6) {
      value *= 10;
    }
    fraction = std::chrono::microseconds(value);
  }
  if (*rest != '\0' && std::string_view(rest) != "Z" &&
      std::string_view(rest) != "+00:00") {
    return Status(StatusCode::kInvalidArgument,
                  fmt::format("'{}' is not a UTC time", text));
  }
  return TimePoint(seconds) + fraction;
}

}  // namespace siq::keystone
