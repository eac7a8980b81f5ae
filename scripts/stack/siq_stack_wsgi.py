"""WSGI factories for scripts/dev-stack.sh, served by `python3 -m waitress --call`.

Deliberately not named keystone.py/barbican.py: dev-stack.sh puts this
directory on PYTHONPATH, ahead of dist-packages, where such a name would
shadow the real packages.
"""
import os
import sys


def keystone_app():
    # keystone parses sys.argv as oslo.config CLI options; waitress's own
    # arguments are still there and make it exit with "unrecognized arguments".
    # The config files come from OS_KEYSTONE_CONFIG_DIR/OS_KEYSTONE_CONFIG_FILES.
    del sys.argv[1:]
    from keystone.server import wsgi
    return wsgi.initialize_public_application()


def barbican_app():
    # barbican.api.app:get_api_wsgi_script hardcodes /etc/barbican's paste ini,
    # whose /v1 pipeline has no audit middleware; load ours instead.
    from paste import deploy
    return deploy.loadapp('config:' + os.environ['SIQ_BARBICAN_PASTE'])
