// The recovery ladder of one VPS: what `siq recover` diagnoses and does.
//
//   rung 1  nothing to do: the container and every secret it references
//           exist, the reader alone reads them, and the record matches;
//   rung 2  rebuilt: the secrets exist but the container, its entries, an
//           ACL or the record is damaged or lost; the container and ACLs are
//           rebuilt and the record restored (from the record file, else the
//           backup bundle) keeping the same secret refs;
//   rung 3  re-provisioned: secrets are gone; new ones are made through the
//           Provisioner, the record gets `recovered_at`, and the customer is
//           told that all users must re-authenticate (audience "customer").
//
// Diagnose only reads (record file, bundle, Barbican metadata and ACLs;
// never a payload) and plans; Act carries the plan out, writing the record
// before and after each step, so that running recover again after any
// failure finishes the job. An interrupted rung 3 is recognised by its
// record (state "provisioning" with recovered_at set) and resumed as rung 3.
//
// Holds references to the client, store, readers and notifier, which must
// outlive it. Not safe to share between threads.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/backup/bundle.h"
#include "core/barbican/client.h"
#include "core/base/clock.h"
#include "core/base/status.h"
#include "core/config/config.h"
#include "core/notify/notifier.h"
#include "core/provision/readers.h"
#include "core/records/deployment.h"
#include "core/records/store.h"

namespace siq::recover {

enum class Rung { kNothingToDo = 1, kRebuild = 2, kReprovision = 3 };

// "nothing to do", "rebuild", "re-provision".
std::string_view RungName(Rung rung);

struct Diagnosis {
  records::VpsId vps;
  Rung rung = Rung::kNothingToDo;
  // What is wrong, one plain sentence each; empty on rung 1.
  std::vector<std::string> findings;
  // The calls Act would make, one line each ("POST /v1/containers  ...").
  std::vector<std::string> plan;

  // What Act works from.
  records::Deployment target;       // the record with the refs chosen
  std::string container_ref;        // an existing container, or ""
  std::vector<std::string> lost;    // kinds without a secret in Barbican
  bool record_from_backup = false;  // the record file lacks the VPS
  bool resumed = false;             // an interrupted rung 3 is being finished
  std::string backup_created_at;    // of the bundle used, if any
};

// What the customer was told, per channel.
struct NoticeDelivery {
  std::string channel;
  bool ok = false;
  std::string error;
};

struct Report {
  Diagnosis diagnosis;
  records::Deployment record;      // as stored afterwards
  std::vector<std::string> calls;  // made, in order
  std::vector<NoticeDelivery> notice;
  bool notice_unsent = false;  // no channel serves "customer"
};

class Recoverer {
 public:
  Recoverer(barbican::Client& barbican,
            records::RecordStore& store,
            provision::Readers& readers,
            std::vector<config::SecretKind> kinds,
            notify::Notifier& notifier,
            Clock& clock = DefaultClock());

  // Names the rung of `vps` and plans it. `bundle` (may be null) supplies
  // the record when the record file has none. Fails with kNotFound when
  // neither has a record of `vps`, and with the server's error when
  // Barbican cannot be asked (a 404 is a finding, not an error).
  // Network: Barbican reads only.
  [[nodiscard]] Result<Diagnosis> Diagnose(const records::VpsId& vps,
                                           const backup::Bundle* bundle);

  // Carries out `diagnosis` (rung 1: nothing). Fails with the first error
  // of a step; the record then shows how far it got, and diagnosing again
  // continues from there. A failed notice is reported, not an error.
  [[nodiscard]] Result<Report> Act(const Diagnosis& diagnosis);

 private:
  class Check;

  [[nodiscard]] Status SaveRecord(const records::Deployment& record);
  [[nodiscard]] Status Rebuild(const Diagnosis& diagnosis, Report& report);
  [[nodiscard]] Status Reprovision(const Diagnosis& diagnosis, Report& report);
  void NotifyCustomer(const Diagnosis& diagnosis, Report& report);

  barbican::Client& barbican_;
  records::RecordStore& store_;
  provision::Readers& readers_;
  std::vector<config::SecretKind> kinds_;
  notify::Notifier& notifier_;
  Clock& clock_;
};

}  // namespace siq::recover
