// `siq backup`: an encrypted bundle of records, catalog, policies and
// Barbican metadata; `siq backup verify`: the backup directory's manifest
// chain checked against its bundles.
#pragma once

#include "cli/app.h"

namespace siq::cli {

extern const Command kBackupCommand;

}  // namespace siq::cli
