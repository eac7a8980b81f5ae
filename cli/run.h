// `siq run`: the VPS's application started with its secrets in memory.
#pragma once

#include "cli/app.h"

namespace siq::cli {

extern const Command kRunCommand;

}  // namespace siq::cli
