// `siq provision`: a VPS's secrets generated in Barbican and recorded.
#pragma once

#include "cli/app.h"

namespace siq::cli {

extern const Command kProvisionCommand;

}  // namespace siq::cli
