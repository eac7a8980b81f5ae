#include "core/rotate/plan.h"

#include <fmt/format.h>

#include "core/base/iso_time.h"

namespace siq::rotate {
namespace {

using records::SecretSlot;

bool Promoted(const SecretSlot& slot) {
  return slot.rotation_state == state::kPromoted ||
         slot.rotation_state == state::kRetiring;
}

PlannedRotation PlanFailed(PlannedRotation planned,
                           const SecretSlot& slot,
                           Mode mode) {
  switch (mode) {
    case Mode::kResume:
      planned.action = Action::kResume;
      return planned;
    case Mode::kAbort:
      if (Promoted(slot)) {
        planned.action = Action::kSkip;
        planned.detail = "already promoted: it can only be resumed";
        return planned;
      }
      planned.action = Action::kAbort;
      return planned;
    case Mode::kDue:
    case Mode::kForce:
      break;
  }
  planned.action = Action::kListFailed;
  planned.detail = fmt::format(
      "failed in state {}: {} (siq rotate {} --resume "
      "or --abort)",
      slot.rotation_state, slot.last_error, planned.vps.str());
  return planned;
}

PlannedRotation PlanRunning(PlannedRotation planned,
                            const SecretSlot& slot,
                            Mode mode) {
  if (mode == Mode::kAbort && Promoted(slot)) {
    planned.action = Action::kSkip;
    planned.detail = "already promoted: the rotation finishes on its own";
    return planned;
  }
  planned.action = mode == Mode::kAbort ? Action::kAbort : Action::kContinue;
  return planned;
}

PlannedRotation PlanIdle(PlannedRotation planned,
                         const SecretSlot& slot,
                         const config::SecretKind& kind,
                         const PlanRequest& request) {
  switch (request.mode) {
    case Mode::kForce:
      planned.action = Action::kStart;
      return planned;
    case Mode::kResume:
    case Mode::kAbort:
      planned.action = Action::kSkip;
      planned.detail = "no rotation in progress";
      return planned;
    case Mode::kDue:
      break;
  }
  if (request.as_of >= planned.due_at) {
    planned.action = Action::kStart;
  } else if (NoticeDue(slot, kind, request.as_of)) {
    planned.action = Action::kNotice;
  }
  return planned;
}

}  // namespace

std::string_view ActionName(Action action) {
  switch (action) {
    case Action::kNone:
      return "none";
    case Action::kNotice:
      return "notice";
    case Action::kStart:
      return "start";
    case Action::kContinue:
      return "continue";
    case Action::kResume:
      return "resume";
    case Action::kAbort:
      return "abort";
    case Action::kListFailed:
      return "failed";
    case Action::kSkip:
      return "skip";
  }
  return "unknown";
}

TimePoint DueAt(const SecretSlot& slot, const config::SecretKind& kind) {
  if (!slot.current) {
    return slot.due_at;
  }
  return slot.current->created_at + kind.rotate_every;
}

bool NoticeDue(const SecretSlot& slot,
               const config::SecretKind& kind,
               TimePoint as_of) {
  if (kind.notify_before.count() == 0 || kind.notify.empty() ||
      !slot.rotation_state.empty()) {
    return false;
  }
  TimePoint due = DueAt(slot, kind);
  return as_of < due && as_of >= due - kind.notify_before &&
         slot.notice_sent_for_due != due;
}

std::vector<PlannedRotation> PlanDeployment(
    const records::Deployment& deployment,
    const std::vector<config::SecretKind>& kinds,
    const PlanRequest& request) {
  std::vector<PlannedRotation> plan;
  for (const config::SecretKind& kind : kinds) {
    if (!request.kind.empty() && kind.kind != request.kind) {
      continue;
    }
    PlannedRotation planned{.vps = deployment.vps, .kind = kind.kind};
    auto found = deployment.secrets.find(kind.kind);
    const SecretSlot* slot =
        found == deployment.secrets.end() ? nullptr : &found->second;
    if (deployment.state != records::kStateComplete || slot == nullptr ||
        !slot->current || slot->current->ref.empty()) {
      if (request.mode != Mode::kDue) {
        planned.action = Action::kSkip;
        planned.detail = "not provisioned yet: run siq provision first";
        plan.push_back(std::move(planned));
      }
      continue;
    }
    planned.due_at = DueAt(*slot, kind);
    planned.state = slot->rotation_state;
    if (!slot->last_error.empty()) {
      plan.push_back(PlanFailed(std::move(planned), *slot, request.mode));
    } else if (!slot->rotation_state.empty()) {
      plan.push_back(PlanRunning(std::move(planned), *slot, request.mode));
    } else {
      plan.push_back(PlanIdle(std::move(planned), *slot, kind, request));
    }
  }
  return plan;
}

}  // namespace siq::rotate
