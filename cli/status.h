// `siq status`: the deployment records, as a table or JSON.
#pragma once

#include "cli/app.h"

namespace siq::cli {

extern const Command kStatusCommand;

}  // namespace siq::cli
