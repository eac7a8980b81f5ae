// `siq rotate`: scheduled and forced rotation of a VPS's secrets.
#pragma once

#include "cli/app.h"

namespace siq::cli {

extern const Command kRotateCommand;

}  // namespace siq::cli
