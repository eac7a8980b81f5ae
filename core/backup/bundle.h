// The backup bundle: what `siq backup` seals and `siq recover` reads. It
// holds the deployment records, the catalog of secret kinds, the policy
// files, and for every secret and container ref of the records what
// Barbican said about it while the backup was made (metadata and read ACL,
// or that it is missing) -- never a payload: no call that returns one is
// made while collecting.
//
// The JSON form (BundleToJson) is the plain text inside the CMS envelope:
//
//   {"format": "siq-backup", "version": 1, "created_at": ...,
//    "records": {"path": ..., "schema_version": 1, "deployments": {...}},
//    "catalog": [...], "policies": {"dir": ..., "files": {name: text}},
//    "barbican": {"secrets": [...], "containers": [...]}}
//
// Bundles are plain values, safe to copy and share between threads.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/barbican/client.h"
#include "core/base/clock.h"
#include "core/base/status.h"
#include "core/config/config.h"
#include "core/records/deployment.h"
#include "core/records/store.h"

namespace siq::backup {

inline constexpr int kBundleVersion = 1;

// What a check of one ref against Barbican found.
inline constexpr std::string_view kPresent = "present";
inline constexpr std::string_view kMissing = "missing";      // 404
inline constexpr std::string_view kUnchecked = "unchecked";  // other error

struct SecretCheck {
  std::string vps;
  std::string kind;
  std::string slot;  // current, pending or previous
  std::string ref;
  std::string state;  // kPresent, kMissing or kUnchecked
  std::string error;  // why it is unchecked
  // Barbican's metadata when present.
  std::string name;
  std::string secret_type;
  std::string algorithm;
  int bit_length = 0;
  std::string created;
  std::optional<barbican::Acl> acl;
};

struct ContainerCheck {
  std::string vps;
  std::string ref;
  std::string state;
  std::string error;
  std::string name;
  std::vector<barbican::ContainerEntry> entries;
  std::optional<barbican::Acl> acl;
};

struct Bundle {
  std::string created_at;  // ISO 8601
  std::string records_path;
  std::vector<records::Deployment> deployments;
  std::vector<config::SecretKind> catalog;
  std::string policies_dir;
  std::map<std::string, std::string> policy_files;  // file name -> text
  std::vector<SecretCheck> secrets;
  std::vector<ContainerCheck> containers;

  // The record of `vps`, if the bundle has one.
  const records::Deployment* Find(const records::VpsId& vps) const;
  // How many refs could not be checked.
  size_t Unchecked() const;
};

nlohmann::json BundleToJson(const Bundle& bundle);

// Reads the plain text of a bundle; `name` (its file) begins every error.
// kCorrupt naming the field when the text is not a bundle of this version.
[[nodiscard]] Result<Bundle> BundleFromText(std::string_view text,
                                            std::string_view name);

// Collects a bundle: every record of `store`, the catalog of `config`, the
// *.yaml files of its policies directory (none when it does not exist),
// and a check of each ref against Barbican (GET of the secret's or
// container's metadata and ACL; network). A ref Barbican answers 404 for is
// kMissing, one it fails to answer kUnchecked with the reason; neither
// stops the collection. Fails when the records or policies cannot be read.
[[nodiscard]] Result<Bundle> Collect(records::RecordStore& store,
                                     const std::string& records_path,
                                     const config::Config& config,
                                     barbican::Client& barbican,
                                     Clock& clock);

}  // namespace siq::backup
