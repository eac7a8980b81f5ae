#!/usr/bin/env bash
# Every test siq has: installs what is missing, builds with warnings as
# errors, checks style, starts the local OpenStack stack, runs the unit and
# integration tests with ctest, and stops the stack again.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"

scripts/install-deps.sh
scripts/build.sh
scripts/lint.sh

scripts/dev-stack.sh up
# Cleanup never decides the result: ctest's exit code does.
trap '"$root/scripts/dev-stack.sh" down || true' EXIT
eval "$(scripts/dev-stack.sh env)"

cd "${SIQ_BUILD_DIR:-build}"
ctest --output-on-failure --timeout 600 "$@"
