// ApplyAcls: `siq policy apply`, making Barbican's read ACLs match the
// deployment records and the policies. The policies let a VPS read only its
// own secrets; Barbican cannot see names, so siq makes that real per
// object: every secret of a VPS (current, pending and previous) and its
// container are private (project-access false) with exactly the VPS's
// reader on the read ACL. Any other user is removed, a missing reader
// added.
//
// Each object's ACL is read, compared, and written back whole (PUT) only
// when it drifted; with DryRun::kYes nothing is written. A failure on one
// object is reported with it and the others go on, so a re-run finishes
// the job. Records still provisioning are skipped: provisioning sets their
// ACLs when it finishes.
//
// Network: a GET per object, a PUT per drifted one. Holds a reference to
// the client for the call only. Not safe to share between threads.
#pragma once

#include <string>
#include <vector>

#include "core/barbican/client.h"
#include "core/base/status.h"
#include "core/records/deployment.h"

namespace siq::policy {

enum class DryRun { kNo, kYes };

// One object whose ACL drifted, or could not be checked or fixed.
struct AclDrift {
  enum class Outcome { kFixed, kWouldFix, kFailed };

  std::string vps;
  // "container", or the secret's kind and version: "JWT_SECRET",
  // "JWT_SECRET (pending)", "JWT_SECRET (previous)".
  std::string resource;
  std::string ref;
  // What differed, in words: "project-access was true", "user U removed",
  // "reader R added".
  std::vector<std::string> changes;
  Outcome outcome = Outcome::kFixed;
  Status status;  // why, for kFailed
};

std::string_view OutcomeName(AclDrift::Outcome outcome);

struct ApplyReport {
  DryRun dry_run = DryRun::kNo;
  int vps_checked = 0;
  int acls_checked = 0;
  std::vector<std::string> skipped;  // VPSs still provisioning
  std::vector<AclDrift> drifts;      // in record order

  int failed() const;
};

// Checks and fixes every record's objects as the header says. Fails as a
// whole only when the acting role's policy refuses a request (the guard's
// kPermissionDenied without an HTTP status): the policy would refuse every
// other object too. Fixes made before that stay made.
[[nodiscard]] Result<ApplyReport> ApplyAcls(
    barbican::Client& client,
    const std::vector<records::Deployment>& deployments,
    DryRun dry_run);

}  // namespace siq::policy
