#!/usr/bin/env bash
# Real PostgreSQL + Keystone (two processes) + Barbican on loopback, from
# Debian's packages, for siq's integration tests and README demo.
# Config templates, the Keystone policy and the identity seeding live in
# scripts/stack/; scripts/stack/smoke-test.sh checks a running stack end to end.
set -euo pipefail

usage() {
    cat <<EOF
Usage: scripts/dev-stack.sh up | down [--purge] | status | env [deployer|admin]

  up       start PostgreSQL, Keystone, the short-token Keystone and Barbican;
           initialises the state dir on first use, only restarts on later ones
  down     stop what 'up' started; --purge also deletes the state dir
  status   one line per component; exit 0 only if all are running
  env      print export lines: eval "\$(scripts/dev-stack.sh env)"

Environment (defaults):
  SIQ_STACK_DIR=/tmp/siq-stack     state: data, configs, secrets, logs, pids
  SIQ_PG_PORT=55432                private PostgreSQL cluster
  SIQ_KEYSTONE_PORT=55000          Keystone, 1 h tokens
  SIQ_KEYSTONE_SHORT_PORT=55001    same Keystone data, short-lived tokens
  SIQ_SHORT_TOKEN_SECONDS=10       token lifetime of the short one
  SIQ_BARBICAN_PORT=59311          Barbican
Runs as root (PostgreSQL runs as user postgres) with the Debian packages that
scripts/install-deps.sh installs.
EOF
}

STACK_DIR=${SIQ_STACK_DIR:-/tmp/siq-stack}
PG_PORT=${SIQ_PG_PORT:-55432}
KS_PORT=${SIQ_KEYSTONE_PORT:-55000}
KS_SHORT_PORT=${SIQ_KEYSTONE_SHORT_PORT:-55001}
SHORT_SECONDS=${SIQ_SHORT_TOKEN_SECONDS:-10}
BB_PORT=${SIQ_BARBICAN_PORT:-59311}

# Other pythons on the machine (pyenv, venvs) cannot see the Debian packages.
PY=/usr/bin/python3
PG_BIN=/usr/lib/postgresql/15/bin
# The package's pristine copies, not /etc/barbican's (a real Barbican's, editable).
BARBICAN_SHARE=/usr/share/barbican-common
STACK_PY=$(cd "$(dirname "${BASH_SOURCE[0]}")/stack" && pwd)
PGDATA=$STACK_DIR/pg/data
SECRETS=$STACK_DIR/secrets
RUN=$STACK_DIR/run
KS_URL=http://127.0.0.1:$KS_PORT/v3
KS_SHORT_URL=http://127.0.0.1:$KS_SHORT_PORT/v3
BB_URL=http://127.0.0.1:$BB_PORT
AUDIT_LOG=$STACK_DIR/barbican-audit.jsonl
SERVERS=(keystone keystone-short barbican)

log() { printf 'dev-stack: [%2ds] %s\n' "$SECONDS" "$*" >&2; }
die() { printf 'dev-stack: error: %s\n' "$*" >&2; exit 1; }

# Paths end up unquoted in ini files and in pg_ctl's -o string.
[[ $STACK_DIR =~ ^/[A-Za-z0-9._/-]+$ ]] || die "SIQ_STACK_DIR must be an absolute path of [A-Za-z0-9._/-]"
for n in "$PG_PORT" "$KS_PORT" "$KS_SHORT_PORT" "$BB_PORT" "$SHORT_SECONDS"; do
    [[ $n =~ ^[0-9]+$ ]] || die "ports and SIQ_SHORT_TOKEN_SECONDS must be numbers, not '$n'"
done

require_packages() {
    [[ $EUID -eq 0 ]] || die "must run as root (PostgreSQL runs as user postgres via runuser)"
    [[ -x $PY ]] || die "missing package: python3 (/usr/bin/python3)"
    local missing=() pkg
    [[ -x $PG_BIN/initdb ]] || missing+=(postgresql-15)
    [[ -x /usr/bin/keystone-manage ]] || missing+=(python3-keystone)
    [[ -f $BARBICAN_SHARE/barbican-api-paste.ini ]] || missing+=(barbican-common)
    command -v curl >/dev/null || missing+=(curl)
    command -v openssl >/dev/null || missing+=(openssl)
    while read -r pkg; do missing+=("$pkg"); done < <("$PY" -c '
from importlib.util import find_spec
for mod in "keystone barbican waitress psycopg2 keystonemiddleware keystoneclient paste".split():
    if find_spec(mod) is None:
        print("python3-" + mod)
if find_spec("paste") and find_spec("paste.deploy") is None:
    print("python3-pastedeploy")')
    ((${#missing[@]} == 0)) || die "missing packages: ${missing[*]} (apt-get install them, or run scripts/install-deps.sh)"
}

as_pg() { runuser -u postgres -- "$@"; }
pg_running() { [[ -f $PGDATA/PG_VERSION ]] && as_pg "$PG_BIN/pg_ctl" -D "$PGDATA" status >/dev/null 2>&1; }
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# A pid file counts only while its process is still the server we started.
server_pid() {
    local pid_file=$RUN/$1.pid pid
    [[ -f $pid_file ]] || return 1
    pid=$(<"$pid_file")
    [[ -r /proc/$pid/cmdline && $(tr '\0' ' ' <"/proc/$pid/cmdline") == *waitress* ]] || return 1
    echo "$pid"
}

port_of() {
    case $1 in
        postgres) echo "$PG_PORT" ;; keystone) echo "$KS_PORT" ;;
        keystone-short) echo "$KS_SHORT_PORT" ;; barbican) echo "$BB_PORT" ;;
    esac
}

running() { if [[ $1 == postgres ]]; then pg_running; else server_pid "$1" >/dev/null; fi; }

fail_with_log() {
    local f
    log "$1"
    for f in "${@:2}"; do
        [[ -s $f ]] && log "last lines of $f:" && tail -n 30 "$f" >&2
    done
    log "whatever did start keeps running; scripts/dev-stack.sh down stops it"
    exit 1
}

# run_clean VAR=value... -- COMMAND...: execs COMMAND with only these variables
# (a caller's OS_* variables would leak into oslo.config). `export`, unlike
# `env VAR=value`, keeps the values (passwords) off any argv. Use in a subshell.
run_clean() {
    local vars=()
    while [[ $1 != -- ]]; do vars+=("$1") && shift; done
    shift
    # shellcheck disable=SC2046  # names of variables have no spaces
    unset $(compgen -e) 2>/dev/null || true
    export PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 PYTHONDONTWRITEBYTECODE=1 "${vars[@]}"
    exec "$@"
}

# render TEMPLATE DEST VAR=value...: fills the ${VAR}s of scripts/stack/TEMPLATE.in.
render() {
    local src=$STACK_PY/$1.in dest=$2
    shift 2
    rm -f "$dest"
    (umask 077 && run_clean STACK_DIR="$STACK_DIR" "$@" -- "$PY" -c 'import os, string, sys
sys.stdout.write(string.Template(open(sys.argv[1]).read()).substitute(os.environ))' "$src" >"$dest") ||
        die "rendering $src failed"
}

secret() { cat "$SECRETS/$1"; }

prepare_state_dir() {
    mkdir -p "$STACK_DIR" "$RUN"
    # postgres must traverse the state dir to reach its data dir.
    chmod 711 "$STACK_DIR"
    as_pg test -x "$STACK_DIR" || die "user postgres cannot reach $STACK_DIR; pick another SIQ_STACK_DIR"
    touch "$STACK_DIR/.siq-dev-stack"
    (umask 077 && mkdir -p "$SECRETS")
    local name
    # Generated once per state dir; later runs reuse them.
    for name in admin barbican siq-deployer pg-keystone pg-barbican barbican-kek; do
        [[ -s $SECRETS/$name ]] && continue
        if [[ $name == barbican-kek ]]; then
            # simple_crypto's kek: URL-safe base64 of 32 random bytes.
            (umask 077 && openssl rand -base64 32 | tr '+/' '-_' >"$SECRETS/$name")
        else
            (umask 077 && openssl rand -hex 24 >"$SECRETS/$name")
        fi
    done
}

start_postgres() {
    if [[ ! -f $PGDATA/PG_VERSION ]]; then
        log "postgres: initdb (private cluster in $PGDATA)"
        rm -rf "$PGDATA"
        install -d -o postgres -g postgres -m 700 "$STACK_DIR/pg" "$STACK_DIR/pg/run"
        as_pg "$PG_BIN/initdb" -D "$PGDATA" -U postgres -E UTF8 --locale=C.UTF-8 \
            --auth-local=peer --auth-host=scram-sha-256 >"$STACK_DIR/initdb.log" 2>&1 ||
            fail_with_log "initdb failed" "$STACK_DIR/initdb.log"
        # Disposable dev data: durability would only slow db_sync down.
        printf '%s\n' "fsync = off" "synchronous_commit = off" "full_page_writes = off" \
            >>"$PGDATA/postgresql.conf"
    fi
    if ! pg_running; then
        port_open "$PG_PORT" && die "port $PG_PORT is taken by another process (set SIQ_PG_PORT)"
        log "postgres: starting on 127.0.0.1:$PG_PORT"
        touch "$STACK_DIR/postgres.log" && chown postgres: "$STACK_DIR/postgres.log"
        # Given at start rather than in postgresql.conf, so a reused state dir follows SIQ_PG_PORT.
        as_pg "$PG_BIN/pg_ctl" -D "$PGDATA" -l "$STACK_DIR/postgres.log" -w -t 30 \
            -o "-c port=$PG_PORT -c listen_addresses=127.0.0.1 -c unix_socket_directories=$STACK_DIR/pg/run" \
            start >/dev/null || fail_with_log "postgres did not start" "$STACK_DIR/postgres.log"
    fi
    head -n 1 "$PGDATA/postmaster.pid" >"$RUN/postgres.pid"
    local db sql=""
    for db in keystone barbican; do
        sql+="SELECT 'CREATE ROLE $db LOGIN' WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$db')\\gexec
ALTER ROLE $db PASSWORD '$(secret "pg-$db")';
SELECT 'CREATE DATABASE $db OWNER $db' WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = '$db')\\gexec
"
    done
    # Barbican stores bytes in text columns; with the default 'hex' output the
    # project KEK reads back mangled and a project's 2nd secret fails (500, InvalidToken).
    sql+="ALTER DATABASE barbican SET bytea_output = 'escape';"
    as_pg "$PG_BIN/psql" -h "$STACK_DIR/pg/run" -p "$PG_PORT" -U postgres -d postgres \
        -v ON_ERROR_STOP=1 -q <<<"$sql" >>"$STACK_DIR/postgres.log" 2>&1 ||
        fail_with_log "creating the databases failed" "$STACK_DIR/postgres.log"
}

db_url() { echo "postgresql+psycopg2://$1:$(secret "pg-$1")@127.0.0.1:$PG_PORT/$1"; }

write_configs() {
    render keystone.conf "$STACK_DIR/keystone.conf" DB_URL="$(db_url keystone)"
    render keystone-short.conf "$STACK_DIR/keystone-short.conf" SHORT_SECONDS="$SHORT_SECONDS"
    (run_clean -- "$PY" "$STACK_PY/siq_keystone_policy.py" "$STACK_DIR/keystone-policy.yaml")
    render barbican.conf "$STACK_DIR/barbican.conf" DB_URL="$(db_url barbican)" BARBICAN_URL="$BB_URL" \
        KEK="$(secret barbican-kek)" KEYSTONE_URL="$KS_URL" SERVICE_PASSWORD="$(secret barbican)"
    render barbican-logging.ini "$STACK_DIR/barbican-logging.ini" AUDIT_LOG="$AUDIT_LOG"
    # The stock paste ini serves /v1 through a pipeline without the audit middleware.
    sed -e 's|^/v1: barbican-api-keystone$|/v1: barbican-api-keystone-audit|' \
        -e "s|^audit_map_file = .*|audit_map_file = $STACK_DIR/api_audit_map.conf|" \
        -e "s|^disable_by_file_path = .*|disable_by_file_path = $STACK_DIR/barbican-healthcheck-disable|" \
        "$BARBICAN_SHARE/barbican-api-paste.ini" >"$STACK_DIR/barbican-api-paste.ini"
    grep -q '^/v1: barbican-api-keystone-audit$' "$STACK_DIR/barbican-api-paste.ini" ||
        die "$BARBICAN_SHARE/barbican-api-paste.ini no longer has the expected /v1 pipeline"
    cp "$BARBICAN_SHARE/api_audit_map.conf" "$STACK_DIR/api_audit_map.conf"
    # Barbican parses its config at import time, and each plugin module again,
    # always from the default locations, where ~/.barbican/ comes before
    # /etc/barbican/: a private HOME makes all of them read ours and only ours.
    mkdir -p "$STACK_DIR/barbican-home/.barbican"
    ln -sf "$STACK_DIR/barbican.conf" "$STACK_DIR/barbican-home/.barbican/barbican.conf"
}

init_keystone() {
    [[ -f $STACK_DIR/keystone.initialised ]] && return 0
    log "keystone: db_sync, fernet_setup, credential_setup, bootstrap"
    # bootstrap reads the admin password from the environment, not argv.
    (run_clean OS_BOOTSTRAP_PASSWORD="$(secret admin)" -- "$PY" "$STACK_PY/siq_keystone_init.py" \
        "$STACK_DIR/keystone.conf" "$KS_URL") >"$STACK_DIR/keystone-manage.log" 2>&1 ||
        fail_with_log "keystone-manage failed" "$STACK_DIR/keystone-manage.log" "$STACK_DIR/keystone.log"
    touch "$STACK_DIR/keystone.initialised"
}

# spawn NAME PORT VAR=value...: serves NAME_app of scripts/stack/siq_stack_wsgi.py
# with waitress; setsid keeps a Ctrl-C in the caller's shell away from it.
spawn() {
    local name=$1 port=$2
    shift 2
    port_open "$port" && die "port $port is taken by another process (see scripts/dev-stack.sh --help)"
    log "$name: starting on 127.0.0.1:$port"
    (cd "$STACK_DIR" && run_clean PYTHONPATH="$STACK_PY" "$@" -- setsid "$PY" -m waitress \
        --listen="127.0.0.1:$port" --threads=8 --call "siq_stack_wsgi:${name%-short}_app") \
        </dev/null >"$STACK_DIR/$name.out" 2>&1 &
    echo $! >"$RUN/$name.pid"
}

# Barbican needs only PostgreSQL to start (keystonemiddleware contacts
# Keystone on the first request), so it starts while Keystone initialises.
start_barbican() {
    server_pid barbican >/dev/null && return 0
    # Tests drop overrides here at runtime; a restarted Barbican starts from none.
    echo '{}' >"$STACK_DIR/barbican-policy.yaml"
    spawn barbican "$BB_PORT" HOME="$STACK_DIR/barbican-home" \
        SIQ_BARBICAN_PASTE="$STACK_DIR/barbican-api-paste.ini" \
        OS_SIMPLE_CRYPTO_PLUGIN__KEK="$(secret barbican-kek)"
}

start_keystones() {
    server_pid keystone >/dev/null ||
        spawn keystone "$KS_PORT" HOME="$STACK_DIR" OS_KEYSTONE_CONFIG_DIR="$STACK_DIR"
    server_pid keystone-short >/dev/null ||
        spawn keystone-short "$KS_SHORT_PORT" HOME="$STACK_DIR" OS_KEYSTONE_CONFIG_DIR="$STACK_DIR" \
            OS_KEYSTONE_CONFIG_FILES="keystone.conf;keystone-short.conf"
}

wait_for() {
    local name=$1 url=$2 i logs=("$STACK_DIR/$1.out" "$STACK_DIR/$1.log")
    for ((i = 0; i < 240; i++)); do
        curl -s -o /dev/null --max-time 5 "$url" && return 0
        server_pid "$name" >/dev/null || fail_with_log "$name exited" "${logs[@]}"
        sleep 0.25
    done
    fail_with_log "$name did not answer on $url within 60 s" "${logs[@]}"
}

seed_keystone() {
    # What the seed wrote lives in the database: redo it only for new ports or a new seed.
    local stamp
    stamp="$KS_URL $KS_SHORT_URL $BB_URL $(md5sum <"$STACK_PY/siq_stack_seed.py")"
    [[ -f $STACK_DIR/clouds.yaml && $(cat "$STACK_DIR/seeded-for" 2>/dev/null) == "$stamp" ]] && return 0
    log "keystone: creating siq's projects, users, roles, catalog entries; clouds.yaml"
    (run_clean SIQ_STACK_DIR="$STACK_DIR" SIQ_KEYSTONE_URL="$KS_URL" SIQ_SHORT_AUTH_URL="$KS_SHORT_URL" \
        SIQ_BARBICAN_URL="$BB_URL" -- "$PY" "$STACK_PY/siq_stack_seed.py") 2>"$STACK_DIR/seed.log" ||
        fail_with_log "seeding keystone failed" "$STACK_DIR/seed.log"
    echo "$stamp" >"$STACK_DIR/seeded-for"
}

cmd_up() {
    require_packages
    local c all=1
    for c in postgres "${SERVERS[@]}"; do
        running "$c" || { all=0 && continue; }
        # E.g. SIQ_*_PORT changed while it runs, or it is still starting.
        port_open "$(port_of "$c")" || die "$c runs but does not answer on port $(port_of "$c"); try down, then up"
    done
    if ((all)); then
        log "already up ($STACK_DIR)"
        return 0
    fi
    prepare_state_dir
    start_postgres
    write_configs
    start_barbican
    init_keystone
    start_keystones
    wait_for keystone "$KS_URL"
    seed_keystone
    wait_for keystone-short "$KS_SHORT_URL"
    wait_for barbican "$BB_URL/"
    log "up; use it with: eval \"\$($0 env)\""
}

# stop_servers NAME...: SIGTERM to all at once, then up to 10 s before SIGKILL.
stop_servers() {
    local name pid pids=() i
    for name in "$@"; do
        if pid=$(server_pid "$name"); then
            log "$name: stopping (pid $pid)"
            kill "$pid" && pids+=("$pid")
        fi
        rm -f "$RUN/$name.pid"
    done
    for pid in "${pids[@]}"; do
        for ((i = 0; i < 40; i++)); do
            kill -0 "$pid" 2>/dev/null || continue 2
            sleep 0.25
        done
        kill -9 "$pid" 2>/dev/null || true
    done
}

cmd_down() {
    local purge=0
    case ${1:-} in --purge) purge=1 ;; "") ;; *) die "down takes only --purge" ;; esac
    [[ ! -d $STACK_DIR || -f $STACK_DIR/.siq-dev-stack ]] ||
        die "$STACK_DIR is not a dev-stack state dir; not touching it"
    stop_servers "${SERVERS[@]}"
    if pg_running; then
        log "postgres: stopping"
        as_pg "$PG_BIN/pg_ctl" -D "$PGDATA" -m fast -w stop >/dev/null
    fi
    rm -f "$RUN/postgres.pid"
    if ((purge)) && [[ -d $STACK_DIR ]]; then
        log "removing $STACK_DIR"
        rm -rf "$STACK_DIR"
    fi
}

cmd_status() {
    local c rc=0
    for c in postgres "${SERVERS[@]}"; do
        if ! running "$c"; then
            printf '%-15s stopped  (port %s)\n' "$c" "$(port_of "$c")" && rc=1
        elif ! port_open "$(port_of "$c")"; then
            printf '%-15s running, not answering on 127.0.0.1:%s\n' "$c" "$(port_of "$c")" && rc=1
        else
            printf '%-15s running  127.0.0.1:%s\n' "$c" "$(port_of "$c")"
        fi
    done
    return "$rc"
}

cmd_env() {
    local user project line
    case ${1:-deployer} in
        deployer) user=siq-deployer project=siq ;;
        admin) user=admin project=admin ;;
        *) die "env takes deployer or admin, not '$1'" ;;
    esac
    [[ -s $SECRETS/$user && -f $STACK_DIR/keystone-ids ]] ||
        die "no stack set up in $STACK_DIR; run scripts/dev-stack.sh up first"
    # A stale OS_CLOUD or OS_TOKEN would win over the variables below.
    echo "unset OS_CLOUD OS_TOKEN OS_PROJECT_ID OS_USER_ID"
    while IFS= read -r line; do printf 'export %s=%q\n' "${line%%=*}" "${line#*=}"; done <<EOF
OS_AUTH_URL=$KS_URL
OS_AUTH_TYPE=password
OS_USERNAME=$user
OS_PASSWORD=$(secret "$user")
OS_PROJECT_NAME=$project
OS_USER_DOMAIN_NAME=Default
OS_PROJECT_DOMAIN_NAME=Default
OS_REGION_NAME=RegionOne
OS_INTERFACE=public
OS_IDENTITY_API_VERSION=3
SIQ_STACK_DIR=$STACK_DIR
SIQ_AUDIT_LOG=$AUDIT_LOG
SIQ_SHORT_AUTH_URL=$KS_SHORT_URL
SIQ_BARBICAN_URL=$BB_URL
SIQ_SHORT_TOKEN_SECONDS=$SHORT_SECONDS
OS_CLIENT_CONFIG_FILE=$STACK_DIR/clouds.yaml
$(cat "$STACK_DIR/keystone-ids")
EOF
}

case ${1:-} in
    up) cmd_up ;;
    down) shift && cmd_down "$@" ;;
    status) cmd_status ;;
    env) shift && cmd_env "$@" ;;
    -h | --help | help | "") usage ;;
    *) usage >&2 && exit 2 ;;
esac
