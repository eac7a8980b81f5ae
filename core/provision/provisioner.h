// Provisioner: creates a VPS's secrets in Barbican and records them by
// reference. Barbican generates every value through a key order, so siq
// never holds one; one generic container named after the VPS holds the
// secret refs under their kind names; the secrets and the container are
// private with the VPS's reader alone on their read ACLs.
//
// Crash-safe and idempotent: the record is written before each side effect
// and after it, and a re-run continues from the record. A secret whose order
// answer was lost is found by its exact name and adopted; a duplicate secret
// or container left over from an interrupted run is removed, so that a VPS
// ends with exactly one secret per kind and one container. Orders stay in
// Barbican as the record of each generation (its default policy lets only
// admins delete them), each pointing at a secret the record holds. A VPS whose
// record is complete is left alone: no write call at all.
//
// Holds references to the client, the store and the readers, which must
// outlive it. Not safe to share between threads; provisioning different VPSs
// from different threads needs a Provisioner (and Client) per thread.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "core/barbican/client.h"
#include "core/base/clock.h"
#include "core/base/status.h"
#include "core/config/config.h"
#include "core/provision/readers.h"
#include "core/records/deployment.h"
#include "core/records/store.h"

namespace siq::provision {

enum class DryRun { kNo, kYes };

// Who reads the VPS's secrets.
struct ReaderChoice {
  enum class Mode { kExisting, kCreate };
  Mode mode = Mode::kExisting;
  std::string user;        // kExisting: a user id or name
  int credential_fd = -1;  // kCreate: where the credential is written
};

struct Request {
  records::VpsId vps;
  std::string organization;
  std::string environment = "production";
  std::string region;
  ReaderChoice reader;
};

enum class Outcome {
  kProvisioned,      // everything was created in this run
  kResumed,          // an interrupted run was completed
  kAlreadyComplete,  // nothing to do
  kPlanned,          // --dry-run: nothing was done
};

std::string_view OutcomeName(Outcome outcome);

struct Report {
  Outcome outcome = Outcome::kProvisioned;
  records::Deployment deployment;
  // The calls made (or, for a dry run, those that would be made), one line
  // each, in order: "POST /v1/orders  key order vps-1_JWT_SECRET".
  std::vector<std::string> calls;
  bool credential_written = false;
};

class Provisioner {
 public:
  Provisioner(barbican::Client& barbican,
              records::RecordStore& store,
              Readers& readers,
              std::vector<config::SecretKind> kinds,
              Clock& clock = DefaultClock());

  // Provisions `request.vps`, or with DryRun::kYes only says what it would
  // do, from the record alone (no network call). Fails with
  // kInvalidArgument when the request contradicts the record (another
  // organisation, environment, region, or for a complete VPS another
  // reader), and with the first error
  // of a step otherwise; the record then shows how far it got, and running
  // again continues from there.
  [[nodiscard]] Result<Report> Run(const Request& request, DryRun dry_run);

 private:
  class Job;

  barbican::Client& barbican_;
  records::RecordStore& store_;
  Readers& readers_;
  std::vector<config::SecretKind> kinds_;
  Clock& clock_;
};

}  // namespace siq::provision
