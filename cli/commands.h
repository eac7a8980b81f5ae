// The table of subcommands, in the order `siq --help` lists them.
#pragma once

#include <array>

#include "cli/app.h"
#include "cli/audit.h"
#include "cli/backup.h"
#include "cli/doctor.h"
#include "cli/policy.h"
#include "cli/provision.h"
#include "cli/recover.h"
#include "cli/rotate.h"
#include "cli/run.h"
#include "cli/status.h"

namespace siq::cli {

inline const std::array<const Command*, 9> kCommands = {
    &kProvisionCommand, &kRotateCommand, &kBackupCommand,
    &kRecoverCommand,   &kRunCommand,    &kStatusCommand,
    &kAuditCommand,     &kPolicyCommand, &kDoctorCommand,
};

}  // namespace siq::cli
