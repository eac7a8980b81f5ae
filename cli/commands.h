// The table of subcommands, in the order `siq --help` lists them.
#pragma once

#include <array>

#include "cli/app.h"
#include "cli/doctor.h"
#include "cli/provision.h"
#include "cli/status.h"

namespace siq::cli {

inline const std::array<const Command*, 3> kCommands = {
    &kProvisionCommand,
    &kStatusCommand,
    &kDoctorCommand,
};

}  // namespace siq::cli
