// The deployment record: what siq keeps about one customer VPS. Where it runs,
// its Barbican container and reader identity, and per secret kind the refs of
// its current, pending and previous secrets with where a rotation stands.
//
// References and metadata only: a record never holds a secret value, so it
// may be printed, stored in the record file and backed up as it is.
//
// Records are plain values, safe to copy and to pass between threads. The
// RecordStore (core/records/store.h) owns the stored copy; the JSON form
// below is the file format of that store, so a change here is a change of
// its schema_version.
#pragma once

#include <compare>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include <nlohmann/json_fwd.hpp>

#include "core/base/clock.h"
#include "core/base/status.h"

namespace siq::records {

// The id of a customer VPS, as CI names it: "vps-prod-001". Ids become parts
// of Barbican secret names and of LIKE search patterns, so they hold only
// ASCII letters, digits and '-', 1 to 64 of them. A VpsId is always valid.
class VpsId {
 public:
  static constexpr size_t kMaxLength = 64;

  // Fails with kInvalidArgument saying which rule `text` breaks, quoting at
  // most its first 64 characters.
  [[nodiscard]] static Result<VpsId> Parse(std::string_view text);

  const std::string& str() const { return id_; }

  friend bool operator==(const VpsId&, const VpsId&) = default;
  friend std::strong_ordering operator<=>(const VpsId& a, const VpsId& b) {
    return a.id_ <=> b.id_;
  }

 private:
  explicit VpsId(std::string id) : id_(std::move(id)) {}

  std::string id_;
};

// One secret of a kind, from the key order that creates it.
struct SecretVersion {
  std::string ref;  // the secret ref; empty while the order is outstanding
  std::string order_ref;
  TimePoint created_at;

  bool operator==(const SecretVersion&) const = default;
};

// One secret kind of a deployment and its rotation.
struct SecretSlot {
  std::string kind;  // "JWT_SECRET"
  std::string name;  // the Barbican secret name, "<vps>_<kind>"
  std::optional<SecretVersion> current;
  std::optional<SecretVersion> pending;   // created by a rotation, not promoted
  std::optional<SecretVersion> previous;  // kept through the grace period
  TimePoint due_at;                       // when the next rotation is due

  // Rotation bookkeeping. An empty rotation_state means no rotation runs.
  std::string rotation_state;
  std::optional<TimePoint> rotation_started_at;
  // When rotation_state last changed: confirmation timeouts, waits and the
  // grace period count from here. Absent in records written before rotation
  // existed.
  std::optional<TimePoint> rotation_state_since;
  int rotation_failures = 0;
  // Not empty: the rotation failed with this error and waits for
  // `siq rotate --resume` or `--abort`.
  std::string last_error;
  // The due_at a notice was already sent for: one notice per rotation.
  std::optional<TimePoint> notice_sent_for_due;

  bool operator==(const SecretSlot&) const = default;
};

// Deployment::state while provisioning has not finished, and once it has.
inline constexpr std::string_view kStateProvisioning = "provisioning";
inline constexpr std::string_view kStateComplete = "complete";

struct Deployment {
  VpsId vps;
  std::string organization;
  std::string environment;
  std::string region;
  std::string state;  // kStateProvisioning or kStateComplete
  std::string container_name;
  std::string container_ref;  // empty until the container exists
  std::string reader_user_id;
  std::string reader_user_name;
  // The id of the reader's application credential once it was handed over;
  // an id only, never the credential's secret.
  std::string reader_credential_id;
  TimePoint provisioned_at;
  TimePoint updated_at;
  std::optional<TimePoint> recovered_at;
  std::map<std::string, SecretSlot> secrets;  // by SecretSlot::kind

  bool operator==(const Deployment&) const = default;
};

// The record as a JSON object. Times are ISO 8601 strings in UTC to the
// whole second (anything finer is dropped); absent optional values are
// null. Every field is written, so the document shows the whole schema.
nlohmann::json ToJson(const Deployment& deployment);

// Reads a record written by ToJson. `path` is where `doc` sits in its
// document ("deployments.vps-1") and begins every error message.
//
// Strict, because the store writes back everything it reads: fails with
// kInvalidArgument naming the JSON path of the first field that is missing,
// of the wrong type, not a valid value (an ISO 8601 time, a VPS id, a known
// state, a count of at least 0), or not a field of the record at all
// ("deployments.vps-1.secrets.JWT_SECRET.current.created_at: not an ISO 8601
// time ..."). A secrets entry whose kind differs from its key is refused
// too. Optional values may be null or absent.
[[nodiscard]] Result<Deployment> DeploymentFromJson(const nlohmann::json& doc,
                                                    std::string_view path);

}  // namespace siq::records
