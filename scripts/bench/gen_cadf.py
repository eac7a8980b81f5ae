#!/usr/bin/env python3
"""Writes realistic Barbican CADF audit events as JSON lines, the way the
local stack's Barbican logs them (oslo.messaging "log" driver: a notification
envelope around each CADF event), plus the deployment-record file and siq
config that go with them. Deterministic: the same arguments give the same
bytes.

  gen_cadf.py OUT.jsonl RECORDS.json CONFIG.yaml [--megabytes 1024]

The mix, per request (each request leaves a "pending" and an outcome
event): VPS readers loading their secrets (container, metadata, payload),
the deployment account provisioning (orders, containers, ACLs, lists), a
few denied reads, and a handful of human reads: 3 payload reads and 5
legacy-path reads by 'alice', spread through the file.
"""
import argparse
import json
import random
import uuid

KINDS = ['API_KEY_PRIMARY', 'API_KEY_SECONDARY', 'DB_PASSWORD',
         'ENCRYPTION_KEY', 'JWT_REFRESH_SECRET', 'JWT_SECRET',
         'SESSION_SECRET']
BARBICAN = 'http://127.0.0.1:9311'
DEPLOYER_ID = '0af329315dba4aeda746f5d88a8b07b9'
PROJECT_ID = '447bf19e530e41aba5d90687a7345a5b'
READERS_PROJECT = '3514ebf6a55a43c7a3a11f09030605af'
ALICE_ID = 'a11ce0000000000000000000000000a1'


def uid(rng):
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def hexid(rng):
    return '%032x' % rng.getrandbits(128)


ENVELOPE = ('{{"message_id": "{mid}", "publisher_id": "__main__.py", '
            '"event_type": "audit.http.{phase}", "priority": "INFO", '
            '"payload": {{"typeURI": "http://schemas.dmtf.org/cloud/audit/1.0/'
            'event", "eventType": "activity", "id": "{eid}", "eventTime": '
            '"{time}", "action": "{action}", "outcome": "{outcome}", '
            '"observer": {{"id": "target"}}, "initiator": {{"id": "{who}", '
            '"typeURI": "service/security/account/user", "name": "{name}", '
            '"credential": {{"token": "***", "identity_status": "Confirmed"}}, '
            '"host": {{"address": "{addr}", "agent": "{agent}"}}, '
            '"project_id": "{project}"}}, "target": {{"id": "barbican", '
            '"typeURI": "service/security/keymanager/{target}", "name": '
            '"barbican", "addresses": [{{"url": "' + BARBICAN + '", "name": '
            '"admin"}}, {{"url": "' + BARBICAN + '", "name": "private"}}, '
            '{{"url": "' + BARBICAN + '", "name": "public"}}]}}, '
            '"requestPath": "{path}", "tags": ["correlation_id?value={cid}"]'
            '{reason}}}, "timestamp": "{stamp}"}}\n')


def event(rng, t, phase, action, outcome, who, name, addr, agent, project,
          target, path, code):
    stamp = '%s.%06d' % (t[0], t[1])
    reason = ''
    if phase == 'response':
        reason = (', "reason": {"reasonType": "HTTP", "reasonCode": "%s"}, '
                  '"reporterchain": [{"role": "modifier", "reporterTime": '
                  '"%s+0000", "reporter": {"id": "target"}}]' % (code, stamp))
    return ENVELOPE.format(mid=uid(rng), phase=phase, eid=uid(rng),
                           time=stamp + '+0000', action=action,
                           outcome=outcome, who=who, name=name, addr=addr,
                           agent=agent, project=project, target=target,
                           path=path, cid=uid(rng), reason=reason,
                           stamp=stamp.replace('T', ' '))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('out')
    parser.add_argument('records')
    parser.add_argument('config')
    parser.add_argument('--megabytes', type=int, default=1024)
    parser.add_argument('--vps', type=int, default=500)
    parser.add_argument('--end', default='2026-12-03')
    args = parser.parse_args()
    rng = random.Random(20261203)

    fleet = []
    for n in range(args.vps):
        vps = 'vps-prod-%04d' % n
        fleet.append({'vps': vps, 'reader': hexid(rng),
                      'reader_name': 'siq-reader-' + vps,
                      'container': uid(rng),
                      'secrets': {k: uid(rng) for k in KINDS}})
    write_records(fleet, args)

    target_bytes = args.megabytes << 20
    # 20 days of traffic ending at --end, about one request per 2 seconds.
    import datetime
    end = datetime.datetime.fromisoformat(args.end + 'T00:00:00')
    start = end - datetime.timedelta(days=20)
    size = 0
    requests = 0
    # Human reads at fixed fractions of the file.
    humans = {int(f * 1000): kind for f, kind in
              [(0.1, 'payload'), (0.35, 'legacy'), (0.5, 'payload'),
               (0.6, 'legacy'), (0.7, 'legacy'), (0.8, 'legacy'),
               (0.9, 'payload'), (0.95, 'legacy')]}
    clock = start
    with open(args.out, 'w') as out:
        while size < target_bytes:
            clock += datetime.timedelta(microseconds=rng.randrange(1, 4000000))
            t = (clock.strftime('%Y-%m-%dT%H:%M:%S'), clock.microsecond)
            permille = size * 1000 // target_bytes
            human = humans.pop(permille, None)
            lines = request(rng, fleet, t, human)
            for line in lines:
                out.write(line)
                size += len(line)
            requests += 1
    print('wrote %d requests, %d bytes' % (requests, size))


def request(rng, fleet, t, human):
    def pair(*fields, outcome='success', code='200'):
        return [event(rng, t, 'request', fields[0], 'pending', *fields[1:],
                      None),
                event(rng, t, 'response', fields[0], outcome, *fields[1:],
                      code)]

    v = fleet[rng.randrange(len(fleet))]
    kind = KINDS[rng.randrange(len(KINDS))]
    secret = v['secrets'][kind]
    reader = (v['reader'], v['reader_name'], '10.0.%d.%d' % (
        rng.randrange(256), rng.randrange(256)), 'siq/0.1.0', READERS_PROJECT)
    deployer = (DEPLOYER_ID, 'siq-deployer', '10.1.0.5', 'siq/0.1.0',
                PROJECT_ID)
    if human is not None:
        alice = (ALICE_ID, 'alice', '192.168.7.20', 'curl/7.88.1',
                 PROJECT_ID)
        path = '/v1/secrets/%s%s' % (secret,
                                     '/payload' if human == 'payload' else '')
        return pair('read', *alice, 'secrets/', path)
    r = rng.random()
    if r < 0.30:
        return pair('read', *reader, 'secrets/',
                    '/v1/secrets/%s/payload' % secret)
    if r < 0.60:
        return pair('read', *reader, 'secrets/', '/v1/secrets/%s' % secret)
    if r < 0.70:
        return pair('read', *reader, 'containers/',
                    '/v1/containers/%s' % v['container'])
    if r < 0.78:
        return pair('create', *deployer, 'orders', '/v1/orders', code='202')
    if r < 0.86:
        return pair('read', *deployer, 'orders/', '/v1/orders/%s' % uid(rng))
    if r < 0.90:
        return pair('update', *deployer, 'secrets/',
                    '/v1/secrets/%s/acl' % secret)
    if r < 0.93:
        return pair('read/list', *deployer, 'secrets',
                    '/v1/secrets?limit=100&offset=0&sort=created:asc')
    if r < 0.96:
        return pair('read', *deployer, 'secrets/', '/v1/secrets/%s' % secret)
    if r < 0.99:
        return pair('delete', *deployer, 'orders/',
                    '/v1/orders/%s' % uid(rng), code='204')
    # Another VPS's reader refused by the ACL.
    other = fleet[rng.randrange(len(fleet))]
    intruder = (other['reader'], other['reader_name'], '10.0.9.9',
                'siq/0.1.0', READERS_PROJECT)
    return pair('read', *intruder, 'secrets/',
                '/v1/secrets/%s/payload' % secret, outcome='failure',
                code='403')


def write_records(fleet, args):
    deployments = {}
    for v in fleet:
        secrets = {}
        for kind, sid in v['secrets'].items():
            secrets[kind] = {
                'kind': kind, 'name': '%s_%s' % (v['vps'], kind),
                'current': {'ref': '%s/v1/secrets/%s' % (BARBICAN, sid),
                            'order_ref': '', 'created_at':
                            '2026-11-20T00:00:00Z'},
                'pending': None, 'previous': None,
                'due_at': '2027-02-18T00:00:00Z', 'rotation_state': '',
                'rotation_started_at': None, 'rotation_failures': 0,
                'last_error': '', 'notice_sent_for_due': None}
        deployments[v['vps']] = {
            'vps': v['vps'], 'organization': 'org-1',
            'environment': 'production', 'region': 'RegionOne',
            'state': 'complete', 'container_name': v['vps'],
            'container_ref': '%s/v1/containers/%s' % (BARBICAN,
                                                       v['container']),
            'reader_user_id': v['reader'], 'reader_user_name':
            v['reader_name'], 'reader_credential_id': '',
            'provisioned_at': '2026-11-20T00:00:00Z',
            'updated_at': '2026-11-20T00:00:00Z', 'recovered_at': None,
            'secrets': secrets}
    with open(args.records, 'w') as f:
        json.dump({'schema_version': 1, 'deployments': deployments}, f)
    with open(args.config, 'w') as f:
        f.write('records: %s\naudit:\n  service_accounts: [siq-deployer]\n'
                % args.records)


if __name__ == '__main__':
    main()
