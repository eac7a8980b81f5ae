"""keystone-manage db_sync, fernet_setup, credential_setup and bootstrap, in
one interpreter, for scripts/dev-stack.sh.

This is keystone-manage's own entry point (keystone.cmd.cli.main) called once
per command. Each keystone-manage process spends ~2 s of CPU importing
keystone; four of them took half a minute on a busy 2-core machine.
Usage: siq_keystone_init.py KEYSTONE_CONF KEYSTONE_URL, with the admin
password in OS_BOOTSTRAP_PASSWORD (bootstrap reads it from there).
Every command is idempotent, so a half-initialised state dir is completed.
"""
import grp
import os
import pwd
import sys

from keystone.cmd import cli
from keystone.conf import CONF


def main(conf_file, url):
    owner = ['--keystone-user', pwd.getpwuid(os.getuid()).pw_name,
             '--keystone-group', grp.getgrgid(os.getgid()).gr_name]
    commands = [
        ['db_sync'],
        ['fernet_setup'] + owner,
        ['credential_setup'] + owner,
        ['bootstrap', '--bootstrap-username', 'admin',
         '--bootstrap-project-name', 'admin', '--bootstrap-role-name', 'admin',
         '--bootstrap-region-id', 'RegionOne', '--bootstrap-admin-url', url,
         '--bootstrap-public-url', url, '--bootstrap-internal-url', url],
    ]
    for command in commands:
        print('keystone-manage %s' % command[0], flush=True)
        cli.main(argv=['keystone-manage', '--config-file', conf_file] + command)
        # Lets the next cli.main() register its options and parse again.
        CONF.clear()


if __name__ == '__main__':
    main(*sys.argv[1:])
