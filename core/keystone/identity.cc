#include "core/keystone/identity.h"

#include <string>
#include <utility>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/base/encoding.h"
#include "core/base/secret_json.h"

namespace siq::keystone {
namespace {

using nlohmann::json;

http::Request JsonRequest(http::Method method, std::string url) {
  http::Request request;
  request.method = method;
  request.url = std::move(url);
  request.headers = {{"Accept", "application/json"},
                     {"Content-Type", "application/json"}};
  return request;
}

// Where the string value of "key" starts and ends (exclusive of quotes).
struct Span {
  size_t begin = 0;
  size_t end = 0;
};

Result<Span> FindStringValue(std::string_view text, std::string_view key) {
  std::string quoted = fmt::format("\"{}\"", key);
  size_t at = text.find(quoted);
  if (at == std::string_view::npos) {
    return Status(StatusCode::kNotFound, fmt::format("no field {}", key));
  }
  at += quoted.size();
  while (at < text.size() && (text[at] == ' ' || text[at] == ':' ||
                              text[at] == '\n' || text[at] == '\t')) {
    ++at;
  }
  if (at >= text.size() || text[at] != '"') {
    return Status(StatusCode::kServerError,
                  fmt::format("field {} is not a string", key));
  }
  Span span{at + 1, at + 1};
  while (span.end < text.size() && text[span.end] != '"') {
    span.end += text[span.end] == '\\' ? 2 : 1;
  }
  if (span.end >= text.size()) {
    return Status(StatusCode::kServerError,
                  fmt::format("field {} is not terminated", key));
  }
  return span;
}

}  // namespace

Identity::Identity(Session& session) : session_(session) {}

Result<std::string> Identity::FindId(std::string_view operation,
                                     std::string path,
                                     const char* collection) {
  // The identity API is the auth URL itself (it always ends in /v3).
  auto response = session_.Send(JsonRequest(
      http::Method::kGet, session_.config().auth_url + std::move(path)));
  if (!response.ok()) {
    return response.status().WithContext(operation);
  }
  if (!response->IsSuccess()) {
    return http::ErrorFromResponse(operation, *response);
  }
  json doc = json::parse(response->body, nullptr, false);
  if (!doc.is_object() || !doc[collection].is_array()) {
    return Status(StatusCode::kServerError,
                  fmt::format("{}: unreadable answer", operation));
  }
  if (doc[collection].empty()) {
    return Status(StatusCode::kNotFound,
                  fmt::format("{}: none found", operation));
  }
  return doc[collection][0].value("id", "");
}

Result<std::string> Identity::FindDomainId(std::string_view name) {
  return FindId(fmt::format("finding domain {}", name),
                "/domains?name=" + http::QueryEscape(name), "domains");
}

Result<std::string> Identity::FindProjectId(std::string_view name,
                                            std::string_view domain_id) {
  return FindId(
      fmt::format("finding project {}", name),
      fmt::format("/projects?name={}&domain_id={}", http::QueryEscape(name),
                  http::QueryEscape(domain_id)),
      "projects");
}

Result<std::string> Identity::FindRoleId(std::string_view name) {
  return FindId(fmt::format("finding role {}", name),
                "/roles?name=" + http::QueryEscape(name), "roles");
}

Result<std::string> Identity::FindUserId(std::string_view name,
                                         std::string_view domain_id) {
  return FindId(
      fmt::format("finding user {}", name),
      fmt::format("/users?name={}&domain_id={}", http::QueryEscape(name),
                  http::QueryEscape(domain_id)),
      "users");
}

Result<std::string> Identity::CheckUserInDomain(std::string_view user_id,
                                                std::string_view domain_id) {
  std::string operation = fmt::format("reading user {}", user_id);
  auto response = session_.Send(JsonRequest(
      http::Method::kGet,
      fmt::format("{}/users/{}", session_.config().auth_url, user_id)));
  if (!response.ok()) {
    return response.status().WithContext(operation);
  }
  // Keystone answers 403 for a user outside the caller's domain.
  if (response->status == 404 || response->status == 403) {
    return Status(
        StatusCode::kNotFound,
        fmt::format("{}: no such user in domain {}", operation, domain_id));
  }
  if (!response->IsSuccess()) {
    return http::ErrorFromResponse(operation, *response);
  }
  json doc = json::parse(response->body, nullptr, false);
  if (!doc.is_object() || !doc["user"].is_object() ||
      doc["user"].value("domain_id", "") != domain_id) {
    return Status(
        StatusCode::kNotFound,
        fmt::format("{}: no such user in domain {}", operation, domain_id));
  }
  return std::string(user_id);
}

Result<std::string> Identity::CreateUser(std::string_view name,
                                         std::string_view domain_id,
                                         std::string_view project_id,
                                         const SecretBytes& password) {
  std::string operation = fmt::format("creating user {}", name);
  json user = {{"name", name},
               {"domain_id", domain_id},
               {"enabled", true},
               {"password", kSecretPlaceholder}};
  if (!project_id.empty()) {
    user["default_project_id"] = project_id;
  }
  http::Request request =
      JsonRequest(http::Method::kPost, session_.config().auth_url + "/users");
  request.body = DumpWithSecret(json{{"user", user}}, password);
  auto response = session_.Send(std::move(request));
  if (!response.ok()) {
    return response.status().WithContext(operation);
  }
  if (response->status != 201) {
    return http::ErrorFromResponse(operation, *response);
  }
  json doc = json::parse(response->body, nullptr, false);
  if (!doc.is_object() || !doc["user"].is_object()) {
    return Status(StatusCode::kServerError,
                  fmt::format("{}: unreadable answer", operation));
  }
  return doc["user"].value("id", "");
}

Status Identity::Delete(std::string_view operation, std::string path) {
  auto response = session_.Send(JsonRequest(
      http::Method::kDelete, session_.config().auth_url + std::move(path)));
  if (!response.ok()) {
    return response.status().WithContext(operation);
  }
  if (response->status != 204) {
    return http::ErrorFromResponse(operation, *response);
  }
  return OkStatus();
}

Status Identity::DeleteUser(std::string_view user_id) {
  return Delete(fmt::format("deleting user {}", user_id),
                fmt::format("/users/{}", user_id));
}

Status Identity::DeleteApplicationCredential(std::string_view id) {
  SIQ_RETURN_IF_ERROR(session_.EnsureAuthenticated());
  return Delete(fmt::format("deleting application credential {}", id),
                fmt::format("/users/{}/application_credentials/{}",
                            session_.token_info().user_id, id));
}

Status Identity::GrantProjectRole(std::string_view project_id,
                                  std::string_view user_id,
                                  std::string_view role_id) {
  std::string operation = fmt::format("granting role {} on project {} to {}",
                                      role_id, project_id, user_id);
  auto response = session_.Send(JsonRequest(
      http::Method::kPut,
      fmt::format("{}/projects/{}/users/{}/roles/{}",
                  session_.config().auth_url, project_id, user_id, role_id)));
  if (!response.ok()) {
    return response.status().WithContext(operation);
  }
  if (!response->IsSuccess()) {
    return http::ErrorFromResponse(operation, *response);
  }
  return OkStatus();
}

Result<ApplicationCredential> Identity::CreateApplicationCredential(
    std::string_view name,
    std::string_view description) {
  SIQ_RETURN_IF_ERROR(session_.EnsureAuthenticated());
  const TokenInfo& info = session_.token_info();
  std::string operation =
      fmt::format("creating application credential {}", name);
  http::Request request =
      JsonRequest(http::Method::kPost,
                  fmt::format("{}/users/{}/application_credentials",
                              session_.config().auth_url, info.user_id));
  request.body =
      SecretBytes(json{{"application_credential",
                        {{"name", name}, {"description", description}}}}
                      .dump());
  request.sensitive_body = http::SensitiveBody::kYes;

  auto response = session_.Send(std::move(request));
  if (!response.ok()) {
    return response.status().WithContext(operation);
  }
  if (response->status != 201) {
    response->body = std::string(response->secret_body.Reveal());
    return http::ErrorFromResponse(operation, *response);
  }
  auto secret = ExtractSecretField(response->secret_body, "secret");
  if (!secret.ok()) {
    return secret.status().WithContext(operation);
  }
  // Parse the rest with the secret's bytes blanked out.
  auto span = FindStringValue(response->secret_body.Reveal(), "secret");
  std::string rest(response->secret_body.Reveal().substr(0, span->begin));
  rest += response->secret_body.Reveal().substr(span->end);
  json doc = json::parse(rest, nullptr, false);
  if (!doc.is_object() || !doc["application_credential"].is_object()) {
    return Status(StatusCode::kServerError,
                  fmt::format("{}: unreadable answer", operation));
  }
  const json& credential = doc["application_credential"];
  return ApplicationCredential{
      credential.value("id", ""), credential.value("name", ""),
      credential.value("project_id", ""), std::move(*secret)};
}

SecretBytes RandomPassword(size_t bytes) {
  return EncodeBase64(RandomBytes(bytes).Reveal(), Base64Alphabet::kUrlSafe);
}

Result<SecretBytes> ExtractSecretField(const SecretBytes& body,
                                       std::string_view key) {
  std::string_view text = body.Reveal();
  auto span = FindStringValue(text, key);
  if (!span.ok()) {
    return span.status();
  }
  SecretBytes value;
  for (size_t at = span->begin; at < span->end; ++at) {
    if (text[at] != '\\') {
      value.Append(text[at]);
      continue;
    }
    ++at;
    switch (text[at]) {
      case 'n':
        value.Append('\n');
        break;
      case 't':
        value.Append('\t');
        break;
      case 'r':
        value.Append('\r');
        break;
      case 'b':
        value.Append('\b');
        break;
      case 'f':
        value.Append('\f');
        break;
      case 'u':
        // Keystone's secrets are ASCII; a \u escape is not expected.
        return Status(StatusCode::kServerError,
                      fmt::format("field {} holds a \\u escape", key));
      default:
        value.Append(text[at]);  // \" \\ \/
    }
  }
  return value;
}

}  // namespace siq::keystone
