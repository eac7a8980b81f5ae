#!/usr/bin/env bash
# Real PostgreSQL + Keystone (two processes) + Barbican on loopback, from
# Debian's packages, for siq's integration tests and README demo.
set -euo pipefail

usage() {
    cat <<EOF
Usage: scripts/dev-stack.sh up | down [--purge] | status | env [deployer|admin]

  up       start PostgreSQL, Keystone, the short-token Keystone and Barbican;
           initialises the state dir on first use, restarts on later ones
  down     stop what 'up' started; --purge also deletes the state dir
  status   one line per component; exit 0 only if all are running
  env      print 'export' lines for eval, e.g. eval "\$(scripts/dev-stack.sh env)"

Environment (defaults):
  SIQ_STACK_DIR=/tmp/siq-stack     state: data, configs, secrets, logs, pids
  SIQ_PG_PORT=55432                private PostgreSQL cluster
  SIQ_KEYSTONE_PORT=55000          Keystone, 1 h tokens
  SIQ_KEYSTONE_SHORT_PORT=55001    same Keystone data, short-lived tokens
  SIQ_SHORT_TOKEN_SECONDS=10       token lifetime of the short one
  SIQ_BARBICAN_PORT=59311          Barbican
Needs root (runs PostgreSQL as user postgres) and the Debian packages that
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
STACK_PY=$(cd "$(dirname "${BASH_SOURCE[0]}")/stack" && pwd)
PGDATA=$STACK_DIR/pg/data
PG_SOCKET_DIR=$STACK_DIR/pg/run
SECRETS=$STACK_DIR/secrets
RUN=$STACK_DIR/run
KS_URL=http://127.0.0.1:$KS_PORT/v3
KS_SHORT_URL=http://127.0.0.1:$KS_SHORT_PORT/v3
BB_URL=http://127.0.0.1:$BB_PORT
AUDIT_LOG=$STACK_DIR/barbican-audit.jsonl
SERVERS=(keystone keystone-short barbican)

log() { printf 'dev-stack: %s\n' "$*" >&2; }
die() { printf 'dev-stack: error: %s\n' "$*" >&2; exit 1; }

# Paths end up unquoted in ini files and in pg_ctl's -o string.
[[ $STACK_DIR =~ ^/[A-Za-z0-9._/-]+$ ]] || die "SIQ_STACK_DIR must be an absolute path of [A-Za-z0-9._/-]"
for port in "$PG_PORT" "$KS_PORT" "$KS_SHORT_PORT" "$BB_PORT" "$SHORT_SECONDS"; do
    [[ $port =~ ^[0-9]+$ ]] || die "ports and SIQ_SHORT_TOKEN_SECONDS must be numbers, got '$port'"
done

require_packages() {
    local missing=()
    [[ -x $PY ]] || die "missing package: python3 (/usr/bin/python3)"
    [[ -x $PG_BIN/initdb ]] || missing+=(postgresql-15)
    [[ -x /usr/bin/keystone-manage ]] || missing+=(keystone)
    [[ -f /etc/barbican/api_audit_map.conf ]] || missing+=(barbican-api)
    command -v curl >/dev/null || missing+=(curl)
    command -v openssl >/dev/null || missing+=(openssl)
    # shellcheck disable=SC2207  # package names have no spaces
    missing+=($("$PY" - <<'PY'
import importlib
for module, package in [('keystone', 'python3-keystone'),
                        ('barbican', 'python3-barbican'),
                        ('waitress', 'python3-waitress'),
                        ('psycopg2', 'python3-psycopg2'),
                        ('keystonemiddleware', 'python3-keystonemiddleware'),
                        ('keystoneclient', 'python3-keystoneclient'),
                        ('paste.deploy', 'python3-pastedeploy')]:
    try:
        importlib.import_module(module)
    except ImportError:
        print(package)
PY
))
    ((${#missing[@]} == 0)) || die "missing packages: ${missing[*]} (apt-get install them, or run scripts/install-deps.sh)"
    [[ $EUID -eq 0 ]] || die "must run as root (PostgreSQL runs as user postgres via runuser)"
}

as_pg() { runuser -u postgres -- "$@"; }

# A pid file counts only if its process is alive and is still the server we
# started (pids get reused).
server_pid() {
    local pid_file=$RUN/$1.pid pid
    [[ -f $pid_file ]] || return 1
    pid=$(<"$pid_file")
    [[ -r /proc/$pid/cmdline ]] && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q waitress || return 1
    echo "$pid"
}

pg_running() { [[ -f $PGDATA/PG_VERSION ]] && as_pg "$PG_BIN/pg_ctl" -D "$PGDATA" status >/dev/null 2>&1; }

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

port_of() {
    case $1 in
        postgres) echo "$PG_PORT" ;; keystone) echo "$KS_PORT" ;;
        keystone-short) echo "$KS_SHORT_PORT" ;; barbican) echo "$BB_PORT" ;;
    esac
}

is_up() {
    if [[ $1 == postgres ]]; then pg_running; else server_pid "$1" >/dev/null; fi && port_open "$(port_of "$1")"
}

fail_with_log() {
    local f
    log "$1"
    for f in "${@:2}"; do
        [[ -s $f ]] || continue
        log "last lines of $f:"
        tail -n 30 "$f" >&2
    done
    exit 1
}

# Secrets are generated once per state dir; later runs reuse them.
make_secret() {
    local file=$SECRETS/$1
    [[ -s $file ]] && return 0
    (umask 077 && "${@:2}" >"$file.tmp" && mv "$file.tmp" "$file")
}

prepare_state_dir() {
    mkdir -p "$STACK_DIR" "$RUN"
    # postgres must traverse the state dir to reach its data dir.
    chmod 711 "$STACK_DIR"
    touch "$STACK_DIR/.siq-dev-stack"
    (umask 077 && mkdir -p "$SECRETS")
    local name
    for name in admin barbican siq-deployer pg-keystone pg-barbican; do
        make_secret "$name.password" openssl rand -hex 24
    done
    # Fernet key for simple_crypto: URL-safe base64 of 32 random bytes.
    make_secret barbican-kek sh -c 'openssl rand -base64 32 | tr "+/" "-_"'
}

start_postgres() {
    if [[ ! -f $PGDATA/PG_VERSION ]]; then
        log "postgres: initdb (private cluster in $PGDATA)"
        rm -rf "$PGDATA"
        install -d -o postgres -g postgres -m 700 "$STACK_DIR/pg" "$PG_SOCKET_DIR"
        as_pg "$PG_BIN/initdb" -D "$PGDATA" -U postgres -E UTF8 --locale=C.UTF-8 \
            --auth-local=peer --auth-host=scram-sha-256 >"$STACK_DIR/initdb.log" 2>&1 ||
            fail_with_log "initdb failed" "$STACK_DIR/initdb.log"
        # Disposable dev data: durability only slows db_sync down.
        printf '%s\n' "fsync = off" "synchronous_commit = off" "full_page_writes = off" \
            >>"$PGDATA/postgresql.conf"
    fi
    if ! pg_running; then
        port_open "$PG_PORT" && die "port $PG_PORT is taken by another process (set SIQ_PG_PORT)"
        log "postgres: starting on 127.0.0.1:$PG_PORT"
        touch "$STACK_DIR/postgres.log" && chown postgres: "$STACK_DIR/postgres.log"
        # Port and addresses on the command line, so a reused state dir follows SIQ_PG_PORT.
        as_pg "$PG_BIN/pg_ctl" -D "$PGDATA" -l "$STACK_DIR/postgres.log" -w -t 30 \
            -o "-c port=$PG_PORT -c listen_addresses=127.0.0.1 -c unix_socket_directories=$PG_SOCKET_DIR" \
            start >/dev/null || fail_with_log "postgres did not start" "$STACK_DIR/postgres.log"
    fi
    head -n 1 "$PGDATA/postmaster.pid" >"$RUN/postgres.pid"
    local user sql=""
    for user in keystone barbican; do
        sql+="SELECT 'CREATE ROLE $user LOGIN' WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$user')\\gexec
ALTER ROLE $user PASSWORD '$(<"$SECRETS/pg-$user.password")';
SELECT 'CREATE DATABASE $user OWNER $user' WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = '$user')\\gexec
"
    done
    # Barbican stores bytes in text columns; with the default 'hex' output the
    # project KEK comes back mangled and a project's 2nd secret fails (InvalidToken).
    sql+="ALTER DATABASE barbican SET bytea_output = 'escape';"
    as_pg "$PG_BIN/psql" -h "$PG_SOCKET_DIR" -p "$PG_PORT" -U postgres -d postgres \
        -v ON_ERROR_STOP=1 -q <<<"$sql" >>"$STACK_DIR/postgres.log" 2>&1 ||
        fail_with_log "creating the databases failed" "$STACK_DIR/postgres.log"
}

db_url() { echo "postgresql+psycopg2://$1:$(<"$SECRETS/pg-$1.password")@127.0.0.1:$PG_PORT/$1"; }

write_keystone_config() {
    (umask 077 && cat >"$STACK_DIR/keystone.conf" <<EOF
[DEFAULT]
log_file = $STACK_DIR/keystone.log
[database]
connection = $(db_url keystone)
[identity]
# bcrypt's default 12 rounds cost ~0.25 s per password check; tests log in a lot.
password_hash_rounds = 4
# bcrypt's own limit; the default (4096) logs a warning on every password check.
max_password_length = 72
[token]
provider = fernet
expiration = 3600
[fernet_tokens]
key_repository = $STACK_DIR/fernet-keys
[fernet_receipts]
key_repository = $STACK_DIR/fernet-keys
[credential]
key_repository = $STACK_DIR/credential-keys
[oslo_policy]
policy_file = $STACK_DIR/keystone-policy.yaml
EOF
    )
    # Read after keystone.conf by the short-token process only.
    cat >"$STACK_DIR/keystone-short.conf" <<EOF
[DEFAULT]
log_file = $STACK_DIR/keystone-short.log
[token]
expiration = $SHORT_SECONDS
EOF
    write_keystone_policy
}

# Lets a token of siq-deployer scoped to domain siq-readers (where it holds
# siq-reader-manager) create/get/list/delete users of that domain and grant or
# revoke exactly siq-vps-reader on project siq-readers to them. Each rule is
# Keystone's shipped default "or" the siq clause, so nothing else changes.
# Creating users needs "domain_id" in the request body: the check runs before
# Keystone fills it in from the token.
write_keystone_policy() {
    "$PY" - "$STACK_DIR/keystone-policy.yaml" <<'PY'
import json, sys
from keystone.common import policies
stock = {rule.name: rule.check_str for rule in policies.list_rules()}
manager = 'role:siq-reader-manager and token.domain.name:siq-readers'
user_in_domain = manager + ' and domain_id:%(target.user.domain_id)s'
vps_reader_grant = (user_in_domain + " and domain_id:%(target.project.domain_id)s"
                    " and 'siq-readers':%(target.project.name)s"
                    " and 'siq-vps-reader':%(target.role.name)s")
extra = {
    'identity:create_user': user_in_domain,
    'identity:delete_user': user_in_domain,
    'identity:get_user': user_in_domain,
    'identity:list_users': manager + ' and domain_id:%(target.domain_id)s',
    'identity:create_grant': vps_reader_grant,
    'identity:revoke_grant': vps_reader_grant,
}
with open(sys.argv[1], 'w') as out:
    out.write('# Generated by scripts/dev-stack.sh: stock rule or siq clause.\n')
    for name, clause in extra.items():
        out.write('%s: %s\n' % (json.dumps(name), json.dumps(
            '(%s) or (%s)' % (stock[name], clause))))
PY
}

keystone_manage() {
    keystone-manage --config-file "$STACK_DIR/keystone.conf" "$@" >>"$STACK_DIR/keystone-manage.log" 2>&1 ||
        fail_with_log "keystone-manage $1 failed" "$STACK_DIR/keystone-manage.log"
}

init_keystone() {
    [[ -f $STACK_DIR/keystone.initialised ]] && return 0
    log "keystone: db_sync, fernet/credential keys, bootstrap"
    local owner=(--keystone-user root --keystone-group root)
    keystone_manage db_sync
    [[ -f $STACK_DIR/fernet-keys/0 ]] || keystone_manage fernet_setup "${owner[@]}"
    [[ -f $STACK_DIR/credential-keys/0 ]] || keystone_manage credential_setup "${owner[@]}"
    # The password goes through the environment, not argv.
    OS_BOOTSTRAP_PASSWORD=$(<"$SECRETS/admin.password") keystone_manage bootstrap \
        --bootstrap-username admin --bootstrap-project-name admin \
        --bootstrap-role-name admin --bootstrap-region-id RegionOne \
        --bootstrap-admin-url "$KS_URL" --bootstrap-public-url "$KS_URL" \
        --bootstrap-internal-url "$KS_URL"
    touch "$STACK_DIR/keystone.initialised"
}

write_barbican_config() {
    (umask 077 && cat >"$STACK_DIR/barbican.conf" <<EOF
[DEFAULT]
sql_connection = $(db_url barbican)
db_auto_create = True
host_href = $BB_URL
log_config_append = $STACK_DIR/barbican-logging.ini
[queue]
# Orders complete synchronously inside the API process; no worker, no broker.
enable = False
[secretstore]
enabled_secretstore_plugins = store_crypto
[crypto]
enabled_crypto_plugins = simple_crypto
[simple_crypto_plugin]
kek = $(<"$SECRETS/barbican-kek")
[keystone_authtoken]
www_authenticate_uri = $KS_URL
auth_url = $KS_URL
auth_type = password
username = barbican
password = $(<"$SECRETS/barbican.password")
user_domain_name = Default
project_name = service
project_domain_name = Default
region_name = RegionOne
[oslo_policy]
policy_file = $STACK_DIR/barbican-policy.yaml
[oslo_messaging_notifications]
# The audit middleware's CADF events become log records, see barbican-logging.ini.
driver = log
EOF
    )
    # The log driver logs each notification as JSON through the logger
    # "oslo.messaging.notification.<event_type>"; only those go to the audit file.
    cat >"$STACK_DIR/barbican-logging.ini" <<EOF
[loggers]
keys = root, notifications, sqlalchemy
[handlers]
keys = barbican, audit
[formatters]
keys = barbican, audit
[logger_root]
level = INFO
handlers = barbican
[logger_notifications]
qualname = oslo.messaging.notification
level = INFO
handlers = audit
propagate = 0
[logger_sqlalchemy]
# Without oslo.log's default levels (ignored with a logging config) the ORM
# logs every mapper at INFO.
qualname = sqlalchemy
level = WARNING
handlers =
[handler_barbican]
class = FileHandler
args = ('$STACK_DIR/barbican.log',)
formatter = barbican
[handler_audit]
class = FileHandler
args = ('$AUDIT_LOG',)
formatter = audit
[formatter_barbican]
format = %(asctime)s %(process)d %(levelname)s %(name)s %(message)s
[formatter_audit]
format = %(message)s
EOF
    # /etc's paste ini serves /v1 without the audit middleware.
    sed -e 's|^/v1: barbican-api-keystone$|/v1: barbican-api-keystone-audit|' \
        -e "s|^audit_map_file = .*|audit_map_file = $STACK_DIR/api_audit_map.conf|" \
        -e "s|^disable_by_file_path = .*|disable_by_file_path = $STACK_DIR/barbican-healthcheck-disable|" \
        /etc/barbican/barbican-api-paste.ini >"$STACK_DIR/barbican-api-paste.ini"
    grep -q '^/v1: barbican-api-keystone-audit$' "$STACK_DIR/barbican-api-paste.ini" ||
        die "/etc/barbican/barbican-api-paste.ini has an unexpected /v1 pipeline"
    cp /etc/barbican/api_audit_map.conf "$STACK_DIR/api_audit_map.conf"
    # Barbican parses its config at import time, and each plugin module parses
    # it again, always from the default locations (~/.barbican/ before
    # /etc/barbican/); a private HOME makes all of them read ours only.
    mkdir -p "$STACK_DIR/barbican-home/.barbican"
    ln -sf "$STACK_DIR/barbican.conf" "$STACK_DIR/barbican-home/.barbican/barbican.conf"
}

# Clean environment: a caller's OS_* variables would leak into oslo.config.
# setsid: Ctrl-C in the calling shell must not take the servers down.
spawn() {
    local name=$1 port=$2
    shift 2
    port_open "$port" && die "port $port is taken by another process (see scripts/dev-stack.sh --help)"
    log "$name: starting on 127.0.0.1:$port"
    (cd "$STACK_DIR" && exec setsid env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 \
        PYTHONPATH="$STACK_PY" "$@" "$PY" -m waitress --listen="127.0.0.1:$port" --threads=8 \
        --call "siq_stack_wsgi:${name%-short}_app") </dev/null >>"$STACK_DIR/$name.out" 2>&1 &
    echo $! >"$RUN/$name.pid"
}

start_servers() {
    server_pid keystone >/dev/null ||
        spawn keystone "$KS_PORT" HOME="$STACK_DIR" OS_KEYSTONE_CONFIG_DIR="$STACK_DIR"
    server_pid keystone-short >/dev/null ||
        spawn keystone-short "$KS_SHORT_PORT" HOME="$STACK_DIR" OS_KEYSTONE_CONFIG_DIR="$STACK_DIR" \
            OS_KEYSTONE_CONFIG_FILES="keystone.conf;keystone-short.conf"
    if ! server_pid barbican >/dev/null; then
        # Tests drop overrides here at runtime; a restart starts from none.
        echo '{}' >"$STACK_DIR/barbican-policy.yaml"
        # simple_crypto re-reads the kek on first use; the environment is the
        # one source every config object sees, whatever file it parsed.
        spawn barbican "$BB_PORT" HOME="$STACK_DIR/barbican-home" \
            SIQ_BARBICAN_PASTE="$STACK_DIR/barbican-api-paste.ini" \
            OS_SIMPLE_CRYPTO_PLUGIN__KEK="$(<"$SECRETS/barbican-kek")"
    fi
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

write_clouds_yaml() {
    local entry user project url
    (umask 077 && {
        echo "clouds:"
        for entry in siq-admin:admin:admin:"$KS_URL" siq-deployer:siq-deployer:siq:"$KS_URL" \
            siq-deployer-short:siq-deployer:siq:"$KS_SHORT_URL"; do
            IFS=: read -r name user project url <<<"$entry"
            cat <<EOF
  $name:
    auth:
      auth_url: $url
      username: $user
      password: $(<"$SECRETS/$user.password")
      project_name: $project
      user_domain_name: Default
      project_domain_name: Default
    region_name: RegionOne
    interface: public
    identity_api_version: 3
EOF
        done
    } >"$STACK_DIR/clouds.yaml")
}

cmd_up() {
    require_packages
    local c all=1
    for c in postgres "${SERVERS[@]}"; do is_up "$c" || all=0; done
    if ((all)); then
        log "already up ($STACK_DIR)"
        return 0
    fi
    local start=$SECONDS
    prepare_state_dir
    start_postgres
    write_keystone_config
    write_barbican_config
    init_keystone
    start_servers
    wait_for keystone "$KS_URL"
    log "keystone: creating siq's projects, users, roles and catalog"
    env -i PATH=/usr/bin:/bin LANG=C.UTF-8 SIQ_STACK_DIR="$STACK_DIR" SIQ_KEYSTONE_URL="$KS_URL" \
        SIQ_BARBICAN_URL="$BB_URL" "$PY" "$STACK_PY/siq_stack_seed.py" 2>>"$STACK_DIR/keystone.out" ||
        fail_with_log "seeding keystone failed" "$STACK_DIR/keystone.out"
    write_clouds_yaml
    wait_for keystone-short "$KS_SHORT_URL"
    wait_for barbican "$BB_URL/"
    log "up in $((SECONDS - start)) s; eval \"\$($0 env)\" to use it"
}

stop_server() {
    local name=$1 pid i
    if pid=$(server_pid "$name"); then
        log "$name: stopping (pid $pid)"
        kill "$pid"
        for ((i = 0; i < 40; i++)); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.25
        done
        kill -9 "$pid" 2>/dev/null || true
    fi
    rm -f "$RUN/$name.pid"
}

cmd_down() {
    local purge=0
    case ${1:-} in --purge) purge=1 ;; "") ;; *) die "down takes only --purge" ;; esac
    if [[ -d $STACK_DIR && ! -f $STACK_DIR/.siq-dev-stack ]]; then
        die "$STACK_DIR is not a dev-stack state dir; not touching it"
    fi
    local name
    for name in "${SERVERS[@]}"; do stop_server "$name"; done
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
        if is_up "$c"; then
            printf '%-15s running  127.0.0.1:%s\n' "$c" "$(port_of "$c")"
        else
            printf '%-15s stopped  (port %s)\n' "$c" "$(port_of "$c")"
            rc=1
        fi
    done
    return "$rc"
}

cmd_env() {
    local who=${1:-deployer} user project
    case $who in
        deployer) user=siq-deployer project=siq ;;
        admin) user=admin project=admin ;;
        *) die "env takes deployer or admin, not '$who'" ;;
    esac
    [[ -s $SECRETS/$user.password && -f $STACK_DIR/keystone-ids ]] ||
        die "no stack set up in $STACK_DIR; run scripts/dev-stack.sh up first"
    local -a vars=(
        OS_AUTH_URL="$KS_URL" OS_AUTH_TYPE=password OS_USERNAME="$user"
        OS_PASSWORD="$(<"$SECRETS/$user.password")" OS_PROJECT_NAME="$project"
        OS_USER_DOMAIN_NAME=Default OS_PROJECT_DOMAIN_NAME=Default
        OS_REGION_NAME=RegionOne OS_INTERFACE=public OS_IDENTITY_API_VERSION=3
        SIQ_STACK_DIR="$STACK_DIR" SIQ_AUDIT_LOG="$AUDIT_LOG"
        SIQ_SHORT_AUTH_URL="$KS_SHORT_URL" SIQ_BARBICAN_URL="$BB_URL"
        OS_CLIENT_CONFIG_FILE="$STACK_DIR/clouds.yaml"
    )
    mapfile -t -O "${#vars[@]}" vars <"$STACK_DIR/keystone-ids"
    # A stale OS_CLOUD or OS_TOKEN would win over the variables below.
    echo "unset OS_CLOUD OS_TOKEN OS_PROJECT_ID OS_USER_ID"
    local v
    for v in "${vars[@]}"; do printf 'export %s=%q\n' "${v%%=*}" "${v#*=}"; done
}

case ${1:-} in
    up) cmd_up ;;
    down) shift && cmd_down "$@" ;;
    status) cmd_status ;;
    env) shift && cmd_env "$@" ;;
    -h | --help | help | "") usage ;;
    *) usage >&2 && exit 2 ;;
esac
