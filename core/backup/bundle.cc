#include "core/backup/bundle.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <system_error>
#include <utility>

#include <fmt/format.h>

#include "core/base/iso_time.h"
#include "core/base/log.h"

namespace siq::backup {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

std::shared_ptr<spdlog::logger> Logger() {
  static auto logger = log::Get("backup");
  return logger;
}

json AclJson(const std::optional<barbican::Acl>& acl) {
  if (!acl) {
    return nullptr;
  }
  return {{"read_users", acl->read_users},
          {"project_access", acl->project_access}};
}

std::optional<barbican::Acl> AclFrom(const json& doc) {
  if (!doc.is_object()) {
    return std::nullopt;
  }
  return barbican::Acl{
      .read_users = doc.value("read_users", std::vector<std::string>{}),
      .project_access = doc.value("project_access", true)};
}

json KindJson(const config::SecretKind& kind) {
  return {{"kind", kind.kind},
          {"bit_length", kind.bit_length},
          {"algorithm", kind.algorithm},
          {"mode", kind.mode},
          {"rotate_every", FormatDuration(kind.rotate_every)},
          {"notify_before", FormatDuration(kind.notify_before)},
          {"notify", kind.notify}};
}

json SecretCheckJson(const SecretCheck& check) {
  return {{"vps", check.vps},
          {"kind", check.kind},
          {"slot", check.slot},
          {"ref", check.ref},
          {"state", check.state},
          {"error", check.error},
          {"name", check.name},
          {"secret_type", check.secret_type},
          {"algorithm", check.algorithm},
          {"bit_length", check.bit_length},
          {"created", check.created},
          {"acl", AclJson(check.acl)}};
}

json ContainerCheckJson(const ContainerCheck& check) {
  json entries = json::array();
  for (const barbican::ContainerEntry& entry : check.entries) {
    entries.push_back({{"name", entry.name}, {"secret_ref", entry.ref.url()}});
  }
  return {{"vps", check.vps},         {"ref", check.ref},
          {"state", check.state},     {"error", check.error},
          {"name", check.name},       {"entries", std::move(entries)},
          {"acl", AclJson(check.acl)}};
}

Status Corrupt(std::string_view name, std::string_view what) {
  return Status(StatusCode::kCorrupt,
                fmt::format("{}: not a readable siq bundle: {}", name, what));
}

Result<std::map<std::string, std::string>> ReadPolicyFiles(
    const std::string& dir) {
  std::map<std::string, std::string> files;
  std::error_code error;
  if (!fs::is_directory(dir, error)) {
    Logger()->info("policies directory {} does not exist: none backed up", dir);
    return files;
  }
  for (const auto& item : fs::directory_iterator(dir, error)) {
    std::string name = item.path().filename().string();
    if (!item.is_regular_file() ||
        (!name.ends_with(".yaml") && !name.ends_with(".yml"))) {
      continue;
    }
    std::ifstream in(item.path(), std::ios::binary);
    if (!in) {
      return Status(StatusCode::kIoError,
                    fmt::format("reading {}", item.path().string()));
    }
    std::ostringstream text;
    text << in.rdbuf();
    files[name] = text.str();
  }
  if (error) {
    return Status(StatusCode::kIoError,
                  fmt::format("listing {}: {}", dir, error.message()));
  }
  return files;
}

// Metadata and ACL reads only: neither answer carries a payload.
SecretCheck CheckSecret(barbican::Client& barbican,
                        const records::Deployment& deployment,
                        const records::SecretSlot& slot,
                        std::string_view which,
                        const std::string& ref) {
  SecretCheck check{.vps = deployment.vps.str(),
                    .kind = slot.kind,
                    .slot = std::string(which),
                    .ref = ref};
  auto meta = barbican.GetSecret(barbican::SecretRef(ref));
  if (!meta.ok()) {
    bool gone = meta.status().code() == StatusCode::kNotFound;
    check.state = gone ? kMissing : kUnchecked;
    check.error = gone ? "" : meta.status().message();
    return check;
  }
  check.name = meta->name;
  check.secret_type = meta->secret_type;
  check.algorithm = meta->algorithm;
  check.bit_length = meta->bit_length;
  check.created = meta->created;
  auto acl = barbican.GetSecretAcl(barbican::SecretRef(ref));
  if (!acl.ok()) {
    check.state = kUnchecked;
    check.error = acl.status().message();
    return check;
  }
  check.acl = *acl;
  check.state = kPresent;
  return check;
}

ContainerCheck CheckContainer(barbican::Client& barbican,
                              const records::Deployment& deployment) {
  ContainerCheck check{.vps = deployment.vps.str(),
                       .ref = deployment.container_ref};
  barbican::ContainerRef ref(deployment.container_ref);
  auto container = barbican.GetContainer(ref);
  if (!container.ok()) {
    bool gone = container.status().code() == StatusCode::kNotFound;
    check.state = gone ? kMissing : kUnchecked;
    check.error = gone ? "" : container.status().message();
    return check;
  }
  check.name = container->name;
  check.entries = container->secrets;
  auto acl = barbican.GetContainerAcl(ref);
  if (!acl.ok()) {
    check.state = kUnchecked;
    check.error = acl.status().message();
    return check;
  }
  check.acl = *acl;
  check.state = kPresent;
  return check;
}

void CheckRefs(barbican::Client& barbican, Bundle& bundle) {
  for (const records::Deployment& deployment : bundle.deployments) {
    for (const auto& [kind, slot] : deployment.secrets) {
      std::pair<const char*, const std::optional<records::SecretVersion>*>
          versions[] = {{"current", &slot.current},
                        {"pending", &slot.pending},
                        {"previous", &slot.previous}};
      for (auto [which, version] : versions) {
        if (*version && !(*version)->ref.empty()) {
          bundle.secrets.push_back(
              CheckSecret(barbican, deployment, slot, which, (*version)->ref));
        }
      }
    }
    if (!deployment.container_ref.empty()) {
      bundle.containers.push_back(CheckContainer(barbican, deployment));
    }
  }
}

}  // namespace

const records::Deployment* Bundle::Find(const records::VpsId& vps) const {
  for (const records::Deployment& deployment : deployments) {
    if (deployment.vps == vps) {
      return &deployment;
    }
  }
  return nullptr;
}

size_t Bundle::Unchecked() const {
  auto unchecked = [](const auto& check) { return check.state == kUnchecked; };
  return static_cast<size_t>(
      std::count_if(secrets.begin(), secrets.end(), unchecked) +
      std::count_if(containers.begin(), containers.end(), unchecked));
}

json BundleToJson(const Bundle& bundle) {
  json deployments = json::object();
  for (const records::Deployment& deployment : bundle.deployments) {
    deployments[deployment.vps.str()] = records::ToJson(deployment);
  }
  json catalog = json::array();
  for (const config::SecretKind& kind : bundle.catalog) {
    catalog.push_back(KindJson(kind));
  }
  json secrets = json::array();
  for (const SecretCheck& check : bundle.secrets) {
    secrets.push_back(SecretCheckJson(check));
  }
  json containers = json::array();
  for (const ContainerCheck& check : bundle.containers) {
    containers.push_back(ContainerCheckJson(check));
  }
  return {{"format", "siq-backup"},
          {"version", kBundleVersion},
          {"created_at", bundle.created_at},
          {"records",
           {{"path", bundle.records_path},
            {"schema_version", records::kRecordSchemaVersion},
            {"deployments", std::move(deployments)}}},
          {"catalog", std::move(catalog)},
          {"policies",
           {{"dir", bundle.policies_dir}, {"files", bundle.policy_files}}},
          {"barbican",
           {{"secrets", std::move(secrets)},
            {"containers", std::move(containers)}}}};
}

Result<Bundle> BundleFromText(std::string_view text, std::string_view name) {
  json doc = json::parse(text, nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) {
    return Corrupt(name, "not a JSON object");
  }
  if (doc.value("format", "") != "siq-backup" ||
      doc.value("version", 0) != kBundleVersion) {
    return Corrupt(name, fmt::format("format: not a siq backup of version {}",
                                     kBundleVersion));
  }
  Bundle bundle;
  try {
    bundle.created_at = doc.at("created_at").get<std::string>();
    const json& records_doc = doc.at("records");
    bundle.records_path = records_doc.value("path", "");
    if (records_doc.value("schema_version", 0) !=
        records::kRecordSchemaVersion) {
      return Corrupt(name, "records.schema_version: not one this siq reads");
    }
    for (const auto& item : records_doc.at("deployments").items()) {
      auto deployment = records::DeploymentFromJson(
          item.value(), fmt::format("records.deployments.{}", item.key()));
      if (!deployment.ok()) {
        return Corrupt(name, deployment.status().message());
      }
      bundle.deployments.push_back(std::move(*deployment));
    }
    for (const json& kind : doc.at("catalog")) {
      config::SecretKind parsed;
      parsed.kind = kind.at("kind").get<std::string>();
      parsed.bit_length = kind.value("bit_length", 256);
      parsed.algorithm = kind.value("algorithm", "aes");
      parsed.mode = kind.value("mode", "cbc");
      auto every = ParseDuration(kind.value("rotate_every", ""));
      parsed.rotate_every = every.ok() ? *every : std::chrono::seconds(0);
      auto before = ParseDuration(kind.value("notify_before", ""));
      parsed.notify_before = before.ok() ? *before : std::chrono::seconds(0);
      parsed.notify = kind.value("notify", std::vector<std::string>{});
      bundle.catalog.push_back(std::move(parsed));
    }
    bundle.policies_dir = doc.at("policies").value("dir", "");
    bundle.policy_files = doc.at("policies")
                              .at("files")
                              .get<std::map<std::string, std::string>>();
    for (const json& check : doc.at("barbican").at("secrets")) {
      bundle.secrets.push_back(
          {.vps = check.at("vps").get<std::string>(),
           .kind = check.at("kind").get<std::string>(),
           .slot = check.at("slot").get<std::string>(),
           .ref = check.at("ref").get<std::string>(),
           .state = check.at("state").get<std::string>(),
           .error = check.value("error", ""),
           .name = check.value("name", ""),
           .secret_type = check.value("secret_type", ""),
           .algorithm = check.value("algorithm", ""),
           .bit_length = check.value("bit_length", 0),
           .created = check.value("created", ""),
           .acl = AclFrom(check.value("acl", json(nullptr)))});
    }
    for (const json& check : doc.at("barbican").at("containers")) {
      ContainerCheck parsed{.vps = check.at("vps").get<std::string>(),
                            .ref = check.at("ref").get<std::string>(),
                            .state = check.at("state").get<std::string>(),
                            .error = check.value("error", ""),
                            .name = check.value("name", ""),
                            .acl = AclFrom(check.value("acl", json(nullptr)))};
      for (const json& entry : check.at("entries")) {
        parsed.entries.push_back(
            {entry.at("name").get<std::string>(),
             barbican::SecretRef(entry.at("secret_ref").get<std::string>())});
      }
      bundle.containers.push_back(std::move(parsed));
    }
  } catch (const json::exception& e) {
    std::string_view what = e.what();
    return Corrupt(name, what.substr(what.find(']') + 2));
  }
  return bundle;
}

Result<Bundle> Collect(records::RecordStore& store,
                       const std::string& records_path,
                       const config::Config& config,
                       barbican::Client& barbican,
                       Clock& clock) {
  Bundle bundle{.created_at = FormatIso8601(clock.Now()),
                .records_path = records_path,
                .catalog = config.secret_kinds,
                .policies_dir = config.policies};
  auto deployments = store.LoadAll();
  if (!deployments.ok()) {
    return deployments.status();
  }
  bundle.deployments = std::move(*deployments);
  auto policies = ReadPolicyFiles(config.policies);
  if (!policies.ok()) {
    return policies.status();
  }
  bundle.policy_files = std::move(*policies);

  CheckRefs(barbican, bundle);
  Logger()->info(
      "collected {} records, {} secret refs, {} containers, {} "
      "policy files; {} refs unchecked",
      bundle.deployments.size(), bundle.secrets.size(),
      bundle.containers.size(), bundle.policy_files.size(), bundle.Unchecked());
  return bundle;
}

}  // namespace siq::backup
