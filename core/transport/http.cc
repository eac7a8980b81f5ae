#include "core/transport/http.h"

#include <cctype>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace siq::http {

std::string_view MethodName(Method method) {
  switch (method) {
    case Method::kGet:
      return "GET";
    case Method::kHead:
      return "HEAD";
    case Method::kPost:
      return "POST";
    case Method::kPut:
      return "PUT";
    case Method::kPatch:
      return "PATCH";
    case Method::kDelete:
      return "DELETE";
  }
  return "GET";
}

std::string Response::RequestId() const {
  auto it = headers.find("x-openstack-request-id");
  return it == headers.end() ? std::string() : it->second;
}

std::string ServerMessage(const Response& response) {
  auto doc = nlohmann::json::parse(response.body, nullptr,
                                   /*allow_exceptions=*/false);
  if (!doc.is_object()) {
    return "";
  }
  for (const auto* where : {&doc, &doc["error"]}) {
    for (const char* key : {"description", "message", "title"}) {
      if (where->is_object() && where->contains(key) &&
          (*where)[key].is_string() &&
          !(*where)[key].get_ref<const std::string&>().empty()) {
        return (*where)[key].get<std::string>();
      }
    }
  }
  return "";
}

Status ErrorFromResponse(std::string_view operation, const Response& response) {
  StatusCode code = StatusCode::kServerError;
  switch (response.status) {
    case 400:
      code = StatusCode::kInvalidArgument;
      break;
    case 401:
      code = StatusCode::kUnauthenticated;
      break;
    case 403:
      code = StatusCode::kPermissionDenied;
      break;
    case 404:
      code = StatusCode::kNotFound;
      break;
    case 409:
      code = StatusCode::kConflict;
      break;
    case 408:
    case 504:
      code = StatusCode::kDeadlineExceeded;
      break;
    case 429:
    case 502:
    case 503:
      code = StatusCode::kUnavailable;
      break;
    default:
      break;
  }
  std::string message = fmt::format("{}: HTTP {}", operation, response.status);
  if (std::string id = response.RequestId(); !id.empty()) {
    message += fmt::format(" (request {})", id);
  }
  if (std::string said = ServerMessage(response); !said.empty()) {
    message += ": " + said;
  }
  return Status(code, std::move(message), response.status);
}

std::string EndpointOf(std::string_view url) {
  size_t scheme_end = url.find("://");
  size_t host_start = scheme_end == std::string_view::npos ? 0 : scheme_end + 3;
  size_t host_end = url.find_first_of("/?#", host_start);
  return std::string(url.substr(0, host_end));
}

std::string PathOf(std::string_view url) {
  std::string endpoint = EndpointOf(url);
  std::string_view rest = url.substr(endpoint.size());
  rest = rest.substr(0, rest.find_first_of("?#"));
  return rest.empty() ? "/" : std::string(rest);
}

std::string QueryEscape(std::string_view text) {
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) != 0 || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += fmt::format("%{:02X}", c);
    }
  }
  return out;
}

}  // namespace siq::http
