#include "core/rotate/rotator.h"

#include <algorithm>
#include <utility>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/base/failpoint.h"
#include "core/base/iso_time.h"
#include "core/base/log.h"
#include "core/run/secret_loader.h"

namespace siq::rotate {
namespace {

using barbican::Acl;
using barbican::ContainerEntry;
using barbican::ContainerRef;
using barbican::OrderRef;
using barbican::SecretMeta;
using barbican::SecretRef;
using records::Deployment;
using records::SecretSlot;
using records::SecretVersion;

// A walk that keeps moving for more steps than the machine has is a bug.
constexpr int kMaxSteps = 16;

const config::SecretKind* FindKind(const std::vector<config::SecretKind>& kinds,
                                   std::string_view name) {
  auto found = std::find_if(kinds.begin(), kinds.end(), [&](const auto& kind) {
    return kind.kind == name;
  });
  return found == kinds.end() ? nullptr : &*found;
}

std::string MethodName(const config::Confirmation& confirm) {
  switch (confirm.method) {
    case config::Confirmation::Method::kConsumer:
      return "its consumer entry on the new secret";
    case config::Confirmation::Method::kHttp:
      return "the fingerprint at " + confirm.url;
    case config::Confirmation::Method::kCommand:
      return "the confirmation command";
    case config::Confirmation::Method::kWait:
      return "the wait of " + FormatDuration(confirm.wait);
  }
  return "confirmation";
}

std::string ConsumerList(const std::vector<barbican::Consumer>& consumers) {
  std::vector<std::string> names;
  names.reserve(consumers.size());
  for (const auto& consumer : consumers) {
    names.push_back(fmt::format("{}/{}/{}", consumer.service,
                                consumer.resource_type, consumer.resource_id));
  }
  return fmt::format("{}", fmt::join(names, ", "));
}

bool Holds(const barbican::Container& container, const ContainerEntry& entry) {
  return std::find(container.secrets.begin(), container.secrets.end(), entry) !=
         container.secrets.end();
}

}  // namespace

std::string_view OutcomeName(Outcome outcome) {
  switch (outcome) {
    case Outcome::kRotated:
      return "rotated";
    case Outcome::kRetired:
      return "retired";
    case Outcome::kContinued:
      return "continued";
    case Outcome::kWaiting:
      return "waiting";
    case Outcome::kNoticed:
      return "noticed";
    case Outcome::kAborted:
      return "aborted";
    case Outcome::kFailed:
      return "failed";
    case Outcome::kSkipped:
      return "skipped";
    case Outcome::kPlanned:
      return "planned";
  }
  return "unknown";
}

bool Report::HasFailures() const {
  return std::any_of(items.begin(), items.end(), [](const Item& item) {
    return item.outcome == Outcome::kFailed;
  });
}

// One rotation of one kind of one VPS: its slot in memory, saved to the
// store before each side effect.
class Rotator::Walk {
 public:
  Walk(Rotator& owner,
       const Deployment& record,
       const config::SecretKind& kind,
       Item& item)
      : owner_(owner),
        keys_(owner.keys_),
        record_(record),
        slot_(record_.secrets.at(kind.kind)),
        kind_(kind),
        item_(item),
        confirm_(owner.config_.rotation.ConfirmationFor(record.vps.str())) {}

  void Run(Action action) {
    Status started = Begin(action);
    if (!started.ok()) {
      Fail(started);
      return;
    }
    for (int i = 0; i < kMaxSteps; ++i) {
      auto step = StepWithRetries();
      if (!step.ok()) {
        Fail(step.status());
        return;
      }
      if (*step != Step::kMoved) {
        break;
      }
      moved_ = true;
    }
    item_.state = slot_.rotation_state;
    item_.detail = wait_reason_;
    if (aborted_) {
      item_.outcome = Outcome::kAborted;
    } else if (promoted_) {
      item_.outcome = Outcome::kRotated;
    } else if (retired_) {
      item_.outcome = Outcome::kRetired;
    } else {
      item_.outcome = moved_ ? Outcome::kContinued : Outcome::kWaiting;
    }
  }

 private:
  enum class Step { kMoved, kWait, kDone };

  Status Begin(Action action) {
    switch (action) {
      case Action::kStart:
        slot_.pending = SecretVersion{};
        slot_.rotation_started_at = Now();
        slot_.rotation_failures = 0;
        moved_ = true;
        log::Get("rotate")->info("{} {}: rotation starts", Vps(), kind_.kind);
        return SetState(state::kOrdering);
      case Action::kResume:
        slot_.last_error.clear();
        // A resumed wait gets a fresh timeout.
        slot_.rotation_state_since = Now();
        return Save();
      case Action::kAbort:
        if (slot_.rotation_state == state::kAborting) {
          return OkStatus();
        }
        slot_.last_error.clear();
        moved_ = true;
        return SetState(state::kAborting);
      default:
        return OkStatus();
    }
  }

  Result<Step> StepWithRetries() {
    const config::RotationSettings& settings = owner_.config_.rotation;
    std::chrono::milliseconds pause = settings.backoff;
    for (int attempt = 1;; ++attempt) {
      auto step = StepOnce();
      if (step.ok() || attempt >= settings.attempts || timed_out_) {
        return step;
      }
      log::Get("rotate")->warn("{} {}: {} (try {} of {}, again in {}ms)", Vps(),
                               kind_.kind, step.status().message(), attempt,
                               settings.attempts, pause.count());
      owner_.clock_.SleepFor(pause);
      pause *= 2;
    }
  }

  Result<Step> StepOnce() {
    const std::string& now = slot_.rotation_state;
    if (now == state::kOrdering) {
      return Order();
    }
    if (now == state::kCreated) {
      return Grant();
    }
    if (now == state::kGranted) {
      return Tell();
    }
    if (now == state::kTold) {
      return AwaitConfirmation();
    }
    if (now == state::kConfirmed) {
      return Promote();
    }
    if (now == state::kPromoted) {
      return AwaitGrace();
    }
    if (now == state::kRetiring) {
      return Retire();
    }
    if (now == state::kAborting) {
      return Abort();
    }
    if (now.empty()) {
      return Step::kDone;
    }
    return Status(StatusCode::kCorrupt,
                  fmt::format("unknown rotation state '{}'", now));
  }

  // The pending secret, made by a key order. An order whose answer was lost
  // left a secret under the kind's name that the record does not know: it
  // is adopted instead of ordering again.
  Result<Step> Order() {
    if (!slot_.pending) {
      slot_.pending = SecretVersion{};
    }
    SecretVersion& pending = *slot_.pending;
    if (!pending.order_ref.empty()) {
      auto order = keys_.GetOrder(OrderRef(pending.order_ref));
      if (!order.ok()) {
        return order.status();
      }
      if (order->status == "ERROR") {
        pending.order_ref.clear();
        SIQ_RETURN_IF_ERROR(Save());
        return Status(
            StatusCode::kServerError,
            fmt::format("key order for {} failed: {} {}", slot_.name,
                        order->error_status_code, order->error_reason));
      }
      if (order->status != "ACTIVE") {
        order = keys_.WaitForOrder(order->ref);
        if (!order.ok()) {
          return order.status();
        }
      }
      return Adopt(order->secret_ref);
    }

    auto strays = Strays();
    if (!strays.ok()) {
      return strays.status();
    }
    if (!strays->empty()) {
      for (size_t i = 1; i < strays->size(); ++i) {
        SIQ_RETURN_IF_ERROR(DeleteIfUnused((*strays)[i].ref, "duplicate"));
      }
      return Adopt(strays->front().ref);
    }

    auto order_ref = keys_.CreateKeyOrder({.name = slot_.name,
                                           .algorithm = kind_.algorithm,
                                           .bit_length = kind_.bit_length,
                                           .mode = kind_.mode});
    if (!order_ref.ok()) {
      return order_ref.status().WithContext(
          fmt::format("ordering a new {}", slot_.name));
    }
    // Here a crash loses the order's answer: the next run finds the
    // secret by its name.
    Failpoint("rotate.order-unrecorded");
    pending.order_ref = order_ref->url();
    SIQ_RETURN_IF_ERROR(Save());
    auto order = keys_.WaitForOrder(*order_ref);
    if (!order.ok()) {
      return order.status();
    }
    return Adopt(order->secret_ref);
  }

  // Secrets under the kind's name that are neither current nor previous.
  Result<std::vector<SecretMeta>> Strays() {
    auto found = keys_.FindSecretsNamed(slot_.name);
    if (!found.ok()) {
      return found.status();
    }
    std::vector<SecretMeta> strays;
    for (SecretMeta& meta : *found) {
      bool known = (slot_.current && slot_.current->ref == meta.ref.url()) ||
                   (slot_.previous && slot_.previous->ref == meta.ref.url());
      if (!known) {
        strays.push_back(std::move(meta));
      }
    }
    return strays;
  }

  Result<Step> Adopt(const SecretRef& secret) {
    slot_.pending->ref = secret.url();
    slot_.pending->created_at = Now();
    SIQ_RETURN_IF_ERROR(SetState(state::kCreated));
    return Step::kMoved;
  }

  // PUT replaces the whole ACL, so granting again is harmless.
  Result<Step> Grant() {
    Acl acl{.read_users = {record_.reader_user_id}, .project_access = false};
    SIQ_RETURN_IF_ERROR(keys_.SetSecretAcl(PendingRef(), acl));
    SIQ_RETURN_IF_ERROR(SetState(state::kGranted));
    return Step::kMoved;
  }

  // The container gets the pending secret under the kind's name, beside the
  // current one: `siq run --watch` loads the newer as KIND.
  Result<Step> Tell() {
    ContainerEntry entry{kind_.kind, PendingRef()};
    auto container = keys_.GetContainer(ContainerRef(record_.container_ref));
    if (!container.ok()) {
      return container.status();
    }
    if (!Holds(*container, entry)) {
      SIQ_RETURN_IF_ERROR(keys_.AddContainerSecret(container->ref, entry));
    }
    SIQ_RETURN_IF_ERROR(SetState(state::kTold));
    return Step::kMoved;
  }

  Result<Step> AwaitConfirmation() {
    ConfirmQuestion question{.vps = Vps(),
                             .kind = kind_.kind,
                             .secret = PendingRef(),
                             .told_at = Since()};
    auto confirmed = owner_.confirmer_.Confirmed(confirm_, question);
    if (!confirmed.ok()) {
      return confirmed.status();
    }
    if (*confirmed) {
      SIQ_RETURN_IF_ERROR(SetState(state::kConfirmed));
      return Step::kMoved;
    }
    return WaitOrTimeOut(fmt::format("waiting for {} to confirm by {}", Vps(),
                                     MethodName(confirm_)));
  }

  Result<Step> Promote() {
    slot_.previous = slot_.current;
    slot_.current = slot_.pending;
    slot_.pending.reset();
    slot_.due_at = slot_.current->created_at + kind_.rotate_every;
    SIQ_RETURN_IF_ERROR(SetState(state::kPromoted));
    promoted_ = true;
    log::Get("rotate")->info("{} {}: new secret promoted", Vps(), kind_.kind);
    SendDone();
    return Step::kMoved;
  }

  Result<Step> AwaitGrace() {
    TimePoint until = Since() + owner_.config_.rotation.grace;
    if (Now() < until) {
      wait_reason_ = fmt::format("grace period until {}", FormatIso8601(until));
      return Step::kWait;
    }
    SIQ_RETURN_IF_ERROR(SetState(state::kRetiring));
    return Step::kMoved;
  }

  // The previous secret leaves the container first; the VPS then drops its
  // consumer entry, and only a secret nobody consumes is deleted.
  Result<Step> Retire() {
    if (!slot_.previous || slot_.previous->ref.empty()) {
      return Finish();
    }
    SecretRef previous(slot_.previous->ref);
    SIQ_RETURN_IF_ERROR(RemoveFromContainer(previous));
    Failpoint("rotate.previous-unlisted");
    auto gone = DeleteWhenUnused(previous);
    if (!gone.ok()) {
      return gone.status();
    }
    if (!*gone) {
      return WaitOrTimeOut(wait_reason_);
    }
    Failpoint("rotate.previous-deleted");
    slot_.previous.reset();
    retired_ = true;
    return Finish();
  }

  // Rolls back a rotation not yet promoted: the pending secret (or one an
  // order whose answer was lost made) leaves the container and is deleted
  // once nobody consumes it. The current secret never moved.
  Result<Step> Abort() {
    std::vector<SecretRef> doomed;
    if (slot_.pending && !slot_.pending->ref.empty()) {
      doomed.emplace_back(slot_.pending->ref);
    }
    auto strays = Strays();
    if (!strays.ok()) {
      return strays.status();
    }
    for (const SecretMeta& stray : *strays) {
      if (std::find(doomed.begin(), doomed.end(), stray.ref) == doomed.end()) {
        doomed.push_back(stray.ref);
      }
    }
    for (const SecretRef& secret : doomed) {
      SIQ_RETURN_IF_ERROR(RemoveFromContainer(secret));
      auto gone = DeleteWhenUnused(secret);
      if (!gone.ok()) {
        return gone.status();
      }
      if (!*gone) {
        return WaitOrTimeOut(wait_reason_);
      }
    }
    slot_.pending.reset();
    aborted_ = true;
    return Finish();
  }

  Result<Step> Finish() {
    slot_.rotation_started_at.reset();
    slot_.rotation_failures = 0;
    slot_.last_error.clear();
    SIQ_RETURN_IF_ERROR(SetState(""));
    return Step::kDone;
  }

  Status RemoveFromContainer(const SecretRef& secret) {
    ContainerEntry entry{kind_.kind, secret};
    auto container = keys_.GetContainer(ContainerRef(record_.container_ref));
    if (!container.ok()) {
      return container.status();
    }
    if (!Holds(*container, entry)) {
      return OkStatus();
    }
    return keys_.RemoveContainerSecret(container->ref, entry);
  }

  // True when `secret` is gone; false (with wait_reason_) while a consumer
  // is left on it. Barbican would delete a consumed secret: siq checks.
  Result<bool> DeleteWhenUnused(const SecretRef& secret) {
    auto consumers = keys_.ListSecretConsumers(secret);
    if (!consumers.ok()) {
      if (consumers.status().code() == StatusCode::kNotFound) {
        return true;  // deleted by an earlier run
      }
      return consumers.status();
    }
    if (!consumers->empty()) {
      wait_reason_ = fmt::format("waiting for {} to stop using secret {}",
                                 ConsumerList(*consumers), secret.id());
      return false;
    }
    Status deleted = keys_.DeleteSecret(secret);
    if (!deleted.ok() && deleted.code() != StatusCode::kNotFound) {
      return deleted;
    }
    return true;
  }

  Status DeleteIfUnused(const SecretRef& secret, std::string_view why) {
    log::Get("rotate")->warn("{} {}: deleting {} secret {}", Vps(), kind_.kind,
                             why, secret.url());
    auto gone = DeleteWhenUnused(secret);
    return gone.ok() ? OkStatus() : gone.status();
  }

  Result<Step> WaitOrTimeOut(std::string reason) {
    std::chrono::seconds timeout = owner_.config_.rotation.confirm_timeout;
    if (Now() > Since() + timeout) {
      timed_out_ = true;
      return Status(StatusCode::kDeadlineExceeded,
                    fmt::format("{}: still {} after {}", slot_.rotation_state,
                                reason, FormatDuration(timeout)));
    }
    wait_reason_ = std::move(reason);
    return Step::kWait;
  }

  // Marks the rotation failed: the current secret stays in service and
  // operations hear of it.
  void Fail(const Status& status) {
    log::Get("rotate")->error("{} {}: rotation failed in state {}: {}", Vps(),
                              kind_.kind, slot_.rotation_state,
                              status.message());
    slot_.last_error = status.message();
    slot_.rotation_failures += 1;
    Status saved = Save();
    if (!saved.ok()) {
      log::Get("rotate")->error("{} {}: recording the failure: {}", Vps(),
                                kind_.kind, saved.message());
    }
    item_.outcome = Outcome::kFailed;
    item_.state = slot_.rotation_state;
    item_.detail = status.message();
    notify::Event event{
        .type = notify::EventType::kRotationFailed,
        .audience = "operations",
        .vps = Vps(),
        .subject =
            fmt::format("siq: rotation of {} on {} failed", kind_.kind, Vps()),
        .text = fmt::format(
            "The rotation of {kind} on {vps} failed in state {state}: "
            "{error}\n\nThe current secret stays in service. Continue with "
            "`siq rotate {vps} --kind {kind} --resume` or roll back with "
            "`siq rotate {vps} --kind {kind} --abort`.\n",
            fmt::arg("kind", kind_.kind), fmt::arg("vps", Vps()),
            fmt::arg("state", slot_.rotation_state),
            fmt::arg("error", status.message())),
        .fields = Fields()};
    event.fields["error"] = status.message();
    (void)owner_.Send(event, item_);
  }

  void SendDone() {
    std::vector<std::string> audiences = kind_.notify;
    if (audiences.empty()) {
      audiences.emplace_back("operations");
    }
    for (const std::string& audience : audiences) {
      (void)owner_.Send(
          notify::Event{
              .type = notify::EventType::kRotationDone,
              .audience = audience,
              .vps = Vps(),
              .subject =
                  fmt::format("siq: {} of {} rotated", kind_.kind, Vps()),
              .text = fmt::format(
                  "{} of {} was rotated: the new secret is in service. The "
                  "previous one stays available for {} and is then deleted. "
                  "Next rotation due {}.\n",
                  kind_.kind, Vps(),
                  FormatDuration(owner_.config_.rotation.grace),
                  FormatIso8601(slot_.due_at)),
              .fields = Fields()},
          item_);
    }
  }

  nlohmann::json Fields() const {
    nlohmann::json fields = {{"kind", kind_.kind},
                             {"vps", Vps()},
                             {"state", slot_.rotation_state},
                             {"due_at", FormatIso8601(slot_.due_at)}};
    if (slot_.current) {
      fields["secret_ref"] = slot_.current->ref;
    }
    return fields;
  }

  Status SetState(std::string_view next) {
    slot_.rotation_state = std::string(next);
    slot_.rotation_state_since = Now();
    SIQ_RETURN_IF_ERROR(Save());
    log::Get("rotate")->debug("{} {}: state {}", Vps(), kind_.kind,
                              next.empty() ? "idle" : next);
    Failpoint(fmt::format("rotate.{}", next.empty() ? "idle" : next));
    return OkStatus();
  }

  // Only this kind's slot is written: the record may have changed elsewhere
  // (another kind, a provisioning) since the run read it.
  Status Save() {
    return owner_.store_.Update(
        record_.vps, [this](std::optional<Deployment>& stored) {
          if (!stored) {
            return Status(StatusCode::kNotFound,
                          fmt::format("the record of {} is gone", Vps()));
          }
          stored->secrets[kind_.kind] = slot_;
          stored->updated_at = Now();
          return OkStatus();
        });
  }

  SecretRef PendingRef() const {
    return SecretRef(slot_.pending ? slot_.pending->ref : std::string());
  }
  TimePoint Since() const { return slot_.rotation_state_since.value_or(Now()); }
  TimePoint Now() const { return owner_.clock_.Now(); }
  const std::string& Vps() const { return record_.vps.str(); }

  Rotator& owner_;
  KeyManager& keys_;
  Deployment record_;
  SecretSlot& slot_;
  const config::SecretKind& kind_;
  Item& item_;
  const config::Confirmation& confirm_;
  std::string wait_reason_;
  bool moved_ = false;
  bool promoted_ = false;
  bool retired_ = false;
  bool aborted_ = false;
  bool timed_out_ = false;
};

Rotator::Rotator(KeyManager& keys,
                 Confirmer& confirmer,
                 notify::Notifier& notifier,
                 records::RecordStore& store,
                 config::Config config,
                 Clock& clock)
    : keys_(keys),
      confirmer_(confirmer),
      notifier_(notifier),
      store_(store),
      config_(std::move(config)),
      clock_(clock) {}

Result<Report> Rotator::Run(const Request& request, const Progress& progress) {
  if (!request.kind.empty() &&
      FindKind(config_.secret_kinds, request.kind) == nullptr) {
    std::vector<std::string> known;
    for (const auto& kind : config_.secret_kinds) {
      known.push_back(kind.kind);
    }
    return Status(StatusCode::kInvalidArgument,
                  fmt::format("--kind {}: not a kind of the catalog ({})",
                              request.kind, fmt::join(known, ", ")));
  }
  bool dry = request.dry_run == DryRun::kYes;
  Report report{.as_of = dry && request.as_of ? *request.as_of : clock_.Now()};
  PlanRequest plan_request{
      .mode = request.mode, .kind = request.kind, .as_of = report.as_of};

  // Plan each record as it streams by and keep only those with work, so
  // that memory grows with the work, not with the fleet; act once the
  // whole store was read, so that a store that cannot be read changes
  // nothing.
  std::vector<Work> work;
  auto plan = [&](const Deployment& deployment) {
    report.deployments += 1;
    std::vector<PlannedRotation> to_act;
    for (PlannedRotation& planned :
         PlanDeployment(deployment, config_.secret_kinds, plan_request)) {
      if (planned.action == Action::kNone) {
        report.not_due += 1;
      } else {
        to_act.push_back(std::move(planned));
      }
    }
    // Copied only when there is work to act on: most records of a fleet
    // have none, and a dry run acts on none.
    if (!to_act.empty()) {
      work.push_back(
          Work{.deployment = dry ? std::nullopt : std::optional(deployment),
               .planned = std::move(to_act)});
    }
    return OkStatus();
  };
  SIQ_RETURN_IF_ERROR(PlanRecords(request, plan));

  for (size_t i = 0; i < work.size(); ++i) {
    for (const PlannedRotation& planned : work[i].planned) {
      if (dry) {
        report.items.push_back(Plan(planned));
      } else {
        Act(*work[i].deployment, planned, report);
      }
    }
    if (progress) {
      progress(i + 1, work.size());
    }
  }
  return report;
}

Status Rotator::PlanRecords(const Request& request,
                            const records::RecordStore::Visit& plan) {
  if (!request.vps) {
    return store_.ForEach(plan);
  }
  auto record = store_.Load(*request.vps);
  if (!record.ok()) {
    return record.status();
  }
  if (!*record) {
    return Status(StatusCode::kNotFound,
                  fmt::format("no deployment record of {}: provision it "
                              "first",
                              request.vps->str()));
  }
  return plan(**record);
}

void Rotator::Act(const Deployment& deployment,
                  const PlannedRotation& planned,
                  Report& report) {
  Item item{.vps = planned.vps,
            .kind = planned.kind,
            .state = planned.state,
            .due_at = planned.due_at,
            .detail = planned.detail};
  switch (planned.action) {
    case Action::kNone:
      return;
    case Action::kNotice:
      report.items.push_back(Notice(deployment, planned));
      return;
    case Action::kListFailed:
      item.outcome = Outcome::kFailed;
      break;
    case Action::kSkip:
      item.outcome = Outcome::kSkipped;
      break;
    case Action::kStart:
    case Action::kContinue:
    case Action::kResume:
    case Action::kAbort: {
      const config::SecretKind* kind =
          FindKind(config_.secret_kinds, planned.kind);
      Walk walk(*this, deployment, *kind, item);
      walk.Run(planned.action);
      break;
    }
  }
  report.items.push_back(std::move(item));
}

Item Rotator::Notice(const Deployment& deployment,
                     const PlannedRotation& planned) {
  const config::SecretKind* kind = FindKind(config_.secret_kinds, planned.kind);
  Item item{.vps = planned.vps,
            .kind = planned.kind,
            .outcome = Outcome::kNoticed,
            .due_at = planned.due_at,
            .detail = fmt::format("notice sent to {}",
                                  fmt::join(kind->notify, ", "))};
  std::string due = FormatIso8601(planned.due_at);
  bool delivered = false;
  for (const std::string& audience : kind->notify) {
    delivered |= Send(
        notify::Event{
            .type = notify::EventType::kRotationNotice,
            .audience = audience,
            .vps = planned.vps.str(),
            .subject = fmt::format("siq: {} of {} rotates on {}", planned.kind,
                                   planned.vps.str(), due),
            .text = fmt::format(
                "{} of {} falls due for rotation on {}. siq rotates it then; "
                "the previous value stays accepted for {} after the new one "
                "is in service.\n",
                planned.kind, planned.vps.str(), due,
                FormatDuration(config_.rotation.grace)),
            .fields = {{"kind", planned.kind},
                       {"vps", planned.vps.str()},
                       {"due_at", due}}},
        item);
  }
  // A notice no channel took is tried again by the next run.
  if (delivered) {
    Status saved =
        store_.Update(deployment.vps, [&](std::optional<Deployment>& stored) {
          if (!stored || stored->secrets.count(planned.kind) == 0) {
            return Status(StatusCode::kNotFound, "the record is gone");
          }
          stored->secrets[planned.kind].notice_sent_for_due = planned.due_at;
          return OkStatus();
        });
    if (!saved.ok()) {
      item.notify_errors.push_back("recording the notice: " + saved.message());
    }
  }
  return item;
}

Item Rotator::Plan(const PlannedRotation& planned) const {
  Item item{.vps = planned.vps,
            .kind = planned.kind,
            .outcome = Outcome::kPlanned,
            .state = planned.state,
            .due_at = planned.due_at,
            .detail = planned.detail};
  std::string due = FormatIso8601(planned.due_at);
  switch (planned.action) {
    case Action::kNotice: {
      const config::SecretKind* kind =
          FindKind(config_.secret_kinds, planned.kind);
      item.detail = fmt::format("would send the notice (due {}) to {}", due,
                                fmt::join(kind->notify, ", "));
      break;
    }
    case Action::kStart:
      item.detail = fmt::format("would start a rotation (due {})", due);
      break;
    case Action::kContinue:
      item.detail = fmt::format("would continue from {}", planned.state);
      break;
    case Action::kResume:
      item.detail = fmt::format("would resume from {}", planned.state);
      break;
    case Action::kAbort:
      item.detail = fmt::format("would roll back from {}", planned.state);
      break;
    case Action::kListFailed:
      item.outcome = Outcome::kFailed;
      break;
    case Action::kSkip:
    case Action::kNone:
      item.outcome = Outcome::kSkipped;
      break;
  }
  return item;
}

bool Rotator::Send(const notify::Event& event, Item& item) {
  std::vector<notify::Delivery> deliveries = notifier_.Send(event);
  bool delivered = deliveries.empty();
  for (const notify::Delivery& delivery : deliveries) {
    if (delivery.status.ok()) {
      delivered = true;
      continue;
    }
    log::Get("rotate")->warn("{}: notification via {} failed: {}", event.vps,
                             delivery.channel, delivery.status.message());
    item.notify_errors.push_back(
        fmt::format("{}: {}", delivery.channel, delivery.status.message()));
  }
  return delivered;
}

}  // namespace siq::rotate
