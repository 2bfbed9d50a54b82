"""Options every command that reaches the config store shares, and what they build.

``@store_options`` adds ``--store``, ``--cluster``, ``--master-key-file`` and the store's
TLS credentials (``--store-ca-file``, ``--store-cert-file``, ``--store-key-file``) to a click
command and hands it a :class:`~oxswarm.settings.Settings` as ``settings`` (options
first, then ``OXSWARM_STORE`` / ``OXSWARM_CLUSTER`` / ``OXSWARM_MASTER_KEY_FILE``, then
defaults). :func:`open_manager` then builds the store, the secret box and the manager::

    @group.command()
    @store_options
    def show(settings: Settings) -> None:
        with open_manager(settings) as manager:
            ...
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar, cast

import click

from oxswarm.config.etcd import EtcdStore
from oxswarm.config.manager import ConfigManager
from oxswarm.config.secrets import SecretBox
from oxswarm.errors import InvalidInput
from oxswarm.settings import (
    ENV_CLUSTER,
    ENV_MASTER_KEY_FILE,
    ENV_STORE,
    ENV_STORE_CA_FILE,
    ENV_STORE_CERT_FILE,
    ENV_STORE_KEY_FILE,
    Settings,
)

F = TypeVar("F", bound=Callable[..., Any])


def store_options(func: F) -> F:
    """Add the store options to a click command; it receives ``settings: Settings``."""

    @functools.wraps(func)
    def wrapper(
        *args: Any,
        store_url: str | None,
        cluster: str | None,
        master_key_file: Path | None,
        store_ca_file: Path | None,
        store_cert_file: Path | None,
        store_key_file: Path | None,
        **kwargs: Any,
    ) -> Any:
        settings = Settings.load(store=store_url, cluster=cluster, master_key_file=master_key_file,
                                 store_ca_file=store_ca_file, store_cert_file=store_cert_file,
                                 store_key_file=store_key_file)
        return func(*args, settings=settings, **kwargs)

    decorated: Any = wrapper
    for name, env, what in (
        ("key", ENV_STORE_KEY_FILE, "The private key of --store-cert-file (PEM)."),
        ("cert", ENV_STORE_CERT_FILE, "This client's certificate for the store (PEM; its "
                                      "OU and key make the etcd user)."),
        ("ca", ENV_STORE_CA_FILE, "The cluster CA the store's certificates chain to (PEM)."),
    ):
        decorated = click.option(
            f"--store-{name}-file", f"store_{name}_file",
            type=click.Path(dir_okay=False, path_type=Path), default=None,
            help=f"{what} [env {env}]",
        )(decorated)

    decorated = click.option(
        "--master-key-file",
        "master_key_file",
        type=click.Path(dir_okay=False, path_type=Path),
        default=None,
        help=f"The cluster's master key file (32 bytes, base64). [env {ENV_MASTER_KEY_FILE}]",
    )(decorated)
    decorated = click.option(
        "--cluster",
        "cluster",
        default=None,
        metavar="NAME",
        help=f"Cluster name; keys live under /oxswarm/NAME. [default oxswarm; env {ENV_CLUSTER}]",
    )(decorated)
    decorated = click.option(
        "--store",
        "store_url",
        default=None,
        metavar="etcd[+https]://HOST:PORT[,HOST:PORT...]",
        help=f"The config store's etcd members. [default etcd://127.0.0.1:2379; env {ENV_STORE}]",
    )(decorated)
    return cast(F, decorated)


def open_store(settings: Settings) -> EtcdStore:
    return EtcdStore.from_settings(settings)


def master_key_path(settings: Settings) -> Path:
    """The master key file's path; invalid input (exit 2) when none was given."""
    if settings.master_key_file is None:
        raise InvalidInput(
            f"master-key-file: no master key file given (use --master-key-file or "
            f"set {ENV_MASTER_KEY_FILE})",
            field="master-key-file",
        )
    return settings.master_key_file


def open_box(settings: Settings) -> SecretBox:
    """The secret box from the master key file; MasterKeyError (exit 1) naming the path."""
    return SecretBox.from_file(master_key_path(settings))


@contextmanager
def open_manager(settings: Settings, box: SecretBox | None = None) -> Iterator[ConfigManager]:
    """A :class:`ConfigManager` on the cluster's store; the store is closed afterwards.

    The master key file is required (read before the store is contacted) unless a
    ``box`` is passed in.
    """
    box = box if box is not None else open_box(settings)
    store = open_store(settings)
    try:
        yield ConfigManager(store, settings.prefix, box)
    finally:
        store.close()
