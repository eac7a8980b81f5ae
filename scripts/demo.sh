#!/usr/bin/env bash
# The main job, on a machine of your own: installs what is missing, builds
# siq, starts the local Keystone and Barbican, provisions a demo VPS and
# shows its deployment record. Running it again finds the VPS complete and
# changes nothing. The stack keeps running afterwards for you to try siq by
# hand; `scripts/dev-stack.sh down` stops it.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
scripts/build.sh
scripts/dev-stack.sh up
eval "$(scripts/dev-stack.sh env)"

siq="${SIQ_BUILD_DIR:-build}/siq"
vps="${SIQ_DEMO_VPS:-demo-vps-001}"
records="$SIQ_STACK_DIR/deployments.json"
# The reader's credential is what the VPS would receive; the shell, not siq,
# writes it, to a file only root can read.
credential="$SIQ_STACK_DIR/$vps-reader.yaml"

umask 077
if [[ -s "$credential" ]]; then
  "$siq" provision --vps "$vps" --org demo-org --records "$records" \
    --create-reader --reader-credential-fd 3 3>>"$credential"
else
  "$siq" provision --vps "$vps" --org demo-org --records "$records" \
    --create-reader --reader-credential-fd 3 3>"$credential"
fi
echo
"$siq" status --records "$records"
echo
echo "The VPS's reader credential is in $credential (cloud siq-reader)."
