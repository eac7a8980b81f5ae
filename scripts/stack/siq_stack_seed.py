"""Creates siq's identities and Barbican's catalog entry in the dev Keystone,
then writes keystone-ids and clouds.yaml into the state dir.

Run by scripts/dev-stack.sh with /usr/bin/python3 after Keystone answers.
Idempotent: everything is looked up first, so a re-run on an existing state
dir only fills in what is missing. Passwords are read from the state dir and
only set when a user is created, so a re-run does not revoke live tokens.
"""
import os
import sys

import yaml
from keystoneauth1 import exceptions as ks_exc
from keystoneauth1 import session
from keystoneauth1.identity import v3
from keystoneclient.v3 import client

STATE = os.environ['SIQ_STACK_DIR']
KEYSTONE_URL = os.environ['SIQ_KEYSTONE_URL']
SHORT_KEYSTONE_URL = os.environ['SIQ_SHORT_AUTH_URL']
BARBICAN_URL = os.environ['SIQ_BARBICAN_URL']
REGION = 'RegionOne'
# admin/member/reader come from keystone-manage bootstrap; creator/observer/
# audit are the roles Barbican's default policy knows.
ROLES = ('admin', 'member', 'reader', 'creator', 'observer', 'audit',
         'siq-vps-reader', 'siq-reader-manager')


def secret(name):
    with open(os.path.join(STATE, 'secrets', name)) as f:
        return f.read().strip()


def one(items):
    return items[0] if items else None


def ensure_domain(ks, name):
    return one(ks.domains.list(name=name)) or ks.domains.create(name)


def ensure_project(ks, name, domain):
    found = one(ks.projects.list(name=name, domain=domain))
    return found or ks.projects.create(name, domain)


def ensure_user(ks, name, domain, password, project=None):
    found = one(ks.users.list(name=name, domain=domain))
    return found or ks.users.create(name, domain=domain, password=password,
                                    default_project=project)


def ensure_role(ks, name):
    return one(ks.roles.list(name=name)) or ks.roles.create(name)


def ensure_endpoints(ks, service_name, service_type, url):
    service = one(ks.services.list(name=service_name, type=service_type))
    if service is None:
        service = ks.services.create(service_name, type=service_type)
    for interface in ('public', 'internal', 'admin'):
        ep = one(ks.endpoints.list(service=service, interface=interface,
                                   region_id=REGION))
        if ep is None:
            ks.endpoints.create(service, url, interface=interface,
                                region=REGION)
        elif ep.url != url:
            ks.endpoints.update(ep, url=url)


def main():
    auth = v3.Password(auth_url=KEYSTONE_URL, username='admin',
                       password=secret('admin'),
                       project_name='admin', user_domain_id='default',
                       project_domain_id='default')
    ks = client.Client(session=session.Session(auth=auth),
                       endpoint_override=KEYSTONE_URL)

    roles = {name: ensure_role(ks, name) for name in ROLES}
    service = ensure_project(ks, 'service', 'default')
    siq = ensure_project(ks, 'siq', 'default')
    readers_domain = ensure_domain(ks, 'siq-readers')
    readers = ensure_project(ks, 'siq-readers', readers_domain)

    # keystonemiddleware validates users' tokens with this account; Keystone
    # only allows that to admin or service role holders (identity:validate_token).
    barbican = ensure_user(ks, 'barbican', 'default',
                           secret('barbican'), service)
    ks.roles.grant(roles['admin'], user=barbican, project=service)

    deployer = ensure_user(ks, 'siq-deployer', 'default',
                           secret('siq-deployer'), siq)
    ks.roles.grant(roles['creator'], user=deployer, project=siq)
    # What the keystone policy override keys on (see dev-stack.sh).
    ks.roles.grant(roles['siq-reader-manager'], user=deployer,
                   domain=readers_domain)

    # Also re-points bootstrap's identity endpoints when a state dir is
    # reused with other ports.
    ensure_endpoints(ks, 'keystone', 'identity', KEYSTONE_URL)
    ensure_endpoints(ks, 'barbican', 'key-manager', BARBICAN_URL)

    # The deployer may not list roles/projects (admin-only), so siq and the
    # tests get these IDs from `dev-stack.sh env`.
    ids = {
        'SIQ_PROJECT_ID': siq.id,
        'SIQ_READERS_DOMAIN_ID': readers_domain.id,
        'SIQ_READERS_PROJECT_ID': readers.id,
        'SIQ_VPS_READER_ROLE_ID': roles['siq-vps-reader'].id,
        'SIQ_DEPLOYER_USER_ID': deployer.id,
    }
    with open(os.path.join(STATE, 'keystone-ids'), 'w') as f:
        f.writelines('%s=%s\n' % item for item in ids.items())
    write_clouds_yaml()


def cloud(auth_url, user, project):
    return {'auth': {'auth_url': auth_url, 'username': user,
                     'password': secret(user), 'project_name': project,
                     'user_domain_name': 'Default',
                     'project_domain_name': 'Default'},
            'region_name': REGION, 'interface': 'public',
            'identity_api_version': 3}


def write_clouds_yaml():
    clouds = {
        'siq-admin': cloud(KEYSTONE_URL, 'admin', 'admin'),
        'siq-deployer': cloud(KEYSTONE_URL, 'siq-deployer', 'siq'),
        'siq-deployer-short': cloud(SHORT_KEYSTONE_URL, 'siq-deployer', 'siq'),
    }
    path = os.path.join(STATE, 'clouds.yaml')
    if os.path.exists(path):
        os.unlink(path)
    with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600), 'w') as f:
        yaml.safe_dump({'clouds': clouds}, f, default_flow_style=False)


if __name__ == '__main__':
    try:
        main()
    except ks_exc.ClientException as e:
        sys.exit('seeding keystone failed: %s' % e)
