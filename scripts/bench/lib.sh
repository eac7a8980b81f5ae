# Shared by the benchmark scripts: where things are, the machine line, and
# appending a section to bench/RESULTS.md. Sourced, not run.

readonly BENCH_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
readonly BENCH_RESULTS="${BENCH_RESULTS:-$BENCH_ROOT/bench/RESULTS.md}"
readonly SIQ="${SIQ:-$BENCH_ROOT/build/siq}"

bench_machine() {
  local cpu
  cpu="$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
  echo "$(uname -m), $(nproc) CPUs, ${cpu:-unknown CPU}"
}

# Appends stdin as a section titled "$1" to bench/RESULTS.md, creating the
# file with its header first.
bench_append() {
  local title="$1"
  mkdir -p "$(dirname "$BENCH_RESULTS")"
  if [[ ! -e "$BENCH_RESULTS" ]]; then
    cat >"$BENCH_RESULTS" <<'HEADER'
# siq benchmark results

Each section was appended by a script under `scripts/bench/`, on the local
stack of `scripts/dev-stack.sh`; it names its date and machine. The goals are
in issue #8. Figures from a shared or busy machine are noisy: compare ratios
measured in the same run.
HEADER
  fi
  {
    echo
    echo "## $title — $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo
    echo "Machine: $(bench_machine)"
    echo
    cat
  } >>"$BENCH_RESULTS"
}

# Milliseconds since the epoch.
bench_now_ms() { date +%s%3N; }

# Runs "$@" under /usr/bin/time; prints the peak RSS in MB on fd 3.
bench_peak_rss_mb() {
  local log
  log="$(mktemp)"
  /usr/bin/time -f '%M' -o "$log" "$@"
  local status=$?
  awk '{printf "%.1f\n", $1 / 1024}' "$log" >&3
  rm -f "$log"
  return $status
}
