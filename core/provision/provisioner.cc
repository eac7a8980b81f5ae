#include "core/provision/provisioner.h"

#include <algorithm>
#include <map>
#include <utility>

#include <fmt/format.h>

#include "core/base/failpoint.h"
#include "core/base/log.h"
#include "core/provision/container_steps.h"

namespace siq::provision {
namespace {

using barbican::ContainerEntry;
using barbican::ContainerRef;
using barbican::OrderRef;
using barbican::SecretRef;
using records::Deployment;
using records::SecretSlot;
using records::SecretVersion;

// Orders complete inside the API call when Barbican runs without a queue;
// with a queue they take seconds. A minute covers a busy server.
constexpr std::chrono::seconds kOrderDeadline{60};

bool HasSecret(const SecretSlot& slot) {
  return slot.current && !slot.current->ref.empty();
}

// A request that contradicts the record cannot be settled by running again:
// it is refused as bad input, naming the field.
Status CheckConsistent(const Deployment& record, const Request& request) {
  auto differs = [&](const char* field, const std::string& recorded,
                     const std::string& asked) {
    return Status(StatusCode::kInvalidArgument,
                  fmt::format("{} is recorded with {} '{}', not '{}'",
                              record.vps.str(), field, recorded, asked));
  };
  if (record.organization != request.organization) {
    return differs("organisation", record.organization, request.organization);
  }
  if (record.environment != request.environment) {
    return differs("environment", record.environment, request.environment);
  }
  if (!request.region.empty() && record.region != request.region) {
    return differs("region", record.region, request.region);
  }
  const ReaderChoice& reader = request.reader;
  if (record.state == records::kStateComplete) {
    std::string asked = reader.mode == ReaderChoice::Mode::kCreate
                            ? Readers::UserName(record.vps.str())
                            : reader.user;
    if (asked != record.reader_user_name && asked != record.reader_user_id) {
      return differs("reader", record.reader_user_name, asked);
    }
  }
  return OkStatus();
}

}  // namespace

std::string_view OutcomeName(Outcome outcome) {
  switch (outcome) {
    case Outcome::kProvisioned:
      return "provisioned";
    case Outcome::kResumed:
      return "resumed";
    case Outcome::kAlreadyComplete:
      return "already complete";
    case Outcome::kPlanned:
      return "planned";
  }
  return "unknown";
}

// One provisioning of one VPS: the record in memory, saved after each step.
class Provisioner::Job {
 public:
  Job(Provisioner& owner, const Request& request, Report& report)
      : owner_(owner),
        barbican_(owner.barbican_),
        request_(request),
        report_(report),
        record_(report.deployment) {}

  [[nodiscard]] Status Start(const std::optional<Deployment>& existing) {
    if (existing) {
      record_ = *existing;
    } else {
      record_.vps = request_.vps;
      record_.organization = request_.organization;
      record_.environment = request_.environment;
      record_.region = request_.region;
      record_.container_name = request_.vps.str();
      record_.provisioned_at = owner_.clock_.Now();
    }
    record_.state = std::string(records::kStateProvisioning);
    for (const config::SecretKind& kind : owner_.kinds_) {
      SecretSlot& slot = record_.secrets[kind.kind];
      slot.kind = kind.kind;
      slot.name = config::SecretName(request_.vps.str(), kind.kind);
    }
    return Save();
  }

  // Reads what Barbican and Keystone already hold before anything is
  // written, so that an unreachable or refusing server, or an unknown
  // reader, leaves the record file exactly as it was.
  [[nodiscard]] Status Preflight() {
    if (request_.reader.mode == ReaderChoice::Mode::kExisting) {
      auto id = owner_.readers_.Resolve(request_.reader.user);
      if (!id.ok()) {
        return id.status();
      }
      existing_reader_id_ = std::move(*id);
    }
    // One list finds every secret of the VPS, including those whose order
    // answer was lost. The name filter is a LIKE pattern, so '_' matches
    // any character: names are compared exactly below.
    auto listed = barbican_.ListSecrets({.name = request_.vps.str() + "_%"});
    if (!listed.ok()) {
      return listed.status();
    }
    for (barbican::SecretMeta& meta : *listed) {
      found_[meta.name].push_back(std::move(meta));
    }
    return OkStatus();
  }

  [[nodiscard]] Status EnsureReader() {
    const ReaderChoice& choice = request_.reader;
    if (choice.mode == ReaderChoice::Mode::kExisting) {
      if (record_.reader_user_id != existing_reader_id_) {
        record_.reader_user_id = existing_reader_id_;
        record_.reader_user_name = choice.user;
        return Save();
      }
      return OkStatus();
    }
    if (!record_.reader_credential_id.empty()) {
      return OkStatus();  // handed over by an earlier run
    }
    record_.reader_user_name = Readers::UserName(request_.vps.str());
    SIQ_RETURN_IF_ERROR(Save());
    auto reader = owner_.readers_.Create(request_.vps.str());
    if (!reader.ok()) {
      return reader.status();
    }
    Call("POST", "/v3/users", "reader " + reader->user_name);
    Call("POST", "/v3/users/{id}/application_credentials",
         "credential " + reader->credential.id);
    record_.reader_user_id = reader->user_id;
    SIQ_RETURN_IF_ERROR(Save());
    SIQ_RETURN_IF_ERROR(
        WriteToFd(choice.credential_fd, owner_.readers_.CloudsYaml(*reader))
            .WithContext("handing over the reader's "
                         "credential"));
    report_.credential_written = true;
    record_.reader_credential_id = reader->credential.id;
    return Save();
  }

  [[nodiscard]] Status EnsureSecret(const config::SecretKind& kind) {
    SecretSlot& slot = record_.secrets[kind.kind];
    if (HasSecret(slot)) {
      return OkStatus();
    }
    if (slot.current && !slot.current->order_ref.empty()) {
      // The order was placed; its secret may exist.
      auto order = barbican_.GetOrder(OrderRef(slot.current->order_ref));
      if (order.ok() && order->status == "ACTIVE") {
        return Adopt(kind, order->secret_ref, order->ref);
      }
    }
    // An order whose answer was lost may still have made the secret.
    // Barbican listed them oldest first: keep that one.
    if (auto found = found_.find(slot.name); found != found_.end()) {
      for (size_t i = 1; i < found->second.size(); ++i) {
        SIQ_RETURN_IF_ERROR(DeleteSecret(found->second[i].ref, "duplicate"));
      }
      return Adopt(kind, found->second.front().ref, OrderRef());
    }

    auto order_ref = barbican_.CreateKeyOrder({.name = slot.name,
                                               .algorithm = kind.algorithm,
                                               .bit_length = kind.bit_length,
                                               .mode = kind.mode});
    if (!order_ref.ok()) {
      return order_ref.status();
    }
    Call("POST", "/v1/orders", "key order " + slot.name);
    // Here a crash loses the order's answer: the re-run finds it by name.
    Failpoint("provision.order-unrecorded");
    slot.current = SecretVersion{.order_ref = order_ref->url()};
    SIQ_RETURN_IF_ERROR(Save());
    auto order = barbican_.WaitForOrder(*order_ref, kOrderDeadline);
    if (!order.ok()) {
      return order.status();
    }
    return Adopt(kind, order->secret_ref, *order_ref);
  }

  [[nodiscard]] Status EnsureContainer() {
    std::vector<ContainerEntry> entries;
    for (const config::SecretKind& kind : owner_.kinds_) {
      entries.push_back(
          {kind.kind, SecretRef(record_.secrets[kind.kind].current->ref)});
    }
    auto ref = provision::EnsureContainer(barbican_, record_.container_name,
                                          record_.container_ref, entries,
                                          ExtraEntries::kKeep, report_.calls);
    if (!ref.ok()) {
      return ref.status();
    }
    if (record_.container_ref != ref->url()) {
      record_.container_ref = ref->url();
      return Save();
    }
    return OkStatus();
  }

  [[nodiscard]] Status EnsureAcls() {
    std::vector<std::pair<std::string, SecretRef>> secrets;
    for (const auto& [kind, slot] : record_.secrets) {
      secrets.emplace_back(slot.name, SecretRef(slot.current->ref));
    }
    return EnsureReadAcls(barbican_, secrets, record_.container_name,
                          ContainerRef(record_.container_ref),
                          record_.reader_user_id, report_.calls);
  }

  [[nodiscard]] Status Complete() {
    record_.state = std::string(records::kStateComplete);
    return Save();
  }

  void Plan(const std::optional<Deployment>& existing) {
    const Deployment* known = existing ? &*existing : nullptr;
    auto has_secret = [&](const std::string& kind) {
      return known != nullptr && known->secrets.count(kind) != 0 &&
             HasSecret(known->secrets.at(kind));
    };
    if (known == nullptr) {
      Call("write", "record", "new record for " + request_.vps.str());
    }
    if (request_.reader.mode == ReaderChoice::Mode::kCreate &&
        (known == nullptr || known->reader_credential_id.empty())) {
      Call("POST", "/v3/users", Readers::UserName(request_.vps.str()));
      Call("POST", "/v3/users/{id}/application_credentials",
           fmt::format("written to fd {}", request_.reader.credential_fd));
    }
    for (const config::SecretKind& kind : owner_.kinds_) {
      if (!has_secret(kind.kind)) {
        Call("POST", "/v1/orders",
             fmt::format("key order {} ({} {}-bit)",
                         config::SecretName(request_.vps.str(), kind.kind),
                         kind.algorithm, kind.bit_length));
      }
    }
    if (known == nullptr || known->container_ref.empty()) {
      Call("POST", "/v1/containers", "container " + request_.vps.str());
    }
    for (const config::SecretKind& kind : owner_.kinds_) {
      Call("PUT", "/v1/secrets/{id}/acl",
           config::SecretName(request_.vps.str(), kind.kind));
    }
    Call("PUT", "/v1/containers/{id}/acl", request_.vps.str());
    Call("write", "record", "mark complete");
  }

 private:
  [[nodiscard]] Status Save() {
    record_.updated_at = owner_.clock_.Now();
    return owner_.store_.Update(record_.vps,
                                [this](std::optional<Deployment>& stored) {
                                  stored = record_;
                                  return OkStatus();
                                });
  }

  [[nodiscard]] Status Adopt(const config::SecretKind& kind,
                             const SecretRef& secret,
                             const OrderRef& order) {
    SecretSlot& slot = record_.secrets[kind.kind];
    TimePoint now = owner_.clock_.Now();
    slot.current = SecretVersion{
        .ref = secret.url(), .order_ref = order.url(), .created_at = now};
    slot.due_at = now + kind.rotate_every;
    return Save();
  }

  [[nodiscard]] Status DeleteSecret(const SecretRef& secret,
                                    std::string_view why) {
    log::Get("provision")->warn("deleting {} secret {}", why, secret.url());
    Call("DELETE", "/v1/secrets/{id}", std::string(secret.id()));
    return barbican_.DeleteSecret(secret);
  }

  void Call(std::string_view method,
            std::string_view path,
            std::string_view what) {
    report_.calls.push_back(fmt::format("{} {}  {}", method, path, what));
  }

  Provisioner& owner_;
  barbican::Client& barbican_;
  const Request& request_;
  Report& report_;
  Deployment& record_;
  std::string existing_reader_id_;
  // Secrets named "<vps>_..." in Barbican before this run, by exact name.
  std::map<std::string, std::vector<barbican::SecretMeta>> found_;
};

Provisioner::Provisioner(barbican::Client& barbican,
                         records::RecordStore& store,
                         Readers& readers,
                         std::vector<config::SecretKind> kinds,
                         Clock& clock)
    : barbican_(barbican),
      store_(store),
      readers_(readers),
      kinds_(std::move(kinds)),
      clock_(clock) {}

Result<Report> Provisioner::Run(const Request& request, DryRun dry_run) {
  auto existing = store_.Load(request.vps);
  if (!existing.ok()) {
    return existing.status();
  }
  if (*existing) {
    SIQ_RETURN_IF_ERROR(CheckConsistent(**existing, request));
  }
  Report report{.deployment = Deployment{.vps = request.vps}};
  Job job(*this, request, report);
  if (*existing && (*existing)->state == records::kStateComplete) {
    report.outcome = Outcome::kAlreadyComplete;
    report.deployment = **existing;
    return report;
  }
  if (dry_run == DryRun::kYes) {
    report.outcome = Outcome::kPlanned;
    if (*existing) {
      report.deployment = **existing;
    }
    job.Plan(*existing);
    return report;
  }

  bool resumed = existing->has_value();
  report.outcome = resumed ? Outcome::kResumed : Outcome::kProvisioned;
  SIQ_RETURN_IF_ERROR(job.Preflight());
  SIQ_RETURN_IF_ERROR(job.Start(*existing));
  SIQ_RETURN_IF_ERROR(job.EnsureReader());
  Failpoint("provision.after-reader");
  for (const config::SecretKind& kind : kinds_) {
    SIQ_RETURN_IF_ERROR(job.EnsureSecret(kind));
    Failpoint("provision.after-first-secret");
  }
  Failpoint("provision.after-secrets");
  SIQ_RETURN_IF_ERROR(job.EnsureContainer());
  Failpoint("provision.after-container");
  SIQ_RETURN_IF_ERROR(job.EnsureAcls());
  Failpoint("provision.after-acls");
  SIQ_RETURN_IF_ERROR(job.Complete());
  log::Get("provision")
      ->info("{}: {} with {} secrets", request.vps.str(),
             OutcomeName(report.outcome), kinds_.size());
  return report;
}

}  // namespace siq::provision
