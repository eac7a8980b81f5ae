#!/usr/bin/env bash
# `siq audit` over about 1 GB of generated Barbican CADF audit events, against
# `grep -c` on the same file: wall time, MB/s, the ratio, and siq's peak
# memory. Appends one dated line to bench/RESULTS.md.
#
#   scripts/bench/audit.sh [MEGABYTES]      (default 1024)
#
# The events (scripts/bench/gen_cadf.py, deterministic), the records and the
# config live in $SIQ_BENCH_DIR (default /tmp/siq-bench-audit), never in the
# repository; they are generated once and reused. Both commands read the
# file from the page cache (it is read once before timing); each is run
# three times and the best time counts. Only the audit-log check runs
# (--only no_human_access): the other checks ask Barbican, not the file.
# Needs a built build/siq and /usr/bin/time.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
SIQ=${SIQ:-$ROOT/build/siq}
MEGABYTES=${1:-1024}
DIR=${SIQ_BENCH_DIR:-/tmp/siq-bench-audit}
EVENTS=$DIR/cadf-${MEGABYTES}m.jsonl
RECORDS=$DIR/cadf-${MEGABYTES}m-records.json
CONFIG=$DIR/cadf-${MEGABYTES}m-siq.yaml
RESULTS=$ROOT/bench/RESULTS.md
RUNS=3

die() { printf 'bench/audit: error: %s\n' "$*" >&2; exit 1; }
[[ $MEGABYTES =~ ^[0-9]+$ ]] || die "MEGABYTES must be a number"
[[ -x $SIQ ]] || die "no siq binary at $SIQ (scripts/build.sh)"
[[ -x /usr/bin/time ]] || die "/usr/bin/time is missing (apt-get install time)"

mkdir -p "$DIR"
if [[ ! -s $EVENTS || ! -s $CONFIG ]]; then
    echo "bench/audit: generating ${MEGABYTES} MB of CADF events in $EVENTS" >&2
    python3 "$ROOT/scripts/bench/gen_cadf.py" "$EVENTS" "$RECORDS" "$CONFIG" \
        --megabytes "$MEGABYTES" >&2
fi
bytes=$(stat -c %s "$EVENTS")
cat "$EVENTS" >/dev/null  # into the page cache, for both

# best_of CMD...: runs CMD $RUNS times; prints "seconds peak_kb" of the
# fastest run. Exit codes 0 and 5 (a failed audit: the file holds human
# reads on purpose) count as success.
best_of() {
    local best="" run out status
    for ((run = 0; run < RUNS; run++)); do
        out=$(mktemp)
        status=0
        # Not >/dev/null: GNU grep stops at the first match when it sees that.
        /usr/bin/time -f '%e %M' -o "$out" "$@" >"$out.stdout" || status=$?
        ((status == 0 || status == 5)) || die "$* exited $status"
        # time(1) puts "Command exited with non-zero status" first.
        read -r seconds peak < <(tail -n 1 "$out")
        rm -f "$out" "$out.stdout"
        if [[ -z $best ]] || awk -v a="$seconds" -v b="${best% *}" 'BEGIN{exit !(a<b)}'; then
            best="$seconds $peak"
        fi
    done
    echo "$best"
}

read -r grep_s grep_kb < <(best_of grep -c /payload "$EVENTS")
read -r siq_s siq_kb < <(best_of "$SIQ" audit --only no_human_access \
    --audit-log "$EVENTS" --config "$CONFIG" --output json)

# The figures that matter, checked: the generator planted 3 payload reads
# and 5 legacy-path reads by a person.
"$SIQ" audit --only no_human_access --audit-log "$EVENTS" --config "$CONFIG" \
    --output json >"$DIR/last-report.json" || true
python3 - "$DIR/last-report.json" <<'PY'
import json, sys
e = json.load(open(sys.argv[1]))["checks"][0]["evidence"]
assert (e["flagged_fail"], e["flagged_warn"], e["malformed_lines"]) == (3, 5, 0), e
PY

mb=$(awk -v b="$bytes" 'BEGIN{printf "%.0f", b/1048576}')
line=$(awk -v mb="$mb" -v g="$grep_s" -v s="$siq_s" -v kb="$siq_kb" '
    BEGIN {
        gs = g > 0 ? mb / g : 0; ss = s > 0 ? mb / s : 0
        printf "%s MB: grep -c %.2f s (%.0f MB/s), siq audit %.2f s (%.0f MB/s), ratio %.2fx, siq peak %.1f MB",
            mb, g, gs, s, ss, (g > 0 ? s / g : 0), kb / 1024
    }')
machine="$(uname -m), $(nproc) cores"
echo "bench/audit: $line ($machine)"

mkdir -p "$(dirname "$RESULTS")"
if [[ ! -f $RESULTS ]]; then
    printf '# Benchmark results\n\nAppended by the scripts under scripts/bench/, one line per run: date, machine, figures.\n' >"$RESULTS"
fi
if ! grep -q '^## audit' "$RESULTS"; then
    printf '\n## audit (scripts/bench/audit.sh: siq audit vs grep -c on generated CADF events; goal: within 2x)\n\n' >>"$RESULTS"
fi
# Keep this section's lines together: insert after its last line.
python3 - "$RESULTS" "- $(date -u +%Y-%m-%dT%H:%MZ), $machine: $line" <<'PY'
import sys
path, entry = sys.argv[1], sys.argv[2]
lines = open(path).read().split('\n')
start = next(i for i, l in enumerate(lines) if l.startswith('## audit'))
end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith('## ')), len(lines))
at = end
while at > start + 1 and lines[at - 1].strip() == '':
    at -= 1
lines.insert(at, entry)
open(path, 'w').write('\n'.join(lines))
PY
