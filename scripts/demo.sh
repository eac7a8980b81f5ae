#!/usr/bin/env bash
# The main job, on a machine of your own: installs what is missing, builds
# siq, starts the local Keystone and Barbican, and checks that siq can
# authenticate and store, read back and delete a secret. The stack keeps
# running afterwards; `scripts/dev-stack.sh down` stops it.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
scripts/build.sh
scripts/dev-stack.sh up
eval "$(scripts/dev-stack.sh env)"

siq="${SIQ_BUILD_DIR:-build}/siq"
"$siq" doctor --round-trip
