"""``oxswarm ldap``: the directory's initial load.

``oxswarm ldap init [--url ldap://...]...`` binds as the directory's root DN
(``ldap_bind_dn`` from the store, password = the ``ldap_admin_pw`` secret) and loads
the initial tree (:func:`oxswarm.directory.bootstrap.init_directory`). Without
``--url`` it uses the store's ``ldap_peers``. ``ldaps://`` servers are verified
against the cluster's ``ca_cert``. Running it again changes nothing.
"""

from __future__ import annotations

import json

import click

from oxswarm.cli.options import open_box, open_manager, store_options
from oxswarm.config import keys
from oxswarm.config.manager import ConfigManager
from oxswarm.directory.bootstrap import InitialData, OwnClient, init_directory
from oxswarm.directory.connection import Directory, DirectoryConfig
from oxswarm.directory.slapdconf import DEFAULT_ROOT_DN, DEFAULT_SUFFIX
from oxswarm.errors import InvalidInput
from oxswarm.settings import Settings


@click.group("ldap")
def ldap_group() -> None:
    """The directory (OpenLDAP): initial tree and data."""


def _required(value: str | None, name: str) -> str:
    if not value:
        raise InvalidInput(
            f"{name}: not in the config store (run `oxswarm config generate` first)", field=name
        )
    return value


def initial_data(manager: ConfigManager) -> InitialData:
    """Everything ``init_directory`` needs, read from the config store."""
    clients = tuple(
        OwnClient(
            name,
            _required(manager.get(id_key), id_key),
            _required(manager.get_secret(secret_key), secret_key),
        )
        for name, id_key, secret_key in keys.OWN_CLIENTS
    )
    return InitialData(
        admin_inum=_required(manager.get(keys.ADMIN_INUM), keys.ADMIN_INUM),
        admin_password=_required(manager.get_secret(keys.ADMIN_PW), keys.ADMIN_PW),
        admin_email=manager.get(keys.ADMIN_EMAIL),
        hostname=manager.get(keys.HOSTNAME),
        own_clients=clients,
        suffix=manager.get(keys.LDAP_BASE_DN) or DEFAULT_SUFFIX,
    )


def directory_config(manager: ConfigManager, urls: tuple[str, ...]) -> DirectoryConfig:
    """Bind as the root DN with ``ldap_admin_pw``; servers from ``--url`` or ``ldap_peers``."""
    if not urls:
        peers = manager.get(keys.LDAP_PEERS)
        try:
            urls = tuple(json.loads(peers)) if peers else ()
        except ValueError as exc:
            raise InvalidInput(f"{keys.LDAP_PEERS}: not a JSON list", field="url") from exc
        if not urls:
            raise InvalidInput("url: give --url (the store has no ldap_peers)", field="url")
    return DirectoryConfig(
        urls=urls,
        bind_dn=manager.get(keys.LDAP_BIND_DN) or DEFAULT_ROOT_DN,
        password=_required(manager.get_secret(keys.LDAP_ADMIN_PW), keys.LDAP_ADMIN_PW),
        ca_pem=manager.get(keys.CA_CERT),
    )


@ldap_group.command("init")
@click.option(
    "--url",
    "urls",
    multiple=True,
    metavar="ldap[s]://HOST:PORT",
    help="A directory server (repeat for several; the first that answers is used).",
)
@store_options
def init_command(settings: Settings, urls: tuple[str, ...]) -> None:
    """Load the initial tree (o=gluu, admin, scopes, oxAuth's clients); idempotent."""
    box = open_box(settings)
    with open_manager(settings, box) as manager:
        data = initial_data(manager)
        config = directory_config(manager, urls)
    with Directory(config) as directory:
        result = init_directory(directory, data, box)
    for dn in result.added:
        click.echo(f"added {dn}")
    if result.present:
        click.echo(f"already present: {len(result.present)} entries")
    click.echo(f"{len(result.added)} added, {len(result.present)} already present")
