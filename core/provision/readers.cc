#include "core/provision/readers.h"

#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <utility>

#include <fmt/format.h>

#include "core/base/log.h"

namespace siq::provision {
namespace {

bool LooksLikeId(const std::string& text) {
  return text.size() == 32 &&
         text.find_first_not_of("0123456789abcdef") == std::string::npos;
}

keystone::AuthConfig DomainScoped(const keystone::AuthConfig& caller,
                                  const std::string& domain) {
  keystone::AuthConfig config = caller.Clone();
  config.project_id.clear();
  config.project_name.clear();
  config.domain_id.clear();
  config.domain_name = domain;
  return config;
}

// Keystone may not yet see the role just granted when the new user asks
// for its credential ("Could not find role assignment", HTTP 400), seen
// under parallel provisioning: asking again shortly after succeeds.
Result<keystone::ApplicationCredential> CreateCredential(
    keystone::Identity& identity,
    std::string_view vps) {
  constexpr int kAttempts = 5;
  for (int attempt = 1;; ++attempt) {
    auto credential = identity.CreateApplicationCredential(
        fmt::format("siq-{}", vps), fmt::format("siq run on {}", vps));
    bool lagging = !credential.ok() &&
                   credential.status().http_status() == 400 &&
                   credential.status().message().find("role assignment") !=
                       std::string::npos;
    if (!lagging || attempt == kAttempts) {
      return credential;
    }
    log::Get("provision")
        ->info("Keystone does not see the reader's role yet; asking again");
    DefaultClock().SleepFor(std::chrono::milliseconds(200 * attempt));
  }
}

}  // namespace

Readers::Readers(http::Transport& transport,
                 const keystone::AuthConfig& caller,
                 config::ReaderSettings settings)
    : transport_(transport),
      caller_(caller.Clone()),
      settings_(std::move(settings)) {}

std::string Readers::UserName(std::string_view vps) {
  return fmt::format("siq-reader-{}", vps);
}

Status Readers::EnsureIds() {
  if (manager_) {
    return OkStatus();
  }
  manager_ = std::make_unique<keystone::Session>(
      transport_, DomainScoped(caller_, settings_.domain));
  keystone::Identity identity(*manager_);
  // The domain-scoped token names its domain: no domain lookup, which
  // Keystone keeps to admins.
  Status authenticated = manager_->EnsureAuthenticated();
  if (!authenticated.ok()) {
    manager_.reset();
    return authenticated.WithContext(
        fmt::format("authenticating for domain {}", settings_.domain));
  }
  std::string domain = manager_->token_info().domain_id;
  auto project = identity.FindProjectId(settings_.project, domain);
  auto role = project.ok() ? identity.FindRoleId(settings_.role)
                           : Result<std::string>(project.status());
  if (!role.ok()) {
    manager_.reset();
    return role.status();
  }
  domain_id_ = domain;
  project_id_ = *project;
  role_id_ = *role;
  return OkStatus();
}

Result<std::string> Readers::Resolve(const std::string& id_or_name) {
  std::lock_guard lock(mutex_);
  SIQ_RETURN_IF_ERROR(EnsureIds());
  keystone::Identity identity(*manager_);
  auto id = LooksLikeId(id_or_name)
                ? identity.CheckUserInDomain(id_or_name, domain_id_)
                : identity.FindUserId(id_or_name, domain_id_);
  if (!id.ok() && id.status().code() == StatusCode::kNotFound) {
    return Status(StatusCode::kInvalidArgument,
                  fmt::format("reader user '{}' not found in domain {}",
                              id_or_name, settings_.domain));
  }
  return id;
}

Result<NewReader> Readers::Create(std::string_view vps) {
  std::lock_guard lock(mutex_);
  SIQ_RETURN_IF_ERROR(EnsureIds());
  keystone::Identity identity(*manager_);
  NewReader reader;
  reader.user_name = UserName(vps);

  auto stale = identity.FindUserId(reader.user_name, domain_id_);
  if (stale.ok()) {
    log::Get("provision")
        ->info("deleting reader {} ({}) left by an interrupted run",
               reader.user_name, *stale);
    SIQ_RETURN_IF_ERROR(identity.DeleteUser(*stale));
  } else if (stale.status().code() != StatusCode::kNotFound) {
    return stale.status();
  }

  SecretBytes password = keystone::RandomPassword();
  auto user_id =
      identity.CreateUser(reader.user_name, domain_id_, project_id_, password);
  if (!user_id.ok()) {
    return user_id.status();
  }
  reader.user_id = *user_id;
  SIQ_RETURN_IF_ERROR(
      identity.GrantProjectRole(project_id_, reader.user_id, role_id_));

  // The reader makes its own application credential: Keystone lets only a
  // user create credentials for itself.
  keystone::AuthConfig own;
  own.auth_url = caller_.auth_url;
  own.user_id = reader.user_id;
  own.password = std::move(password);
  own.project_id = project_id_;
  own.cacert = caller_.cacert;
  own.region_name = caller_.region_name;
  own.interface = caller_.interface;
  keystone::Session session(transport_, std::move(own));
  keystone::Identity self(session);
  auto credential = CreateCredential(self, vps);
  if (!credential.ok()) {
    return credential.status();
  }
  reader.credential = std::move(*credential);
  return reader;
}

Status Readers::Delete(const std::string& user_id) {
  std::lock_guard lock(mutex_);
  SIQ_RETURN_IF_ERROR(EnsureIds());
  keystone::Identity identity(*manager_);
  Status status = identity.DeleteUser(user_id);
  return status.code() == StatusCode::kNotFound ? OkStatus() : status;
}

SecretBytes Readers::CloudsYaml(const NewReader& reader) const {
  SecretBytes out;
  out.Append(
      fmt::format("clouds:\n"
                  "  siq-reader:\n"
                  "    auth_type: v3applicationcredential\n"
                  "    region_name: \"{}\"\n"
                  "    interface: \"{}\"\n"
                  "    auth:\n"
                  "      auth_url: \"{}\"\n"
                  "      application_credential_id: \"{}\"\n"
                  "      application_credential_secret: \"",
                  caller_.region_name, caller_.interface, caller_.auth_url,
                  reader.credential.id));
  // Keystone's secrets are URL-safe base64: nothing to escape in YAML.
  out.Append(reader.credential.secret.Reveal());
  out.Append("\"\n");
  return out;
}

Status WriteToFd(int fd, const SecretBytes& bytes) {
  std::string_view rest = bytes.Reveal();
  while (!rest.empty()) {
    ssize_t written = write(fd, rest.data(), rest.size());
    if (written < 0 && errno == EINTR) {
      continue;
    }
    if (written <= 0) {
      int error = errno;
      close(fd);
      return Status(StatusCode::kIoError,
                    fmt::format("writing to file descriptor {}: {}", fd,
                                std::strerror(error)));
    }
    rest.remove_prefix(static_cast<size_t>(written));
  }
  if (close(fd) != 0) {
    return Status(StatusCode::kIoError,
                  fmt::format("closing file descriptor {}: {}", fd,
                              std::strerror(errno)));
  }
  return OkStatus();
}

}  // namespace siq::provision
