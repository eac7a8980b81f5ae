// Rotator: `siq rotate` once its arguments are parsed. It reads the record
// store once, plans each deployment on its own (core/rotate/plan.h), then
// walks each rotation to act on through the state machine, saving the
// slot of that one VPS before every side effect:
//
//   (idle) -> ordering: a key order for a new secret under the same name
//          -> created:  the pending secret's ref recorded
//          -> granted:  the VPS's reader alone on its read ACL
//          -> told:     the VPS container holds it under the kind's name
//          -> confirmed: the VPS loaded it (config::Confirmation)
//          -> promoted: pending becomes current, current becomes previous
//          -> retiring: after the grace period, previous out of the container
//          -> (idle):   previous deleted once no consumer is left on it
//
// Every step checks what Barbican holds before acting, so a run killed at
// any point is finished by the next one: an order whose answer was lost is
// found by name, a container entry already there is not added twice. A
// rotation that must wait (for the VPS, the grace period, or a consumer
// still on the old secret) stops there and the next run continues it;
// nothing blocks. A secret that still has consumers is never deleted.
//
// A step that fails is tried `attempts` times with doubling pauses; then
// the rotation is marked failed (last_error), the current secret stays in
// service, operations are alerted, and the run goes on with the others. A
// failed rotation is only listed until `--resume` or `--abort`. Waiting for
// a VPS longer than confirm_timeout is a failure too.
//
// Notices, rotation-done messages and failure alerts go through the
// notifier; a failing notification is reported in the result and never
// stops a rotation.
//
// Holds references to its parts, which must outlive it. Not safe to share
// between threads. The caller holds the one-runner-at-a-time lock.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/base/clock.h"
#include "core/base/status.h"
#include "core/config/config.h"
#include "core/notify/notifier.h"
#include "core/records/deployment.h"
#include "core/records/store.h"
#include "core/rotate/confirm.h"
#include "core/rotate/key_manager.h"
#include "core/rotate/plan.h"

namespace siq::rotate {

enum class DryRun { kNo, kYes };

struct Request {
  Mode mode = Mode::kDue;
  std::optional<records::VpsId> vps;  // required unless kDue
  std::string kind;                   // empty: every kind
  DryRun dry_run = DryRun::kNo;
  // Dry runs only: plan as of this time instead of now.
  std::optional<TimePoint> as_of;
};

enum class Outcome {
  kRotated,    // a new secret was promoted in this run
  kRetired,    // the previous secret was deleted: the rotation is finished
  kContinued,  // moved on, not finished
  kWaiting,    // could not move: waits for the VPS or the grace period
  kNoticed,    // the notice before rotation was sent
  kAborted,    // the pending secret was rolled back
  kFailed,     // failed in this run, or earlier and not yet resumed
  kSkipped,    // nothing could be done; `detail` says why
  kPlanned,    // dry run: `detail` says what would happen
};

std::string_view OutcomeName(Outcome outcome);

struct Item {
  records::VpsId vps;
  std::string kind;
  Outcome outcome = Outcome::kSkipped;
  std::string state;  // the rotation state afterwards ("" = none)
  TimePoint due_at;
  std::string detail;
  // Notifications that could not be delivered, "channel: error".
  std::vector<std::string> notify_errors;
};

struct Report {
  TimePoint as_of;
  size_t deployments = 0;  // records looked at
  size_t not_due = 0;      // kinds with nothing to do
  std::vector<Item> items;

  // True when an item failed: the exit code says "partial failure".
  bool HasFailures() const;
};

// Called after each deployment with work, once all were planned:
// (done, total).
using Progress = std::function<void(size_t, size_t)>;

class Rotator {
 public:
  Rotator(KeyManager& keys,
          Confirmer& confirmer,
          notify::Notifier& notifier,
          records::RecordStore& store,
          config::Config config,
          Clock& clock = DefaultClock());

  // Runs `request`. Fails only when nothing could be looked at: the store
  // cannot be read, an unknown --kind (kInvalidArgument), no record of the
  // VPS asked for (kNotFound). A failing rotation is an item, not an error.
  [[nodiscard]] Result<Report> Run(const Request& request,
                                   const Progress& progress = nullptr);

 private:
  class Walk;

  // A deployment with rotations to act on, in the order planned; the
  // record is kept unless the run is dry.
  struct Work {
    std::optional<records::Deployment> deployment;
    std::vector<PlannedRotation> planned;
  };

  // Calls `plan` on the record of request.vps, or on every record.
  [[nodiscard]] Status PlanRecords(const Request& request,
                                   const records::RecordStore::Visit& plan);

  void Act(const records::Deployment& deployment,
           const PlannedRotation& planned,
           Report& report);
  Item Notice(const records::Deployment& deployment,
              const PlannedRotation& planned);
  Item Plan(const PlannedRotation& planned) const;
  // True when a channel took `event`, or none serves its audience; each
  // failed delivery is logged and added to item.notify_errors.
  bool Send(const notify::Event& event, Item& item);

  KeyManager& keys_;
  Confirmer& confirmer_;
  notify::Notifier& notifier_;
  records::RecordStore& store_;
  config::Config config_;
  Clock& clock_;
};

}  // namespace siq::rotate
