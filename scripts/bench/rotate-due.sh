#!/usr/bin/env bash
# `siq rotate --due --dry-run` over a generated record file of COUNT VPSs
# (default 100,000; default catalog, 7 kinds each; the JSON-lines layout of
# schema_version 2, as siq writes it) with nothing due: wall
# time and peak memory (goal: under 1 s and 200 MB). Also times the record
# store's own reads over the same file with build/siq_record_bench:
# ForEach (streaming, what rotate --due uses) and LoadAll.
# Appends the figures to bench/RESULTS.md.
#
#   scripts/bench/rotate-due.sh [COUNT]
set -euo pipefail
source "$(dirname "$0")/lib.sh"

readonly COUNT="${1:-100000}"
readonly RECORD_BENCH="${RECORD_BENCH:-$BENCH_ROOT/build/siq_record_bench}"

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
records="$WORK/deployments.json"
config="$WORK/siq.yaml"
echo "records: $records" >"$config"

echo "rotate-due.sh: generating $COUNT records ..." >&2
"$RECORD_BENCH" generate "$COUNT" "$records"
size_mb="$(du -m "$records" | cut -f1)"
cat "$records" >/dev/null  # in the page cache, as on a machine that runs cron

# "wall_ms peak_mb" of "$@".
measure() {
  local start end peak
  start="$(bench_now_ms)"
  peak="$(bench_peak_rss_mb "$@" 3>&1 >/dev/null)"
  end="$(bench_now_ms)"
  echo "$((end - start)) $peak"
}

rows=""
# `siq rotate` comes from another branch; measure it once it is built in.
if "$SIQ" --help 2>/dev/null | grep -qE '^ +rotate '; then
  read -r ms mb < <(measure "$SIQ" rotate --due --dry-run \
    --records "$records" --config "$config")
  rows+="| \`siq rotate --due --dry-run\` | ${ms} ms | ${mb} MB |"$'\n'
else
  rows+="| \`siq rotate --due --dry-run\` | not in this build | - |"$'\n'
fi
for mode in for-each load-all; do
  read -r ms mb < <(measure "$RECORD_BENCH" "$mode" "$records")
  rows+="| FileRecordStore::$([[ $mode == for-each ]] && echo ForEach || echo LoadAll) (siq_record_bench $mode) | ${ms} ms | ${mb} MB |"$'\n'
done

report="$(
  cat <<REPORT
$COUNT records, nothing due; record file ${size_mb} MB.

| what | wall | peak RSS |
|---|---|---|
${rows%$'\n'}

Goal for \`rotate --due --dry-run\`: under 1 s and 200 MB.
REPORT
)"
echo "$report"
echo "$report" | bench_append "Record store at fleet scale (scripts/bench/rotate-due.sh $COUNT)"
