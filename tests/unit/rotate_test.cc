// Rotation with an injectable clock: the planner's days 89, 90 and 91, the
// notice sent once, and the state machine walked against an in-memory
// Barbican (FakeKeyManager) with the real record store in a temporary file.

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "core/base/iso_time.h"
#include "core/config/config.h"
#include "core/records/store.h"
#include "core/rotate/confirm.h"
#include "core/rotate/key_manager.h"
#include "core/rotate/plan.h"
#include "core/rotate/rotator.h"
#include "core/run/secret_loader.h"
#include "tests/unit/fake_notifier.h"
#include "tests/unit/fake_transport.h"

namespace siq::rotate {
namespace {

using barbican::Consumer;
using barbican::ContainerEntry;
using barbican::ContainerRef;
using barbican::SecretRef;
using records::Deployment;
using records::SecretSlot;
using records::SecretVersion;
using records::VpsId;
using std::chrono::days;
using std::chrono::hours;
using std::chrono::milliseconds;
using std::chrono::seconds;

const TimePoint kProvisioned = ParseIso8601("2026-01-01T00:00:00Z").value();
constexpr char kBase[] = "http://barbican.test/v1";

// An in-memory Barbican holding what a rotation touches. Each call is
// logged ("POST orders"); `fail` makes a named call fail every time.
class FakeKeyManager : public KeyManager {
 public:
  struct Secret {
    std::string name;
    std::vector<Consumer> consumers;
    barbican::Acl acl;
  };

  std::string AddSecret(const std::string& name) {
    std::string url = fmt::format("{}/secrets/s{}", kBase, ++next_);
    secrets_[url] = Secret{.name = name};
    order_.push_back(url);
    return url;
  }
  std::string AddContainer(std::vector<ContainerEntry> entries) {
    std::string url = fmt::format("{}/containers/c{}", kBase, ++next_);
    containers_[url] = barbican::Container{
        .ref = ContainerRef(url), .name = "c", .secrets = std::move(entries)};
    return url;
  }

  Result<barbican::OrderRef> CreateKeyOrder(
      const barbican::KeyOrderSpec& spec) override {
    SIQ_RETURN_IF_ERROR(Call("POST orders"));
    std::string order = fmt::format("{}/orders/o{}", kBase, ++next_);
    orders_[order] = AddSecret(spec.name);
    return barbican::OrderRef(order);
  }
  Result<barbican::Order> GetOrder(const barbican::OrderRef& ref) override {
    SIQ_RETURN_IF_ERROR(Call("GET order"));
    return barbican::Order{.ref = ref,
                           .status = "ACTIVE",
                           .secret_ref = SecretRef(orders_.at(ref.url()))};
  }
  Result<barbican::Order> WaitForOrder(const barbican::OrderRef& ref) override {
    return GetOrder(ref);
  }
  Result<std::vector<barbican::SecretMeta>> FindSecretsNamed(
      const std::string& name) override {
    SIQ_RETURN_IF_ERROR(Call("GET secrets"));
    std::vector<barbican::SecretMeta> found;
    for (const std::string& url : order_) {
      if (secrets_.count(url) != 0 && secrets_.at(url).name == name) {
        found.push_back({.ref = SecretRef(url), .name = name});
      }
    }
    return found;
  }
  Status SetSecretAcl(const SecretRef& ref, const barbican::Acl& acl) override {
    SIQ_RETURN_IF_ERROR(Call("PUT acl"));
    secrets_.at(ref.url()).acl = acl;
    return OkStatus();
  }
  Status DeleteSecret(const SecretRef& ref) override {
    SIQ_RETURN_IF_ERROR(Call("DELETE secret"));
    if (secrets_.erase(ref.url()) == 0) {
      return Status(StatusCode::kNotFound, "no such secret");
    }
    return OkStatus();
  }
  Result<barbican::Container> GetContainer(const ContainerRef& ref) override {
    SIQ_RETURN_IF_ERROR(Call("GET container"));
    return containers_.at(ref.url());
  }
  Status AddContainerSecret(const ContainerRef& ref,
                            const ContainerEntry& entry) override {
    SIQ_RETURN_IF_ERROR(Call("POST container secret"));
    containers_.at(ref.url()).secrets.push_back(entry);
    return OkStatus();
  }
  Status RemoveContainerSecret(const ContainerRef& ref,
                               const ContainerEntry& entry) override {
    SIQ_RETURN_IF_ERROR(Call("DELETE container secret"));
    auto& entries = containers_.at(ref.url()).secrets;
    entries.erase(std::remove(entries.begin(), entries.end(), entry),
                  entries.end());
    return OkStatus();
  }
  Result<std::vector<Consumer>> ListSecretConsumers(
      const SecretRef& ref) override {
    SIQ_RETURN_IF_ERROR(Call("GET consumers"));
    if (secrets_.count(ref.url()) == 0) {
      return Status(StatusCode::kNotFound, "no such secret");
    }
    return secrets_.at(ref.url()).consumers;
  }

  // The VPS's `siq run --watch` registering or dropping itself.
  void Consume(const std::string& url, const std::string& vps) {
    secrets_.at(url).consumers.push_back(VpsConsumer(vps));
  }
  void Release(const std::string& url) { secrets_.at(url).consumers.clear(); }

  bool Exists(const std::string& url) const { return secrets_.count(url) != 0; }
  size_t SecretCount() const { return secrets_.size(); }
  const barbican::Container& container(const std::string& url) const {
    return containers_.at(url);
  }
  const Secret& secret(const std::string& url) const {
    return secrets_.at(url);
  }

  std::map<std::string, Status> fail;  // call name -> the error it gives
  std::vector<std::string> calls;

 private:
  Status Call(const std::string& name) {
    calls.push_back(name);
    auto failing = fail.find(name);
    return failing == fail.end() ? OkStatus() : failing->second;
  }

  int next_ = 0;
  std::map<std::string, Secret> secrets_;
  std::vector<std::string> order_;             // creation order
  std::map<std::string, std::string> orders_;  // order -> secret
  std::map<std::string, barbican::Container> containers_;
};

config::SecretKind Kind90() {
  config::SecretKind kind;
  kind.kind = "JWT_SECRET";
  kind.rotate_every = days(90);
  kind.notify_before = days(7);
  kind.notify = {"admins"};
  return kind;
}

class RotateTest : public ::testing::Test {
 protected:
  RotateTest()
      : dir_(::testing::TempDir() + "siq-rotate-" + std::to_string(getpid()) +
             "-" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name()),
        clock_(kProvisioned),
        store_(dir_ + "/deployments.json", seconds(1), clock_),
        transport_(),
        confirmer_(keys_, transport_, clock_) {
    std::filesystem::create_directories(dir_);
    config_.secret_kinds = {Kind90()};
    config_.rotation.grace = hours(24);
    config_.rotation.confirm_timeout = days(3);
    config_.rotation.attempts = 3;
    config_.rotation.backoff = seconds(1);
    current_ = keys_.AddSecret("vps-1_JWT_SECRET");
    container_ = keys_.AddContainer({{"JWT_SECRET", SecretRef(current_)}});
    Deployment record{.vps = Vps(),
                      .state = std::string(records::kStateComplete),
                      .container_name = "vps-1",
                      .container_ref = container_,
                      .reader_user_id = "reader-1",
                      .provisioned_at = kProvisioned,
                      .updated_at = kProvisioned};
    record.secrets["JWT_SECRET"] = SecretSlot{
        .kind = "JWT_SECRET",
        .name = "vps-1_JWT_SECRET",
        .current = SecretVersion{.ref = current_, .created_at = kProvisioned},
        .due_at = kProvisioned + days(90)};
    EXPECT_TRUE(store_
                    .Update(Vps(),
                            [&](std::optional<Deployment>& stored) {
                              stored = record;
                              return OkStatus();
                            })
                    .ok());
  }
  ~RotateTest() override { std::filesystem::remove_all(dir_); }

  static VpsId Vps() { return VpsId::Parse("vps-1").value(); }

  void Day(int day) { clock_.Advance(kProvisioned + days(day) - clock_.Now()); }

  Report Run(Mode mode, DryRun dry = DryRun::kNo) {
    Rotator rotator(keys_, confirmer_, notifier_, store_, config_, clock_);
    Request request{.mode = mode, .dry_run = dry};
    if (mode != Mode::kDue) {
      request.vps = Vps();
    }
    auto report = rotator.Run(request);
    EXPECT_TRUE(report.ok()) << report.status().message();
    return report.ok() ? *report : Report{};
  }

  SecretSlot Slot() {
    auto record = store_.Load(Vps());
    EXPECT_TRUE(record.ok() && record->has_value());
    return (**record).secrets.at("JWT_SECRET");
  }

  size_t EventsOf(notify::EventType type) const {
    return std::count_if(
        notifier_.events.begin(), notifier_.events.end(),
        [&](const notify::Event& event) { return event.type == type; });
  }

  std::string dir_;
  test::FakeClock clock_;
  records::FileRecordStore store_;
  FakeKeyManager keys_;
  test::FakeTransport transport_;
  SystemConfirmer confirmer_;
  test::RecordingNotifier notifier_;
  config::Config config_;
  std::string current_;
  std::string container_;
};

TEST_F(RotateTest, PlannerSaysDueFromDayNinetyOfANinetyDayKind) {
  SecretSlot slot = Slot();
  Deployment record = store_.Load(Vps()).value().value();
  auto action_on = [&](int day) {
    auto plan =
        PlanDeployment(record, {Kind90()}, {.as_of = kProvisioned + days(day)});
    EXPECT_EQ(plan.size(), 1u);
    return plan.empty() ? Action::kSkip : plan.front().action;
  };

  EXPECT_EQ(action_on(80), Action::kNone);
  EXPECT_EQ(action_on(89), Action::kNotice);
  EXPECT_EQ(action_on(90), Action::kStart);
  EXPECT_EQ(action_on(91), Action::kStart);
  EXPECT_EQ(DueAt(slot, Kind90()), kProvisioned + days(90));
}

TEST_F(RotateTest, NothingDueChangesNothing) {
  Day(10);
  SecretSlot before = Slot();

  Report report = Run(Mode::kDue);

  EXPECT_TRUE(report.items.empty());
  EXPECT_EQ(report.not_due, 1u);
  EXPECT_EQ(Slot(), before);
  EXPECT_TRUE(keys_.calls.empty());
  EXPECT_TRUE(notifier_.events.empty());
}

TEST_F(RotateTest, DayEightyNineSendsTheNoticeAndRotatesNothing) {
  Day(89);

  Report report = Run(Mode::kDue);

  ASSERT_EQ(report.items.size(), 1u);
  EXPECT_EQ(report.items[0].outcome, Outcome::kNoticed);
  ASSERT_EQ(notifier_.events.size(), 1u);
  EXPECT_EQ(notifier_.events[0].type, notify::EventType::kRotationNotice);
  EXPECT_EQ(notifier_.events[0].audience, "admins");
  EXPECT_EQ(notifier_.events[0].fields["due_at"], "2026-04-01T00:00:00Z");
  EXPECT_EQ(Slot().notice_sent_for_due, kProvisioned + days(90));
  EXPECT_EQ(Slot().rotation_state, "");
  EXPECT_TRUE(keys_.calls.empty());
}

TEST_F(RotateTest, NoticeIsSentExactlyOnceAcrossDailyRuns) {
  for (int day = 80; day <= 95; ++day) {
    Day(day);
    (void)Run(Mode::kDue);
    (void)Run(Mode::kDue);
  }

  EXPECT_EQ(EventsOf(notify::EventType::kRotationNotice), 1u);
}

TEST_F(RotateTest, UndeliveredNoticeIsTriedAgainByTheNextRun) {
  notifier_.fail = true;
  Day(89);

  Report first = Run(Mode::kDue);
  notifier_.fail = false;
  Report second = Run(Mode::kDue);
  Report third = Run(Mode::kDue);

  EXPECT_EQ(first.items.at(0).notify_errors,
            std::vector<std::string>{"recording: relay down"});
  EXPECT_EQ(second.items.at(0).outcome, Outcome::kNoticed);
  EXPECT_TRUE(third.items.empty());
  EXPECT_EQ(EventsOf(notify::EventType::kRotationNotice), 2u);
}

TEST_F(RotateTest, FailingNotificationsNeverBlockARotation) {
  notifier_.fail = true;
  Day(90);
  (void)Run(Mode::kDue);
  keys_.Consume(Slot().pending->ref, "vps-1");

  Report report = Run(Mode::kDue);

  ASSERT_EQ(report.items.size(), 1u);
  EXPECT_EQ(report.items[0].outcome, Outcome::kRotated);
  EXPECT_EQ(report.items[0].notify_errors,
            std::vector<std::string>{"recording: relay down"});
  EXPECT_FALSE(report.HasFailures());
  EXPECT_EQ(Slot().rotation_state, state::kPromoted);
}

TEST_F(RotateTest, DayNinetyStartsTheRotationAndWaitsForTheVps) {
  Day(89);
  (void)Run(Mode::kDue);
  Day(90);

  Report report = Run(Mode::kDue);

  ASSERT_EQ(report.items.size(), 1u);
  EXPECT_EQ(report.items[0].outcome, Outcome::kContinued);
  SecretSlot slot = Slot();
  EXPECT_EQ(slot.rotation_state, state::kTold);
  ASSERT_TRUE(slot.pending.has_value());
  EXPECT_EQ(slot.current->ref, current_) << "current stays in service";
  EXPECT_EQ(
      keys_.secret(slot.pending->ref).acl,
      (barbican::Acl{.read_users = {"reader-1"}, .project_access = false}));
  EXPECT_EQ(keys_.container(container_).secrets,
            (std::vector<ContainerEntry>{
                {"JWT_SECRET", SecretRef(current_)},
                {"JWT_SECRET", SecretRef(slot.pending->ref)}}));
  EXPECT_EQ(EventsOf(notify::EventType::kRotationNotice), 1u);
}

TEST_F(RotateTest, DayNinetyOneStartsAMissedRotation) {
  Day(91);

  Report report = Run(Mode::kDue);

  ASSERT_EQ(report.items.size(), 1u);
  EXPECT_EQ(Slot().rotation_state, state::kTold);
}

TEST_F(RotateTest, ConsumerConfirmationPromotesAndGraceThenRetires) {
  Day(90);
  (void)Run(Mode::kDue);
  std::string pending = Slot().pending->ref;
  keys_.Consume(pending, "vps-1");
  keys_.Consume(current_, "vps-1");

  Report promoted = Run(Mode::kDue);
  clock_.Advance(hours(25));
  Report in_use = Run(Mode::kDue);
  bool kept_while_consumed = keys_.Exists(current_);
  keys_.Release(current_);
  Report retired = Run(Mode::kDue);

  EXPECT_EQ(promoted.items.at(0).outcome, Outcome::kRotated);
  EXPECT_EQ(EventsOf(notify::EventType::kRotationDone), 1u);
  EXPECT_EQ(in_use.items.at(0).outcome, Outcome::kContinued);
  EXPECT_EQ(in_use.items.at(0).state, state::kRetiring);
  EXPECT_TRUE(kept_while_consumed) << "never deleted while consumed";
  EXPECT_EQ(retired.items.at(0).outcome, Outcome::kRetired);
  SecretSlot slot = Slot();
  EXPECT_EQ(slot.rotation_state, "");
  EXPECT_EQ(slot.current->ref, pending);
  EXPECT_FALSE(slot.previous.has_value());
  EXPECT_FALSE(slot.pending.has_value());
  EXPECT_EQ(slot.due_at, slot.current->created_at + days(90));
  EXPECT_FALSE(keys_.Exists(current_));
  EXPECT_EQ(keys_.SecretCount(), 1u);
  EXPECT_EQ(keys_.container(container_).secrets,
            (std::vector<ContainerEntry>{{"JWT_SECRET", SecretRef(pending)}}));
}

TEST_F(RotateTest, GracePeriodKeepsThePreviousSecret) {
  Day(90);
  (void)Run(Mode::kDue);
  keys_.Consume(Slot().pending->ref, "vps-1");
  (void)Run(Mode::kDue);
  clock_.Advance(hours(23));

  Report report = Run(Mode::kDue);

  EXPECT_EQ(report.items.at(0).outcome, Outcome::kWaiting);
  EXPECT_EQ(Slot().rotation_state, state::kPromoted);
  EXPECT_TRUE(keys_.Exists(current_));
  EXPECT_EQ(keys_.container(container_).secrets.size(), 2u);
}

TEST_F(RotateTest, FailingStepIsRetriedWithBackoffThenMarkedFailed) {
  keys_.fail["POST orders"] =
      Status(StatusCode::kPermissionDenied, "Quota reached", 403);
  Day(90);

  Report report = Run(Mode::kDue);

  ASSERT_EQ(report.items.size(), 1u);
  EXPECT_EQ(report.items[0].outcome, Outcome::kFailed);
  EXPECT_TRUE(report.HasFailures());
  EXPECT_EQ(std::count(keys_.calls.begin(), keys_.calls.end(), "POST orders"),
            3);
  EXPECT_EQ(clock_.Sleeps(),
            (std::vector<milliseconds>{seconds(1), seconds(2)}));
  SecretSlot slot = Slot();
  EXPECT_NE(slot.last_error.find("Quota reached"), std::string::npos);
  EXPECT_EQ(slot.rotation_failures, 1);
  EXPECT_EQ(slot.current->ref, current_);
  ASSERT_EQ(EventsOf(notify::EventType::kRotationFailed), 1u);
  EXPECT_EQ(notifier_.events.back().audience, "operations");
}

TEST_F(RotateTest, FailedRotationIsListedButNeverRestartedByDue) {
  keys_.fail["POST orders"] = Status(StatusCode::kServerError, "boom", 500);
  Day(90);
  (void)Run(Mode::kDue);
  keys_.fail.clear();
  keys_.calls.clear();

  Report again = Run(Mode::kDue);

  ASSERT_EQ(again.items.size(), 1u);
  EXPECT_EQ(again.items[0].outcome, Outcome::kFailed);
  EXPECT_NE(again.items[0].detail.find("--resume"), std::string::npos);
  EXPECT_TRUE(keys_.calls.empty());
  EXPECT_EQ(EventsOf(notify::EventType::kRotationFailed), 1u)
      << "alerted once, when it failed";
}

TEST_F(RotateTest, ResumeContinuesAFailedRotation) {
  keys_.fail["POST orders"] = Status(StatusCode::kServerError, "boom", 500);
  Day(90);
  (void)Run(Mode::kDue);
  keys_.fail.clear();

  Report report = Run(Mode::kResume);

  EXPECT_EQ(report.items.at(0).outcome, Outcome::kContinued);
  EXPECT_EQ(Slot().rotation_state, state::kTold);
  EXPECT_EQ(Slot().last_error, "");
}

TEST_F(RotateTest, AbortRemovesAndDeletesThePendingSecret) {
  Day(90);
  (void)Run(Mode::kDue);
  std::string pending = Slot().pending->ref;

  Report report = Run(Mode::kAbort);

  EXPECT_EQ(report.items.at(0).outcome, Outcome::kAborted);
  EXPECT_FALSE(keys_.Exists(pending));
  EXPECT_EQ(keys_.container(container_).secrets,
            (std::vector<ContainerEntry>{{"JWT_SECRET", SecretRef(current_)}}));
  SecretSlot slot = Slot();
  EXPECT_EQ(slot.rotation_state, "");
  EXPECT_FALSE(slot.pending.has_value());
  EXPECT_EQ(slot.current->ref, current_);
}

TEST_F(RotateTest, AbortWaitsWhileTheVpsStillConsumesThePendingSecret) {
  Day(90);
  (void)Run(Mode::kDue);
  std::string pending = Slot().pending->ref;
  keys_.Consume(pending, "vps-1");

  Report report = Run(Mode::kAbort);

  EXPECT_EQ(report.items.at(0).outcome, Outcome::kContinued);
  EXPECT_EQ(Slot().rotation_state, state::kAborting);
  EXPECT_TRUE(keys_.Exists(pending));
}

TEST_F(RotateTest, LostOrderAnswerIsAdoptedNotOrderedAgain) {
  Day(90);
  std::string stray = keys_.AddSecret("vps-1_JWT_SECRET");
  ASSERT_TRUE(store_
                  .Update(Vps(),
                          [](std::optional<Deployment>& stored) {
                            SecretSlot& slot = stored->secrets["JWT_SECRET"];
                            slot.rotation_state = std::string(state::kOrdering);
                            slot.pending = SecretVersion{};
                            return OkStatus();
                          })
                  .ok());

  (void)Run(Mode::kDue);

  EXPECT_EQ(Slot().pending->ref, stray);
  EXPECT_EQ(std::count(keys_.calls.begin(), keys_.calls.end(), "POST orders"),
            0);
  EXPECT_EQ(keys_.SecretCount(), 2u);
}

TEST_F(RotateTest, VpsThatNeverConfirmsFailsAfterTheTimeout) {
  Day(90);
  (void)Run(Mode::kDue);
  clock_.Advance(days(3) + hours(1));

  Report report = Run(Mode::kDue);

  EXPECT_EQ(report.items.at(0).outcome, Outcome::kFailed);
  EXPECT_NE(Slot().last_error.find("confirm"), std::string::npos);
  EXPECT_EQ(Slot().current->ref, current_);
  EXPECT_EQ(clock_.Sleeps().size(), 0u) << "a timeout is not retried";
}

TEST_F(RotateTest, WaitConfirmationPromotesAfterTheWait) {
  config_.rotation.confirm = {.method = config::Confirmation::Method::kWait,
                              .wait = hours(2)};
  Day(90);
  (void)Run(Mode::kDue);
  clock_.Advance(hours(1));
  Report early = Run(Mode::kDue);
  clock_.Advance(hours(1));

  Report late = Run(Mode::kDue);

  EXPECT_EQ(early.items.at(0).outcome, Outcome::kWaiting);
  EXPECT_EQ(late.items.at(0).outcome, Outcome::kRotated);
}

TEST_F(RotateTest, DryRunAsOfAFutureDatePlansAndChangesNothing) {
  SecretSlot before = Slot();
  Rotator rotator(keys_, confirmer_, notifier_, store_, config_, clock_);

  auto report = rotator.Run({.mode = Mode::kDue,
                             .dry_run = DryRun::kYes,
                             .as_of = kProvisioned + days(95)});

  ASSERT_TRUE(report.ok());
  ASSERT_EQ(report->items.size(), 1u);
  EXPECT_EQ(report->items[0].outcome, Outcome::kPlanned);
  EXPECT_NE(report->items[0].detail.find("would start"), std::string::npos);
  EXPECT_EQ(report->as_of, kProvisioned + days(95));
  EXPECT_EQ(Slot(), before);
  EXPECT_TRUE(keys_.calls.empty());
  EXPECT_TRUE(notifier_.events.empty());
}

TEST_F(RotateTest, ForcedRotationOfAnUnknownKindIsRefused) {
  Rotator rotator(keys_, confirmer_, notifier_, store_, config_, clock_);

  auto report =
      rotator.Run({.mode = Mode::kForce, .vps = Vps(), .kind = "NOPE"});

  EXPECT_EQ(report.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(report.status().message().find("JWT_SECRET"), std::string::npos);
}

TEST_F(RotateTest, ForcedRotationStartsBeforeTheDueDate) {
  Day(5);

  Report report = Run(Mode::kForce);

  EXPECT_EQ(report.items.at(0).outcome, Outcome::kContinued);
  EXPECT_EQ(Slot().rotation_state, state::kTold);
}

TEST_F(RotateTest, CommandConfirmationGetsVpsKindAndFingerprint) {
  SecretRef secret(current_);
  config::Confirmation how{
      .method = config::Confirmation::Method::kCommand,
      .command = fmt::format(R"(test "$1 $2 $3" = "vps-1 JWT_SECRET {}")",
                             run::Fingerprint(secret))};
  config::Confirmation refuses{.method = config::Confirmation::Method::kCommand,
                               .command = "exit 3"};
  ConfirmQuestion question{
      .vps = "vps-1", .kind = "JWT_SECRET", .secret = secret};

  auto yes = confirmer_.Confirmed(how, question);
  auto no = confirmer_.Confirmed(refuses, question);

  ASSERT_TRUE(yes.ok());
  EXPECT_TRUE(*yes);
  ASSERT_TRUE(no.ok());
  EXPECT_FALSE(*no);
}

TEST_F(RotateTest, HttpConfirmationLooksForTheFingerprint) {
  SecretRef secret(current_);
  config::Confirmation how{.method = config::Confirmation::Method::kHttp,
                           .url = "http://vps.test/{vps}/{kind}"};
  transport_.EnqueueFor("http://vps.test/vps-1/JWT_SECRET",
                        {.status = 200, .body = "other\n"});
  transport_.EnqueueFor(
      "http://vps.test/vps-1/JWT_SECRET",
      {.status = 200, .body = run::Fingerprint(secret) + "\n"});
  ConfirmQuestion question{
      .vps = "vps-1", .kind = "JWT_SECRET", .secret = secret};

  auto first = confirmer_.Confirmed(how, question);
  auto second = confirmer_.Confirmed(how, question);

  ASSERT_TRUE(first.ok() && second.ok());
  EXPECT_FALSE(*first);
  EXPECT_TRUE(*second);
}

class RotationConfigTest : public ::testing::Test {
 protected:
  ~RotationConfigTest() override { std::filesystem::remove(path_); }
  Result<config::Config> Load(const std::string& yaml) {
    std::ofstream(path_) << yaml;
    return config::LoadConfig(path_);
  }
  std::string path_ = ::testing::TempDir() + "siq-rotation-config-" +
                      std::to_string(getpid()) + ".yaml";
};

TEST_F(RotationConfigTest, ReadsGraceRetriesAndConfirmationPerDeployment) {
  auto config = Load(R"(
rotation:
  grace: 30s
  confirm_timeout: 10m
  attempts: 2
  backoff: 1s
  confirm: {wait: 5s}
  deployments:
    vps-1: {confirm: {http: "http://vps-1.test/fp"}}
    vps-2: {confirm: {command: /bin/true}}
    vps-3: {confirm: consumer}
)");

  ASSERT_TRUE(config.ok()) << config.status().message();
  const config::RotationSettings& rotation = config->rotation;
  EXPECT_EQ(rotation.grace, seconds(30));
  EXPECT_EQ(rotation.confirm_timeout, std::chrono::minutes(10));
  EXPECT_EQ(rotation.attempts, 2);
  EXPECT_EQ(rotation.ConfirmationFor("vps-9").method,
            config::Confirmation::Method::kWait);
  EXPECT_EQ(rotation.ConfirmationFor("vps-9").wait, seconds(5));
  EXPECT_EQ(rotation.ConfirmationFor("vps-1").url, "http://vps-1.test/fp");
  EXPECT_EQ(rotation.ConfirmationFor("vps-2").command, "/bin/true");
  EXPECT_EQ(rotation.ConfirmationFor("vps-3").method,
            config::Confirmation::Method::kConsumer);
}

TEST_F(RotationConfigTest, DefaultsConfirmByConsumerWithAWeekOfGrace) {
  auto config = config::LoadConfig("");

  ASSERT_TRUE(config.ok());
  EXPECT_EQ(config->rotation.grace, days(7));
  EXPECT_EQ(config->rotation.confirm.method,
            config::Confirmation::Method::kConsumer);
}

TEST_F(RotationConfigTest, BadConfirmationNamesTheLine) {
  auto config = Load("rotation:\n  grace: 1h\n  confirm: {mail: x}\n");

  EXPECT_EQ(config.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(config.status().message().find(":3:"), std::string::npos)
      << config.status().message();
}

TEST_F(RotationConfigTest, ZeroAttemptsIsRefused) {
  auto config = Load("rotation:\n  attempts: 0\n");

  EXPECT_EQ(config.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(config.status().message().find("attempts"), std::string::npos);
}

}  // namespace
}  // namespace siq::rotate
