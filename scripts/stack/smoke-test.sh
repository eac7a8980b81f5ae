#!/usr/bin/env bash
# End-to-end check of a running dev stack (scripts/dev-stack.sh up): siq's
# access model with the openstack client, plus raw REST where the deployer may
# not resolve names (roles and projects are admin-only to look up).
# Same SIQ_* variables as dev-stack.sh. Ends with "N passed, N failed".
# Credentials go through the environment or files in a private temp dir, never argv.
set -euo pipefail

DEV_STACK=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/dev-stack.sh
PY=/usr/bin/python3
eval "$("$DEV_STACK" env)"
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
passed=0 failed=0
RUN_ID=$(openssl rand -hex 4)

check() {
    local name=$1
    shift
    if "$@"; then
        passed=$((passed + 1)) && echo "ok - $name"
    else
        failed=$((failed + 1)) && echo "not ok - $name"
    fi
}

# json FILE KEY... : the value at that path of a JSON file.
json() { "$PY" -c 'import json,sys; d=json.load(open(sys.argv[1]))
for k in sys.argv[2:]: d=d[int(k) if isinstance(d, list) else k]
print(d)' "$@"; }

# api METHOD URL TOKEN [curl args...]: prints the HTTP status, body in $TMP/body.
api() {
    echo "X-Auth-Token: $3" >"$TMP/auth"
    curl -s -o "$TMP/body" -w '%{http_code}' -X "$1" -H @"$TMP/auth" \
        -H 'Content-Type: application/json' "${@:4}" "$2"
}

status_is() { [[ $1 == "$2" ]] || { echo "  expected HTTP $2, got $1: $(head -c 300 "$TMP/body")"; return 1; }; }

# as_reader NAME ARGS...: openstack as a reader, through its application credential.
as_reader() (
    unset OS_USERNAME OS_PASSWORD OS_PROJECT_NAME OS_USER_DOMAIN_NAME OS_PROJECT_DOMAIN_NAME
    export OS_AUTH_TYPE=v3applicationcredential
    OS_APPLICATION_CREDENTIAL_ID=$(json "$TMP/$1.appcred" id)
    OS_APPLICATION_CREDENTIAL_SECRET=$(json "$TMP/$1.appcred" secret)
    export OS_APPLICATION_CREDENTIAL_ID OS_APPLICATION_CREDENTIAL_SECRET
    openstack "${@:2}"
)

ADMIN_ROLE_ID=$(eval "$("$DEV_STACK" env admin)" && openstack role show admin -f value -c id)
DOMAIN_TOKEN=$(env -u OS_PROJECT_NAME -u OS_PROJECT_DOMAIN_NAME OS_DOMAIN_NAME=siq-readers \
    openstack token issue -f value -c id)
USERS=$OS_AUTH_URL/users

create_reader() {
    local name=$1 password
    password=$(openssl rand -hex 16)
    echo "$password" >"$TMP/$name.password"
    printf '{"user": {"name": "%s-%s", "domain_id": "%s", "password": "%s"}}' \
        "$name" "$RUN_ID" "$SIQ_READERS_DOMAIN_ID" "$password" >"$TMP/req"
    status_is "$(api POST "$USERS" "$DOMAIN_TOKEN" --data-binary @"$TMP/req")" 201 &&
        json "$TMP/body" user id >"$TMP/$name.id"
}
grant() { api PUT "$OS_AUTH_URL/projects/$2/users/$(<"$TMP/$1.id")/roles/$3" "$DOMAIN_TOKEN"; }
# reader_appcred NAME: the reader, project-scoped to siq-readers, makes its credential.
reader_appcred() (
    unset OS_USER_DOMAIN_NAME OS_PROJECT_NAME OS_PROJECT_DOMAIN_NAME
    export OS_USERNAME=$1-$RUN_ID OS_USER_DOMAIN_ID=$SIQ_READERS_DOMAIN_ID \
        OS_PROJECT_ID=$SIQ_READERS_PROJECT_ID
    OS_PASSWORD=$(<"$TMP/$1.password") && export OS_PASSWORD
    openstack application credential create "vps-$RUN_ID" -f json >"$TMP/$1.appcred"
)

check "deployer creates reader r1 in domain siq-readers" create_reader r1
check "deployer creates reader r2 in domain siq-readers" create_reader r2
check "deployer grants siq-vps-reader on project siq-readers" \
    status_is "$(grant r1 "$SIQ_READERS_PROJECT_ID" "$SIQ_VPS_READER_ROLE_ID")" 204
status_is "$(grant r2 "$SIQ_READERS_PROJECT_ID" "$SIQ_VPS_READER_ROLE_ID")" 204
check "deployer gets r1" status_is "$(api GET "$USERS/$(<"$TMP/r1.id")" "$DOMAIN_TOKEN")" 200
check "deployer lists users of siq-readers" status_is "$(api GET "$USERS" "$DOMAIN_TOKEN")" 200
check "deployer cannot grant admin" \
    status_is "$(grant r1 "$SIQ_READERS_PROJECT_ID" "$ADMIN_ROLE_ID")" 403
check "deployer cannot grant siq-vps-reader on project siq" \
    status_is "$(grant r1 "$SIQ_PROJECT_ID" "$SIQ_VPS_READER_ROLE_ID")" 403
printf '{"user": {"name": "intruder-%s", "domain_id": "default", "password": "x"}}' "$RUN_ID" >"$TMP/req"
check "deployer cannot create a user in Default" \
    status_is "$(api POST "$USERS" "$DOMAIN_TOKEN" --data-binary @"$TMP/req")" 403
printf '{"user": {"name": "intruder-%s", "domain_id": "%s", "password": "x"}}' "$RUN_ID" "$SIQ_READERS_DOMAIN_ID" >"$TMP/req"
check "deployer's project-scoped token cannot create users" \
    status_is "$(api POST "$USERS" "$(openstack token issue -f value -c id)" --data-binary @"$TMP/req")" 403
BYSTANDER=$(eval "$("$DEV_STACK" env admin)" &&
    openstack user create --domain default "bystander-$RUN_ID" -f value -c id 2>/dev/null)
check "deployer cannot delete a user in Default" \
    status_is "$(api DELETE "$USERS/$BYSTANDER" "$DOMAIN_TOKEN")" 403
(eval "$("$DEV_STACK" env admin)" && openstack user delete "$BYSTANDER")
check "r1 creates an application credential for itself" reader_appcred r1
check "r2 creates an application credential for itself" reader_appcred r2

SECRET=$(openstack secret store --name "smoke-$RUN_ID" --payload "payload-$RUN_ID" -f value -c 'Secret href')
printf '{"read": {"users": ["%s"], "project-access": false}}' "$(<"$TMP/r1.id")" >"$TMP/req"
check "deployer makes the secret private with r1 on its read ACL" \
    status_is "$(api PUT "$SECRET/acl" "$(openstack token issue -f value -c id)" --data-binary @"$TMP/req")" 200
check "r1 (application credential) reads the payload" \
    test "$(as_reader r1 secret get --payload -f value "$SECRET")" = "payload-$RUN_ID"
R2_TOKEN=$(as_reader r2 token issue -f value -c id)
check "r2, not on the ACL, gets 403" status_is "$(api GET "$SECRET/payload" "$R2_TOKEN")" 403
R1_TOKEN=$(as_reader r1 token issue -f value -c id)
printf '{"service": "siq", "resource_type": "vps", "resource_id": "vps-%s"}' "$RUN_ID" >"$TMP/req"
check "r1 registers itself as a consumer" \
    status_is "$(api POST "$SECRET/consumers" "$R1_TOKEN" -H 'OpenStack-API-Version: key-manager 1.1' \
        --data-binary @"$TMP/req")" 200

audited() {
    "$PY" - "$SIQ_AUDIT_LOG" "${SECRET#"$SIQ_BARBICAN_URL"}/payload" "$(<"$TMP/r1.id")" <<'PY'
import json, sys
log, path, user = sys.argv[1:]
events = [json.loads(line)['payload'] for line in open(log)]
sys.exit(not any(e['requestPath'] == path and e['action'] == 'read'
                 and e['initiator']['id'] == user for e in events))
PY
}
check "audit log has r1's payload read" audited

SHORT_TOKEN=$(OS_AUTH_URL=$SIQ_SHORT_AUTH_URL openstack token issue -f value -c id)
check "short-lived token works on Barbican" status_is "$(api GET "$SECRET" "$SHORT_TOKEN")" 200
sleep "$((SIQ_SHORT_TOKEN_SECONDS + 2))"
check "expired short-lived token gets 401" status_is "$(api GET "$SECRET" "$SHORT_TOKEN")" 401

openstack secret delete "$SECRET"
check "deployer deletes r1" status_is "$(api DELETE "$USERS/$(<"$TMP/r1.id")" "$DOMAIN_TOKEN")" 204
check "deployer revokes siq-vps-reader from r2" \
    status_is "$(api DELETE "$OS_AUTH_URL/projects/$SIQ_READERS_PROJECT_ID/users/$(<"$TMP/r2.id")/roles/$SIQ_VPS_READER_ROLE_ID" "$DOMAIN_TOKEN")" 204
api DELETE "$USERS/$(<"$TMP/r2.id")" "$DOMAIN_TOKEN" >/dev/null
echo "$passed passed, $failed failed"
((failed == 0))
