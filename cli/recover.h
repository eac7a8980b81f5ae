// `siq recover`: the recovery ladder for one VPS or all of them -- nothing
// to do, rebuilt from what Barbican holds and the backup, or re-provisioned
// with the customer told.
#pragma once

#include "cli/app.h"

namespace siq::cli {

extern const Command kRecoverCommand;

}  // namespace siq::cli
