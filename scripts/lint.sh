#!/usr/bin/env bash
# The style checks CI runs: clang-format must have nothing to change, and
# clang-tidy nothing to say. Needs a configured build dir for clang-tidy.
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir="${SIQ_BUILD_DIR:-build}"
mapfile -t sources < <(git ls-files -- '*.cc' '*.h')

echo "lint: clang-format on ${#sources[@]} files" >&2
clang-format --dry-run -Werror "${sources[@]}"

mapfile -t units < <(git ls-files -- 'cli/*.cc' 'core/*.cc')
echo "lint: clang-tidy on ${#units[@]} files" >&2
printf '%s\n' "${units[@]}" |
  xargs -P "$(nproc)" -n 4 clang-tidy -p "$build_dir" --quiet \
    --warnings-as-errors='*' 2>/dev/null
