// The table of subcommands, in the order `siq --help` lists them.
#pragma once

#include <array>

#include "cli/app.h"
#include "cli/doctor.h"

namespace siq::cli {

inline const std::array<const Command*, 1> kCommands = {
    &kDoctorCommand,
};

}  // namespace siq::cli
