#include "core/audit/checks.h"

#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <system_error>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>  // before cms.h, which declares its PEM readers
// clang-format off
#include <openssl/cms.h>
// clang-format on

#include "core/base/iso_time.h"
#include "core/base/log.h"

namespace siq::audit {
namespace {

namespace fs = std::filesystem;

// ---- check 1 ---------------------------------------------------------

bool IsTemplateName(std::string_view name) {
  for (std::string_view suffix :
       {".example", ".sample", ".template", ".dist", ".tmpl"}) {
    if (name.ends_with(suffix)) {
      return true;
    }
  }
  return false;
}

std::string_view TypeName(fs::file_type type) {
  switch (type) {
    case fs::file_type::regular:
      return "file";
    case fs::file_type::fifo:
      return "named pipe";
    case fs::file_type::symlink:
      return "symbolic link";
    case fs::file_type::socket:
      return "socket";
    case fs::file_type::character:
      return "character device";
    case fs::file_type::block:
      return "block device";
    default:
      return "special file";
  }
}

struct ScanCounts {
  uint64_t entries = 0;
  uint64_t found = 0;
  uint64_t templates = 0;
  std::vector<std::string> errors;
};

// One entry with a dotenv-like name: an item, unless it is a directory
// (a virtualenv called .env is common) or a template.
void JudgeDotenv(const fs::path& path,
                 fs::file_type type,
                 CheckResult& check,
                 ScanCounts& counts) {
  std::string name = path.filename().string();
  if (type == fs::file_type::directory) {
    return;
  }
  if (IsTemplateName(name)) {
    ++counts.templates;
    return;
  }
  ++counts.found;
  std::string detail;
  std::error_code error;
  if (type == fs::file_type::regular) {
    auto size = fs::file_size(path, error);
    detail = fmt::format("a dotenv file ({} bytes)", error ? 0 : size);
  } else if (type == fs::file_type::symlink) {
    detail = fmt::format("a symbolic link called {} (to {}), not followed",
                         name, fs::read_symlink(path, error).string());
  } else {
    // Never opened: opening a named pipe would block, or feed on secrets.
    detail = fmt::format("a {} called {}", TypeName(type), name);
  }
  check.items.push_back(Item{.severity = CheckStatus::kFail,
                             .subject = path.string(),
                             .detail = detail,
                             .fields = {{"type", TypeName(type)}}});
}

void ScanPath(const std::string& root, CheckResult& check, ScanCounts& counts) {
  std::error_code error;
  fs::file_status top = fs::symlink_status(root, error);
  if (error || !fs::exists(top)) {
    counts.errors.push_back(fmt::format("{}: does not exist", root));
    return;
  }
  if (!fs::is_directory(top)) {
    ++counts.entries;
    if (IsDotenvName(fs::path(root).filename().string())) {
      JudgeDotenv(root, top.type(), check, counts);
    }
    return;
  }
  fs::recursive_directory_iterator walk(
      root, fs::directory_options::skip_permission_denied, error);
  for (; !error && walk != fs::recursive_directory_iterator();
       walk.increment(error)) {
    ++counts.entries;
    const fs::directory_entry& entry = *walk;
    if (IsDotenvName(entry.path().filename().string())) {
      std::error_code type_error;
      JudgeDotenv(entry.path(), entry.symlink_status(type_error).type(), check,
                  counts);
    }
  }
  if (error) {
    counts.errors.push_back(fmt::format("{}: {}", root, error.message()));
  }
}

void Probe(const records::Deployment& deployment,
           const std::string& endpoint,
           http::Transport& transport,
           CheckResult& check) {
  std::string url = endpoint;
  while (!url.empty() && url.back() == '/') {
    url.pop_back();
  }
  url += "/.env";
  // The answer may be a real .env: it lands in wiped memory and is dropped.
  http::Request request{.url = url,
                        .sensitive_body = http::SensitiveBody::kYes};
  auto response = transport.Send(request);
  nlohmann::json fields = {{"vps", deployment.vps.str()}, {"url", url}};
  if (!response.ok()) {
    check.items.push_back(Item{
        .severity = CheckStatus::kWarn,
        .subject = url,
        .detail =
            fmt::format("could not probe: {}", response.status().message()),
        .fields = fields});
    return;
  }
  fields["http_status"] = response->status;
  if (response->IsSuccess()) {
    check.items.push_back(
        Item{.severity = CheckStatus::kFail,
             .subject = url,
             .detail = fmt::format("{} serves /.env (HTTP {}, {} bytes)",
                                   deployment.vps.str(), response->status,
                                   response->secret_body.size()),
             .fields = fields});
  } else if (response->status >= 300 && response->status < 400) {
    check.items.push_back(
        Item{.severity = CheckStatus::kWarn,
             .subject = url,
             .detail = fmt::format("answers HTTP {} (a redirect, not "
                                   "followed)",
                                   response->status),
             .fields = fields});
  }
}

// ---- check 4 ---------------------------------------------------------

bool OpenToOthers(const std::string& path, mode_t& mode) {
  struct stat info {};
  if (stat(path.c_str(), &info) != 0) {
    return false;
  }
  mode = info.st_mode & 07777;
  return (mode & 077) != 0;
}

// The CMS content type of the file (DER, PEM or S/MIME, the form siq
// backup writes), or NID_undef.
int CmsType(const std::string& path) {
  using BioPtr = std::unique_ptr<BIO, decltype(&BIO_free)>;
  using CmsPtr =
      std::unique_ptr<CMS_ContentInfo, decltype(&CMS_ContentInfo_free)>;
  BioPtr bio(BIO_new_file(path.c_str(), "rb"), BIO_free);
  if (!bio) {
    ERR_clear_error();
    return NID_undef;
  }
  CmsPtr cms(d2i_CMS_bio(bio.get(), nullptr), CMS_ContentInfo_free);
  if (!cms) {
    (void)BIO_reset(bio.get());
    cms.reset(PEM_read_bio_CMS(bio.get(), nullptr, nullptr, nullptr));
  }
  if (!cms) {
    (void)BIO_reset(bio.get());
    cms.reset(SMIME_read_CMS(bio.get(), nullptr));
  }
  ERR_clear_error();
  return cms ? OBJ_obj2nid(CMS_get0_type(cms.get())) : NID_undef;
}

bool IsEncryptedCms(int nid) {
  return nid == NID_pkcs7_enveloped || nid == NID_pkcs7_encrypted ||
         nid == NID_id_smime_ct_authEnvelopedData;
}

// True when the first megabytes of the file hold secret refs or records
// in the clear.
bool HoldsPlainRecords(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::string head(size_t{16} << 20, '\0');
  in.read(head.data(), static_cast<std::streamsize>(head.size()));
  head.resize(static_cast<size_t>(in.gcount()));
  return head.find("/v1/secrets/") != std::string::npos ||
         head.find("\"deployments\"") != std::string::npos;
}

void CheckBackupFile(const fs::path& path,
                     CheckResult& check,
                     std::map<std::string, uint64_t>& counts) {
  std::string name = path.string();
  mode_t mode = 0;
  if (OpenToOthers(name, mode)) {
    check.items.push_back(Item{
        .severity = CheckStatus::kFail,
        .subject = name,
        .detail = fmt::format("backup file is mode {:04o}, not 0600", mode),
        .fields = {{"mode", fmt::format("{:04o}", mode)}}});
  }
  if (IsEncryptedCms(CmsType(name))) {
    ++counts["encrypted_bundles"];
  } else if (HoldsPlainRecords(name)) {
    ++counts["plaintext_backups"];
    check.items.push_back(Item{
        .severity = CheckStatus::kFail,
        .subject = name,
        .detail = "backup holds secret refs or records in the clear (not an "
                  "encrypted CMS bundle)"});
  } else {
    ++counts["other_files"];
  }
}

Result<nlohmann::json> SecretStores(keystone::Session& session) {
  auto endpoint = session.EndpointFor("key-manager");
  if (!endpoint.ok()) {
    return endpoint.status();
  }
  std::string url = *endpoint;
  while (!url.empty() && url.back() == '/') {
    url.pop_back();
  }
  auto response = session.Send({.url = url + "/v1/secret-stores",
                                .headers = {{"Accept", "application/json"}}});
  if (!response.ok()) {
    return response.status();
  }
  if (response->status == 404) {
    return nlohmann::json{
        {"listed", false},
        {"note", fmt::format("Barbican does not list its secret stores: {}",
                             http::ServerMessage(*response))}};
  }
  if (!response->IsSuccess()) {
    return http::ErrorFromResponse("listing Barbican's secret stores",
                                   *response);
  }
  nlohmann::json stores = nlohmann::json::array();
  auto doc = nlohmann::json::parse(response->body, nullptr, false);
  if (doc.is_object() && doc.contains("secret_stores")) {
    for (const auto& store : doc["secret_stores"]) {
      stores.push_back(
          {{"name", store.value("name", "")},
           {"secret_store_plugin", store.value("secret_store_plugin", "")},
           {"crypto_plugin", store.value("crypto_plugin", "")},
           {"global_default", store.value("global_default", false)}});
    }
  }
  return nlohmann::json{{"listed", true}, {"stores", stores}};
}

// ---- checks 5 and 6 --------------------------------------------------

// Every secret ref a record names, with the kind and version it is.
struct RecordedSecret {
  const records::Deployment* deployment;
  std::string kind;
  std::string version;  // current, pending or previous
  std::string ref;
};

std::vector<RecordedSecret> RecordedSecrets(
    const std::vector<records::Deployment>& fleet) {
  std::vector<RecordedSecret> all;
  for (const records::Deployment& deployment : fleet) {
    for (const auto& [kind, slot] : deployment.secrets) {
      for (auto [name, version] : {std::pair{"current", &slot.current},
                                   std::pair{"pending", &slot.pending},
                                   std::pair{"previous", &slot.previous}}) {
        if (version->has_value() && !(*version)->ref.empty()) {
          all.push_back({&deployment, kind, name, (*version)->ref});
        }
      }
    }
  }
  return all;
}

std::string AclText(const barbican::Acl& acl) {
  return fmt::format("project access {}, read users [{}]",
                     acl.project_access ? "on" : "off",
                     fmt::join(acl.read_users, ", "));
}

void JudgeAcl(const barbican::Acl& acl,
              const records::Deployment& deployment,
              const std::string& subject,
              const std::string& ref,
              CheckResult& check) {
  barbican::Acl expected{.read_users = {deployment.reader_user_id},
                         .project_access = false};
  if (acl == expected) {
    return;
  }
  check.items.push_back(Item{
      .severity = CheckStatus::kFail,
      .subject = subject,
      .detail = fmt::format("{}; expected project access off and only {}'s "
                            "reader {}",
                            AclText(acl), deployment.vps.str(),
                            deployment.reader_user_id),
      .fields = {{"vps", deployment.vps.str()},
                 {"ref", ref},
                 {"project_access", acl.project_access},
                 {"read_users", acl.read_users}}});
}

}  // namespace

bool IsDotenvName(std::string_view name) {
  return name == ".env" || name.starts_with(".env.") ||
         (name.size() > 4 && name.ends_with(".env"));
}

CheckResult UsesBarbicanCheck(const std::vector<records::Deployment>& fleet,
                              const config::AuditSettings& settings,
                              const std::vector<std::string>& scan_paths,
                              http::Transport& transport) {
  CheckResult check = NewCheck(kUsesBarbican);
  int probed = 0;
  int production = 0;
  for (const records::Deployment& deployment : fleet) {
    if (deployment.environment != "production") {
      continue;
    }
    ++production;
    auto endpoint = settings.endpoints.find(deployment.vps.str());
    if (endpoint != settings.endpoints.end()) {
      ++probed;
      Probe(deployment, endpoint->second, transport, check);
    }
  }

  ScanCounts counts;
  for (const std::string& path : scan_paths) {
    ScanPath(path, check, counts);
  }
  for (const std::string& error : counts.errors) {
    check.items.push_back(Item{
        .severity = CheckStatus::kWarn, .subject = "scan", .detail = error});
  }

  for (const Item& item : check.items) {
    Raise(check, item.severity);
  }
  check.evidence = {{"production_deployments", production},
                    {"endpoints_probed", probed},
                    {"scan_paths", scan_paths},
                    {"entries_scanned", counts.entries},
                    {"dotenv_found", counts.found},
                    {"templates_ignored", counts.templates}};
  check.summary = fmt::format(
      "{} of {} production deployments probed for /.env; {} entries scanned, "
      "{} dotenv files found",
      probed, production, counts.entries, counts.found);
  if (probed == 0 && scan_paths.empty()) {
    Raise(check, CheckStatus::kWarn);
    check.summary =
        "nothing to check: no production endpoint in the config's "
        "audit.endpoints and no --scan path";
  }
  return check;
}

CheckResult RotationCheck(const std::vector<records::Deployment>& fleet,
                          const std::vector<config::SecretKind>& kinds,
                          TimePoint now) {
  CheckResult check = NewCheck(kRotationConfigured);
  std::map<std::string, std::chrono::seconds> intervals;
  for (const config::SecretKind& kind : kinds) {
    intervals[kind.kind] = kind.rotate_every;
  }
  uint64_t secrets = 0;
  uint64_t unconfigured = 0;
  uint64_t overdue = 0;
  for (const records::Deployment& deployment : fleet) {
    for (const auto& [kind, slot] : deployment.secrets) {
      if (!slot.current) {
        continue;
      }
      ++secrets;
      std::string subject = fmt::format("{} {}", deployment.vps.str(), kind);
      nlohmann::json fields = {{"vps", deployment.vps.str()},
                               {"kind", kind},
                               {"ref", slot.current->ref}};
      auto interval = intervals.find(kind);
      if (interval == intervals.end() ||
          interval->second <= std::chrono::seconds(0)) {
        ++unconfigured;
        check.items.push_back(Item{
            .severity = CheckStatus::kFail,
            .subject = subject,
            .detail = fmt::format("kind {} has no rotation interval in the "
                                  "catalog",
                                  kind),
            .fields = fields});
        continue;
      }
      if (slot.due_at < now) {
        ++overdue;
        auto days =
            std::chrono::duration_cast<std::chrono::days>(now - slot.due_at)
                .count();
        fields["due_at"] = FormatIso8601(slot.due_at);
        fields["days_overdue"] = days;
        check.items.push_back(
            Item{.severity = CheckStatus::kWarn,
                 .subject = subject,
                 .detail = fmt::format("rotation overdue by {} days (due {})",
                                       days, FormatIso8601(slot.due_at)),
                 .fields = fields});
      }
    }
  }
  for (const Item& item : check.items) {
    Raise(check, item.severity);
  }
  check.evidence = {{"secrets", secrets},
                    {"without_interval", unconfigured},
                    {"overdue", overdue}};
  check.summary =
      fmt::format("{} secrets: {} without a rotation interval, {} overdue",
                  secrets, unconfigured, overdue);
  return check;
}

Result<CheckResult> EncryptionCheck(
    keystone::Session& session,
    const std::string& records_path,
    const std::vector<std::string>& backup_dirs) {
  CheckResult check = NewCheck(kEncryptionAtRest);
  auto stores = SecretStores(session);
  if (!stores.ok()) {
    return stores.status();
  }

  mode_t mode = 0;
  std::error_code error;
  bool records_exist = fs::exists(records_path, error);
  if (OpenToOthers(records_path, mode)) {
    check.items.push_back(Item{
        .severity = CheckStatus::kFail,
        .subject = records_path,
        .detail = fmt::format("record file is mode {:04o}, not 0600", mode),
        .fields = {{"mode", fmt::format("{:04o}", mode)}}});
  }

  std::map<std::string, uint64_t> counts = {
      {"encrypted_bundles", 0}, {"plaintext_backups", 0}, {"other_files", 0}};
  for (const std::string& dir : backup_dirs) {
    fs::recursive_directory_iterator walk(
        dir, fs::directory_options::skip_permission_denied, error);
    for (; !error && walk != fs::recursive_directory_iterator();
         walk.increment(error)) {
      std::error_code type_error;
      if (walk->is_regular_file(type_error)) {
        CheckBackupFile(walk->path(), check, counts);
      }
    }
    if (error) {
      check.items.push_back(
          Item{.severity = CheckStatus::kWarn,
               .subject = dir,
               .detail = fmt::format("backup directory: {}", error.message())});
      error.clear();
    }
  }

  for (const Item& item : check.items) {
    Raise(check, item.severity);
  }
  check.evidence = {{"secret_stores", *stores},
                    {"records", records_path},
                    {"records_exist", records_exist},
                    {"backup_dirs", backup_dirs},
                    {"backup_files", counts}};
  check.summary = fmt::format(
      "record file {}; {} encrypted backup bundles, {} in the clear; secret "
      "stores {}",
      check.items.empty() ? "private" : "checked", counts["encrypted_bundles"],
      counts["plaintext_backups"],
      (*stores)["listed"].get<bool>() ? "listed" : "not listed by the API");
  return check;
}

Result<CheckResult> AclCheck(const std::vector<records::Deployment>& fleet,
                             barbican::Client& barbican) {
  CheckResult check = NewCheck(kAclLeastPrivilege);
  uint64_t checked = 0;
  uint64_t gone = 0;
  for (const RecordedSecret& secret : RecordedSecrets(fleet)) {
    if (secret.deployment->state != records::kStateComplete) {
      continue;
    }
    auto acl = barbican.GetSecretAcl(barbican::SecretRef(secret.ref));
    if (!acl.ok() && acl.status().code() == StatusCode::kNotFound) {
      ++gone;
      continue;
    }
    if (!acl.ok()) {
      return acl.status();
    }
    ++checked;
    JudgeAcl(*acl, *secret.deployment,
             fmt::format("{} {} ({})", secret.deployment->vps.str(),
                         secret.kind, secret.version),
             secret.ref, check);
  }
  for (const records::Deployment& deployment : fleet) {
    if (deployment.state != records::kStateComplete ||
        deployment.container_ref.empty()) {
      continue;
    }
    barbican::ContainerRef ref(deployment.container_ref);
    auto acl = barbican.GetContainerAcl(ref);
    if (!acl.ok() && acl.status().code() == StatusCode::kNotFound) {
      ++gone;
      continue;
    }
    if (!acl.ok()) {
      return acl.status();
    }
    ++checked;
    JudgeAcl(*acl, deployment,
             fmt::format("{} container", deployment.vps.str()),
             deployment.container_ref, check);
  }
  for (const Item& item : check.items) {
    Raise(check, item.severity);
  }
  check.evidence = {{"acls_checked", checked},
                    {"not_in_barbican", gone},
                    {"too_open", check.items.size()}};
  check.summary = fmt::format(
      "{} ACLs checked (secrets and containers): {} not private to the VPS's "
      "reader",
      checked, check.items.size());
  return check;
}

Result<CheckResult> RecordsMatchCheck(
    const std::vector<records::Deployment>& fleet,
    barbican::Client& barbican) {
  CheckResult check = NewCheck(kRecordsMatchBarbican);
  auto secrets = barbican.ListSecrets({});
  if (!secrets.ok()) {
    return secrets.status();
  }
  auto containers = barbican.ListContainers("");
  if (!containers.ok()) {
    return containers.status();
  }

  std::map<std::string, const RecordedSecret*> recorded;
  std::vector<RecordedSecret> all = RecordedSecrets(fleet);
  for (const RecordedSecret& secret : all) {
    recorded[std::string(barbican::SecretRef(secret.ref).id())] = &secret;
  }
  std::set<std::string> recorded_containers;
  for (const records::Deployment& deployment : fleet) {
    if (!deployment.container_ref.empty()) {
      recorded_containers.insert(
          std::string(barbican::ContainerRef(deployment.container_ref).id()));
    }
  }

  uint64_t orphans = 0;
  std::set<std::string> listed;
  for (const barbican::SecretMeta& meta : *secrets) {
    std::string id(meta.ref.id());
    listed.insert(id);
    if (recorded.count(id) == 0) {
      ++orphans;
      check.items.push_back(Item{
          .severity = CheckStatus::kFail,
          .subject = fmt::format("secret {}", meta.name),
          .detail = fmt::format("orphan: in Barbican, in no record ({}, "
                                "created {} by {})",
                                meta.ref.url(), meta.created, meta.creator_id),
          .fields = {{"ref", meta.ref.url()},
                     {"name", meta.name},
                     {"created", meta.created},
                     {"creator_id", meta.creator_id}}});
    }
  }
  std::set<std::string> listed_containers;
  for (const barbican::Container& container : *containers) {
    std::string id(container.ref.id());
    listed_containers.insert(id);
    if (recorded_containers.count(id) == 0) {
      ++orphans;
      check.items.push_back(Item{
          .severity = CheckStatus::kFail,
          .subject = fmt::format("container {}", container.name),
          .detail = fmt::format("orphan: in Barbican, in no record ({})",
                                container.ref.url()),
          .fields = {{"ref", container.ref.url()}, {"name", container.name}}});
    }
  }

  uint64_t dangling = 0;
  for (const auto& [id, secret] : recorded) {
    if (listed.count(id) > 0) {
      continue;
    }
    // Not listed: gone, or only hidden from the list (expired, another
    // project). Ask for it once to be sure.
    auto meta = barbican.GetSecret(barbican::SecretRef(secret->ref));
    if (meta.ok()) {
      continue;
    }
    if (meta.status().code() != StatusCode::kNotFound) {
      return meta.status();
    }
    ++dangling;
    check.items.push_back(
        Item{.severity = CheckStatus::kFail,
             .subject = fmt::format("{} {} ({})", secret->deployment->vps.str(),
                                    secret->kind, secret->version),
             .detail = fmt::format("dangling: recorded ref {} is gone from "
                                   "Barbican",
                                   secret->ref),
             .fields = {{"vps", secret->deployment->vps.str()},
                        {"ref", secret->ref}}});
  }
  for (const records::Deployment& deployment : fleet) {
    if (deployment.container_ref.empty() ||
        listed_containers.count(std::string(
            barbican::ContainerRef(deployment.container_ref).id())) > 0) {
      continue;
    }
    ++dangling;
    check.items.push_back(Item{
        .severity = CheckStatus::kFail,
        .subject = fmt::format("{} container", deployment.vps.str()),
        .detail = fmt::format("dangling: recorded container {} is gone from "
                              "Barbican",
                              deployment.container_ref),
        .fields = {{"vps", deployment.vps.str()},
                   {"ref", deployment.container_ref}}});
  }

  for (const Item& item : check.items) {
    Raise(check, item.severity);
  }
  check.evidence = {{"secrets_in_barbican", secrets->size()},
                    {"containers_in_barbican", containers->size()},
                    {"secrets_recorded", recorded.size()},
                    {"containers_recorded", recorded_containers.size()},
                    {"orphans", orphans},
                    {"dangling", dangling}};
  check.summary = fmt::format(
      "{} secrets and {} containers in Barbican, {} and {} recorded: {} "
      "orphans, {} dangling",
      secrets->size(), containers->size(), recorded.size(),
      recorded_containers.size(), orphans, dangling);
  return check;
}

}  // namespace siq::audit
