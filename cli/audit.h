// `siq audit`: the compliance report, with evidence.
#pragma once

#include "cli/app.h"

namespace siq::cli {

extern const Command kAuditCommand;

}  // namespace siq::cli
