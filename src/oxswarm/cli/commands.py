"""Registers every sub-command group on the root command."""

from __future__ import annotations

import click


def register(root: click.Group) -> None:
    """Add each concern's command group; each lives in its own module."""
    from oxswarm.cli.config_cmd import config_group

    root.add_command(config_group)
    from oxswarm.cli.ldap_cmd import ldap_group

    root.add_command(ldap_group)
    from oxswarm.cli.run_cmd import run_group

    root.add_command(run_group)
    from oxswarm.cli.dev_cmd import dev_group

    root.add_command(dev_group)
    from oxswarm.cli.clients_cmd import clients_group

    root.add_command(clients_group)
    from oxswarm.cli.users_cmd import users_group

    root.add_command(users_group)
    from oxswarm.cli.audit_cmd import audit_group

    root.add_command(audit_group)
    from oxswarm.roles import register as register_roles

    register_roles(run_group)
    from oxswarm.cli import env_cmd, lab_cmd, up_cmd

    up_cmd.register(root)
    env_cmd.register(root)
    lab_cmd.register(root)
    from oxswarm.cli.keys_cmd import keys_group

    root.add_command(keys_group)
    from oxswarm.cli.cache_cmd import cache_group

    root.add_command(cache_group)
    from oxswarm.cli.saml_cmd import saml_group

    root.add_command(saml_group)
    from oxswarm.cli.providers_cmd import providers_group

    root.add_command(providers_group)
