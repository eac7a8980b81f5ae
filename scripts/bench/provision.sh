#!/usr/bin/env bash
# Provisioning N VPSs (default 20) on the local stack four ways, with the
# same Barbican and Keystone requests per VPS:
#   1. siq provision --batch, one at a time (--parallel 1)
#   2. siq provision --batch --parallel 4
#   3. the openstack client, one command (a new process and token) per call;
#      run on OPENSTACK_VPS VPSs (default 2, it takes about a minute per
#      VPS) and scaled to N
#   4. the curl floor: the same requests by curl, tokens fetched once, each
#      phase (lookups and orders, order reads, containers, ACLs) over one
#      kept-alive connection for the whole fleet; and four such floors at
#      once on a quarter of the fleet each, as the server's capacity
# Prints wall time, requests per second, the ratio of each to the floor and
# siq's peak memory, and appends them to bench/RESULTS.md.
#
# Needs the stack of scripts/dev-stack.sh up (same SIQ_* settings) and
# build/siq built.
#
#   scripts/bench/provision.sh [N]
set -euo pipefail
source "$(dirname "$0")/lib.sh"

readonly N="${1:-20}"
readonly OPENSTACK_VPS="${OPENSTACK_VPS:-2}"
readonly KINDS=(API_KEY_PRIMARY API_KEY_SECONDARY DB_PASSWORD ENCRYPTION_KEY
  JWT_REFRESH_SECRET JWT_SECRET SESSION_SECRET)

WORK="$(mktemp -d)"
chmod 700 "$WORK"
trap 'rm -rf "$WORK"' EXIT
eval "$("$BENCH_ROOT/scripts/dev-stack.sh" env)"
RUN="b$(date +%s)"

# One reader user for every VPS of the run, made by the admin.
make_reader() {
  (
    eval "$("$BENCH_ROOT/scripts/dev-stack.sh" env admin)"
    openstack user create --domain "$SIQ_READERS_DOMAIN_ID" \
      --password "$(openssl rand -hex 16)" -f value -c id "siq-bench-$RUN"
  )
}
READER_NAME="siq-bench-$RUN"
READER_ID="$(make_reader)"

batch_file() {  # prefix count
  echo "vps,org,reader"
  for ((i = 0; i < $2; ++i)); do echo "$1-$i,org-bench,$READER_NAME"; done
}

# --- siq ------------------------------------------------------------------

# Runs siq on a batch; prints "wall_ms requests peak_mb".
run_siq() {  # prefix parallel
  batch_file "$1" "$N" >"$WORK/$1.csv"
  local start end peak
  start="$(bench_now_ms)"
  peak="$(bench_peak_rss_mb "$SIQ" -vv provision --batch "$WORK/$1.csv" \
    --parallel "$2" --records "$WORK/$1.json" -o json \
    2>"$WORK/$1.err" 3>&1 >"$WORK/$1.out")"
  end="$(bench_now_ms)"
  if [[ "$(jq .failed "$WORK/$1.out")" != 0 ]]; then
    echo "provision.sh: siq failed, see below" >&2
    tail "$WORK/$1.err" >&2
    exit 1
  fi
  echo "$((end - start)) $(grep -c 'http: debug: ' "$WORK/$1.err") $peak"
}

# --- curl floor -------------------------------------------------------------

token() {  # scope-json
  curl -s -D - -o /dev/null -H 'Content-Type: application/json' \
    -d "{\"auth\": {\"identity\": {\"methods\": [\"password\"], \"password\":
         {\"user\": {\"name\": \"$OS_USERNAME\", \"domain\": {\"name\":
         \"$OS_USER_DOMAIN_NAME\"}, \"password\": \"$OS_PASSWORD\"}}},
         \"scope\": $1}}" "$OS_AUTH_URL/auth/tokens" |
    awk 'tolower($1) == "x-subject-token:" {print $2}' | tr -d '\r'
}

# Appends one request to curl config file $1.
request() {  # config method url token output [body]
  {
    [[ -s "$1" ]] && echo "next"
    echo "url = \"$3\""
    echo "request = \"$2\""
    echo "header = \"X-Auth-Token: $4\""
    echo "header = \"Content-Type: application/json\""
    echo "header = \"Accept: application/json\""
    echo "header = \"Expect:\""  # no 100-continue pause before a body
    echo "output = \"$5\""
    if [[ -n "${6:-}" ]]; then
      echo "data = \"$(printf '%s' "$6" | tr -d '\n' | sed 's/"/\\"/g')\""
    fi
  } >>"$1"
}

run_curl_floor() {  # prefix [count]
  local prefix="$1" vps_count="${2:-$N}" b="$SIQ_BARBICAN_URL/v1" out="$WORK/$1"
  local cfg="$WORK/$1.cfg"
  mkdir -p "$out"
  local start end count=0
  start="$(bench_now_ms)"
  local project_token domain_token
  project_token="$(token "{\"project\": {\"name\": \"$OS_PROJECT_NAME\",
    \"domain\": {\"name\": \"$OS_PROJECT_DOMAIN_NAME\"}}}")"
  domain_token="$(token "{\"domain\": {\"id\": \"$SIQ_READERS_DOMAIN_ID\"}}")"
  count=2

  : >"$cfg.a"
  for ((i = 0; i < vps_count; ++i)); do
    local vps="$prefix-$i"
    request "$cfg.a" GET "$OS_AUTH_URL/users?name=$READER_NAME&domain_id=$SIQ_READERS_DOMAIN_ID" \
      "$domain_token" "$out/user-$i"
    request "$cfg.a" GET "$b/secrets?name=${vps}_%25&limit=100&offset=0" \
      "$project_token" "$out/list-$i"
    for kind in "${KINDS[@]}"; do
      request "$cfg.a" POST "$b/orders" "$project_token" \
        "$out/order-$i-$kind" "{\"type\": \"key\", \"meta\": {\"name\":
        \"${vps}_$kind\", \"algorithm\": \"aes\", \"bit_length\": 256,
        \"mode\": \"cbc\", \"payload_content_type\":
        \"application/octet-stream\"}}"
    done
    count=$((count + 9))
  done
  curl -s -K "$cfg.a"

  : >"$cfg.b"
  # One jq per phase reads every answer of the last one, in request order.
  local files=() refs=() k
  for ((i = 0; i < vps_count; ++i)); do
    for kind in "${KINDS[@]}"; do files+=("$out/order-$i-$kind"); done
  done
  mapfile -t refs < <(jq -r .order_ref "${files[@]}")
  k=0
  for ((i = 0; i < vps_count; ++i)); do
    for kind in "${KINDS[@]}"; do
      request "$cfg.b" GET "${refs[$k]}" "$project_token" \
        "$out/got-$i-$kind"
      k=$((k + 1))
    done
    request "$cfg.b" GET "$b/containers?name=$prefix-$i&limit=100&offset=0" \
      "$project_token" "$out/containers-$i"
    count=$((count + 8))
  done
  curl -s -K "$cfg.b"

  : >"$cfg.c"
  files=()
  for ((i = 0; i < vps_count; ++i)); do
    for kind in "${KINDS[@]}"; do files+=("$out/got-$i-$kind"); done
  done
  local secrets=()
  mapfile -t secrets < <(jq -r .secret_ref "${files[@]}")
  k=0
  for ((i = 0; i < vps_count; ++i)); do
    local entries=""
    for kind in "${KINDS[@]}"; do
      entries+="${entries:+, }{\"name\": \"$kind\", \"secret_ref\": \"${secrets[$k]}\"}"
      k=$((k + 1))
    done
    request "$cfg.c" POST "$b/containers" "$project_token" \
      "$out/container-$i" "{\"type\": \"generic\", \"name\": \"$prefix-$i\",
      \"secret_refs\": [$entries]}"
    count=$((count + 1))
  done
  curl -s -K "$cfg.c"

  : >"$cfg.d"
  local acl="{\"read\": {\"users\": [\"$READER_ID\"], \"project-access\": false}}"
  files=()
  for ((i = 0; i < vps_count; ++i)); do files+=("$out/container-$i"); done
  local containers=()
  mapfile -t containers < <(jq -r .container_ref "${files[@]}")
  k=0
  for ((i = 0; i < vps_count; ++i)); do
    for kind in "${KINDS[@]}"; do
      request "$cfg.d" PUT "${secrets[$k]}/acl" "$project_token" \
        /dev/null "$acl"
      k=$((k + 1))
    done
    request "$cfg.d" PUT "${containers[$i]}/acl" "$project_token" \
      /dev/null "$acl"
    count=$((count + 8))
  done
  curl -s -K "$cfg.d"
  end="$(bench_now_ms)"
  rm -f "$cfg".?
  echo "$((end - start)) $count"
}

# The server's capacity: four curl floors at once, each on a quarter of the
# VPSs. Prints "wall_ms requests".
run_curl_parallel() {  # prefix
  local start end total=0 part
  start="$(bench_now_ms)"
  for part in 0 1 2 3; do
    run_curl_floor "$1-$part" $(((N + 3 - part) / 4)) >"$WORK/$1-$part.result" &
  done
  wait
  end="$(bench_now_ms)"
  for part in 0 1 2 3; do
    total=$((total + $(cut -d' ' -f2 "$WORK/$1-$part.result")))
  done
  echo "$((end - start)) $total"
}

# --- openstack client -------------------------------------------------------

run_openstack() {  # prefix count
  local start end count=0
  start="$(bench_now_ms)"
  for ((i = 0; i < $2; ++i)); do
    local vps="$1-$i" refs=() kind order secret
    OS_PROJECT_NAME='' OS_PROJECT_DOMAIN_NAME='' \
      OS_DOMAIN_ID="$SIQ_READERS_DOMAIN_ID" openstack user show \
      --domain "$SIQ_READERS_DOMAIN_ID" -f value -c id "$READER_NAME" >/dev/null
    openstack secret list --name "${vps}_%" -f value >/dev/null
    local orders=()
    for kind in "${KINDS[@]}"; do
      orders+=("$(openstack secret order create --name "${vps}_$kind" \
        --algorithm aes --bit-length 256 --mode cbc \
        --payload-content-type application/octet-stream key \
        -f value -c 'Order href')")
    done
    local k=0
    for order in "${orders[@]}"; do
      secret="$(openstack secret order get "$order" -f value -c 'Secret href')"
      refs+=(--secret "${KINDS[$k]}=$secret")
      k=$((k + 1))
    done
    openstack secret container list --name "$vps" -f value >/dev/null
    local container
    container="$(openstack secret container create --name "$vps" \
      --type generic "${refs[@]}" -f value -c 'Container href')"
    for ((k = 1; k < ${#refs[@]}; k += 2)); do
      openstack acl submit --user "$READER_ID" --no-project-access \
        "${refs[$k]#*=}" >/dev/null
    done
    openstack acl submit --user "$READER_ID" --no-project-access \
      "$container" >/dev/null
    count=$((count + 26))
  done
  end="$(bench_now_ms)"
  echo "$((end - start)) $count"
}

# --- run and report ---------------------------------------------------------

echo "provision.sh: $N VPSs; curl floor ..." >&2
read -r floor_ms floor_requests < <(run_curl_floor "$RUN-curl")
echo "provision.sh: curl floor, 4 at once ..." >&2
read -r cap_ms cap_requests < <(run_curl_parallel "$RUN-cap")
echo "provision.sh: siq sequential ..." >&2
read -r seq_ms seq_requests seq_mb < <(run_siq "$RUN-seq" 1)
echo "provision.sh: siq --parallel 4 ..." >&2
read -r par_ms par_requests par_mb < <(run_siq "$RUN-par" 4)
echo "provision.sh: openstack client on $OPENSTACK_VPS VPSs ..." >&2
read -r os_ms os_requests < <(run_openstack "$RUN-os" "$OPENSTACK_VPS")
os_scaled_ms=$((os_ms * N / OPENSTACK_VPS))

rate() { awk -v r="$1" -v ms="$2" 'BEGIN {printf "%.1f", r * 1000 / ms}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a / b}'; }

report="$(
  cat <<REPORT
$N VPSs, 7 key orders each; requests counted per run (tokens included).

| way | wall | requests | requests/s | VPS/s | x floor | peak RSS |
|---|---|---|---|---|---|---|
| curl floor (one connection per phase, tokens once) | ${floor_ms} ms | $floor_requests | $(rate "$floor_requests" "$floor_ms") | $(rate "$N" "$floor_ms") | 1.00 | - |
| curl floor, 4 at once (the server's capacity) | ${cap_ms} ms | $cap_requests | $(rate "$cap_requests" "$cap_ms") | $(rate "$N" "$cap_ms") | $(ratio "$cap_ms" "$floor_ms") | - |
| siq --batch --parallel 1 | ${seq_ms} ms | $seq_requests | $(rate "$seq_requests" "$seq_ms") | $(rate "$N" "$seq_ms") | $(ratio "$seq_ms" "$floor_ms") | ${seq_mb} MB |
| siq --batch --parallel 4 | ${par_ms} ms | $par_requests | $(rate "$par_requests" "$par_ms") | $(rate "$N" "$par_ms") | $(ratio "$par_ms" "$floor_ms") | ${par_mb} MB |
| openstack client (${OPENSTACK_VPS} VPSs, scaled to $N) | ${os_scaled_ms} ms | $((os_requests * N / OPENSTACK_VPS)) commands | $(rate "$os_requests" "$os_ms") | $(rate "$OPENSTACK_VPS" "$os_ms") | $(ratio "$os_scaled_ms" "$floor_ms") | - |

siq --parallel 4 / curl 4 at once: $(ratio "$par_ms" "$cap_ms") (1.00 = the server's capacity).
openstack / siq sequential: $(ratio "$os_scaled_ms" "$seq_ms")x; openstack / siq --parallel 4: $(ratio "$os_scaled_ms" "$par_ms")x.
REPORT
)"
echo "$report"
echo "$report" | bench_append "Provisioning (scripts/bench/provision.sh $N)"
