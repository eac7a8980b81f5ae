#!/usr/bin/env bash
# Configures and builds siq and its tests in build/ (or $SIQ_BUILD_DIR),
# warnings as errors.
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir="${SIQ_BUILD_DIR:-build}"
cmake -S . -B "$build_dir" -DSIQ_WERROR=ON >/dev/null
cmake --build "$build_dir" -j "$(nproc)"
