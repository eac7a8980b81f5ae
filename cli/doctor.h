// `siq doctor`: checks that siq can reach and use Barbican.
#pragma once

#include "cli/app.h"

namespace siq::cli {

extern const Command kDoctorCommand;

}  // namespace siq::cli
