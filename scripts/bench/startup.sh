#!/usr/bin/env bash
# Start-up time: `siq --version` against `openstack --version`.
# Uses hyperfine when it is installed, else a timed loop. Appends the figures
# to bench/RESULTS.md.
#
#   scripts/bench/startup.sh [RUNS]   (default 50 for siq, 5 for openstack)
set -euo pipefail
source "$(dirname "$0")/lib.sh"

readonly RUNS="${1:-50}"
readonly OPENSTACK_RUNS="${OPENSTACK_RUNS:-5}"

# "wall cpu": mean milliseconds of one run of "$@" over $1 runs, on the
# clock and on the CPU (user + system). On a busy machine the wall time
# includes waiting for a CPU; the CPU time does not.
mean_ms() {
  local runs="$1"
  shift
  if command -v hyperfine >/dev/null; then
    local json
    json="$(mktemp)"
    hyperfine -N --warmup 3 --runs "$runs" --export-json "$json" \
      "$*" >/dev/null 2>&1
    jq -r '.results[0] | [.mean, .user + .system]
      | map(. * 100000 | round / 100) | join(" ")' "$json"
    rm -f "$json"
  else
    local start end
    "$@" >/dev/null 2>&1
    start="$(date +%s%N)"
    for ((i = 0; i < runs; ++i)); do "$@" >/dev/null 2>&1; done
    end="$(date +%s%N)"
    awk -v ns="$((end - start))" -v n="$runs" 'BEGIN {printf "%.2f -", ns / n / 1e6}'
  fi
}

read -r siq_ms siq_cpu < <(mean_ms "$RUNS" "$SIQ" --version)
read -r openstack_ms openstack_cpu < <(mean_ms "$OPENSTACK_RUNS" openstack --version)
read -r true_ms true_cpu < <(mean_ms "$RUNS" /bin/true)
ratio="$(awk -v a="$openstack_ms" -v b="$siq_ms" 'BEGIN {printf "%.1f", a / b}')"
tool="$(command -v hyperfine >/dev/null && echo hyperfine || echo 'a loop')"

report="$(
  cat <<REPORT
| command | mean wall | mean CPU (user+sys) | runs |
|---|---|---|---|
| \`siq --version\` | ${siq_ms} ms | ${siq_cpu} ms | $RUNS |
| \`openstack --version\` | ${openstack_ms} ms | ${openstack_cpu} ms | $OPENSTACK_RUNS |
| \`/bin/true\` (the machine's floor) | ${true_ms} ms | ${true_cpu} ms | $RUNS |

siq starts ${ratio}x faster (goal: under 10 ms). Measured with ${tool}.
REPORT
)"
echo "$report"
echo "$report" | bench_append "Start-up (scripts/bench/startup.sh)"
