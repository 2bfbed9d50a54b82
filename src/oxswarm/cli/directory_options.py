"""How the admin commands (``clients``, ``users``) find and bind to the directory.

Directory URLs, first found wins:

1. ``--ldap-url URL`` (repeatable),
2. ``OXSWARM_LDAP_URLS`` (comma-separated, the variable the deployment sets),
3. the config value ``ldap_peers`` (JSON list of URLs, filled by the deployment and by
   ``oxswarm dev up``),
4. ``ldaps://127.0.0.1:<ldap_port>``.

The bind DN (``ldap_bind_dn``), its password (secret ``ldap_admin_pw``), the suffix
(``ldap_base_dn``) and the CA certificate (``ca_cert``) come from the config store, opened
with the master key (the store options of :mod:`oxswarm.cli.options`).
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import click

from oxswarm.cli.options import open_box, open_manager
from oxswarm.config import keys as K
from oxswarm.config.manager import ConfigManager
from oxswarm.config.secrets import SecretBox
from oxswarm.directory.connection import Directory, DirectoryConfig
from oxswarm.directory.tree import Tree
from oxswarm.errors import StoreUnavailable
from oxswarm.settings import ENV_LDAP_URLS, Settings

__all__ = ["ENV_LDAP_URLS", "DirectoryAccess", "directory_urls", "ldap_url_option",
           "open_directory"]
F = TypeVar("F", bound=Callable[..., Any])


def ldap_url_option(func: F) -> F:
    """``--ldap-url`` (repeatable); the command receives ``ldap_urls: tuple[str, ...]``."""
    return click.option(
        "--ldap-url",
        "ldap_urls",
        multiple=True,
        metavar="URL",
        help=f"A directory server (ldap:// or ldaps://). [env {ENV_LDAP_URLS}; "
        "default: the store's ldap_peers]",
    )(func)


def directory_urls(
    manager: ConfigManager, given: tuple[str, ...], env: Mapping[str, str] | None = None
) -> tuple[str, ...]:
    env = os.environ if env is None else env
    if given:
        return given
    if env.get(ENV_LDAP_URLS):
        return tuple(u.strip() for u in env[ENV_LDAP_URLS].split(",") if u.strip())
    peers = manager.get(K.LDAP_PEERS)
    if peers:
        urls = json.loads(peers)
        if isinstance(urls, list) and urls:
            return tuple(str(u) for u in urls)
    return (f"ldaps://127.0.0.1:{manager.get(K.LDAP_PORT) or 1636}",)


@dataclass(frozen=True)
class DirectoryAccess:
    directory: Directory
    tree: Tree
    box: SecretBox


@contextmanager
def open_directory(settings: Settings, ldap_urls: tuple[str, ...]) -> Iterator[DirectoryAccess]:
    """The bound directory, its tree and the secret box; closed afterwards."""
    box = open_box(settings)
    with open_manager(settings, box) as manager, tempfile.TemporaryDirectory() as tmp:
        bind_dn = manager.get(K.LDAP_BIND_DN)
        password = manager.get_secret(K.LDAP_ADMIN_PW)
        if not bind_dn or not password:
            raise StoreUnavailable("the config store has no directory credentials: run config-init")
        ca_file = None
        if ca := manager.get(K.CA_CERT):
            ca_file = Path(tmp) / "ca.pem"
            ca_file.write_text(ca)
        directory = Directory(
            DirectoryConfig(
                urls=directory_urls(manager, ldap_urls),
                bind_dn=bind_dn,
                password=password,
                ca_file=ca_file,
            )
        )
        try:
            yield DirectoryAccess(directory, Tree(manager.get(K.LDAP_BASE_DN) or "o=gluu"), box)
        finally:
            directory.close()
