// `siq policy`: the YAML IAM policies checked, tested, explained, and
// rendered as a Barbican policy override.
#pragma once

#include "cli/app.h"

namespace siq::cli {

extern const Command kPolicyCommand;

}  // namespace siq::cli
