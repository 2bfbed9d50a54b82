"""Role entrypoints of the one image: ``oxswarm run <role>``.

Each role renders its configuration from the config store (or, for etcd itself, from the
environment the stack sets), waits bounded and logged for what it needs, then runs its
daemon. :func:`register` adds them to the ``run`` group (``cli/run_cmd.py``).
"""

from __future__ import annotations

import click


def register(run: click.Group) -> None:
    """Add every role of this package to the ``oxswarm run`` group."""
    from oxswarm.roles import csync2, etcd, ldap, nginx, redis, registrator, twemproxy

    for module in (etcd, redis, twemproxy, ldap, nginx, registrator, csync2):
        run.add_command(module.command)
