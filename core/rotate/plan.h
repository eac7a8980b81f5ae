// The rotation planner: for one deployment record and the catalog, what a
// run of `siq rotate` does to each secret kind as of a given time. Pure
// functions on plain values, no I/O: the same plan serves real runs, dry
// runs and `--as-of` questions about the future. Safe from any thread.
//
// Due: a kind is due when its rotate_every has passed since its current
// secret was created. Notice: a kind with a notice window (notify_before and
// recipients) gets one notice when the time is inside the window before it
// falls due; the slot's notice_sent_for_due remembers the due time a notice
// went out for, so a notice goes once per rotation, not once per run.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/base/clock.h"
#include "core/config/config.h"
#include "core/records/deployment.h"

namespace siq::rotate {

// What the operator asked for.
enum class Mode {
  kDue,     // `rotate --due`: what is due, notices, unfinished rotations
  kForce,   // `rotate VPS`: rotate now, whether due or not
  kResume,  // `rotate VPS --resume`: continue a failed or stuck rotation
  kAbort,   // `rotate VPS --abort`: roll back a rotation not yet promoted
};

enum class Action {
  kNone,        // nothing to do or say
  kNotice,      // send the notice before rotation
  kStart,       // start a new rotation
  kContinue,    // move an unfinished rotation on
  kResume,      // clear the failure, then move on
  kAbort,       // roll back the pending secret
  kListFailed,  // failed earlier: listed until resumed or aborted
  kSkip,        // cannot act; `detail` says why
};

std::string_view ActionName(Action action);

// The rotation states of SecretSlot::rotation_state, in order. An empty
// state means no rotation runs.
namespace state {
inline constexpr std::string_view kOrdering = "ordering";    // order placed
inline constexpr std::string_view kCreated = "created";      // pending known
inline constexpr std::string_view kGranted = "granted";      // reader on ACL
inline constexpr std::string_view kTold = "told";            // in container
inline constexpr std::string_view kConfirmed = "confirmed";  // VPS loaded it
inline constexpr std::string_view kPromoted = "promoted";    // grace period
inline constexpr std::string_view kRetiring = "retiring";    // previous out
inline constexpr std::string_view kAborting = "aborting";    // pending out
}  // namespace state

struct PlanRequest {
  Mode mode = Mode::kDue;
  std::string kind;  // only this kind; empty for every kind of the catalog
  TimePoint as_of;
};

struct PlannedRotation {
  records::VpsId vps;
  std::string kind;
  Action action = Action::kNone;
  TimePoint due_at;
  std::string state;   // the slot's rotation_state
  std::string detail;  // why, for kSkip and kListFailed
};

// When `slot`'s current secret falls due: its creation plus rotate_every.
TimePoint DueAt(const records::SecretSlot& slot,
                const config::SecretKind& kind);

// Whether the notice for the coming rotation is to be sent at `as_of`.
bool NoticeDue(const records::SecretSlot& slot,
               const config::SecretKind& kind,
               TimePoint as_of);

// One entry per catalog kind (or the one asked for) of `deployment`, in
// catalog order. In Mode::kDue, a deployment still being provisioned gets
// kNone; the other modes say kSkip.
std::vector<PlannedRotation> PlanDeployment(
    const records::Deployment& deployment,
    const std::vector<config::SecretKind>& kinds,
    const PlanRequest& request);

}  // namespace siq::rotate
