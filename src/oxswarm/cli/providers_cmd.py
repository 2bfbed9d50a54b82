"""``oxswarm providers add|list|show|update|remove|enable|disable``: oxPassport's upstream
identity providers (docs/passport.md), in the config store.

The client secret is read from a file (``--client-secret-file``, ``-`` for stdin), never
from the command line, and stored encrypted (``passport_client_secret_<ID>``). Tables for
people, ``--json`` for scripts; bad input exits 2 with one line naming the option; a
store that cannot be reached exits 1. Running oxAuth processes follow within a second.

Each change is applied to the provider as stored at the moment of the write (the store's
compare-and-swap, :class:`~oxswarm.passport.providers.ProviderStore`): ``update`` sets only
the options given, so a concurrent change of other options or other providers stays.
Every change is recorded in the audit log as the admin API's and UI's are
(``passport_provider.create|update|delete``, actor ``cli:<OS user>``, never the secret;
``--ldap-url`` as for ``oxswarm users``); a log that cannot be written is a warning, the
change stays.
"""

from __future__ import annotations

import dataclasses
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from oxswarm.cli.audit_cmd import record_cli
from oxswarm.cli.directory_options import ldap_url_option, open_directory
from oxswarm.cli.options import open_manager, store_options
from oxswarm.cli.saml_cmd import read_metadata
from oxswarm.config.manager import ConfigManager
from oxswarm.errors import InvalidInput, NotFound, OxSwarmError
from oxswarm.passport.providers import (
    LINKING,
    TYPES,
    UPDATES,
    Provider,
    ProviderStore,
    build,
    check_id,
    check_secret,
)
from oxswarm.settings import Settings

MAX_FILE = 64 * 1024


def _read(path: str, what: str) -> str:
    try:
        if path == "-":
            text = sys.stdin.read(MAX_FILE + 1)
        else:
            with Path(path).open(encoding="utf-8") as handle:
                text = handle.read(MAX_FILE + 1)
    except (OSError, UnicodeError) as exc:
        raise InvalidInput(f"{what}: cannot read {path}: {exc.__class__.__name__}",
                           field=what) from None
    if len(text) > MAX_FILE:
        raise InvalidInput(f"{what}: larger than {MAX_FILE} bytes", field=what)
    return text


def read_secret(path: str) -> str:
    secret = _read(path, "client-secret-file").strip()
    try:
        return check_secret(secret)
    except InvalidInput:
        raise InvalidInput("client-secret-file: must hold one line, the secret (1-1024)",
                           field="client-secret-file") from None


def read_mapping(path: str) -> dict[str, Any]:
    try:
        data = json.loads(_read(path, "mapping"))
    except ValueError as exc:
        raise InvalidInput(f"mapping: not JSON ({exc})", field="mapping") from None
    if not isinstance(data, dict):
        raise InvalidInput("mapping: must be a JSON object {claim: field}", field="mapping")
    return data


def _store(manager: ConfigManager) -> ProviderStore:
    return ProviderStore(manager)


def _get(store: ProviderStore, provider_id: str) -> Provider:
    return _missing_is_input(provider_id, lambda: store.get(provider_id))


def _missing_is_input(provider_id: str, step: Callable[[], Provider]) -> Provider:
    """An unknown id is the caller's input: exit 2 naming it."""
    try:
        return step()
    except NotFound:
        raise InvalidInput(f"id: no provider {provider_id!r}", field="id") from None


def _audit(settings: Settings, ldap_urls: tuple[str, ...], action: str, target: str,
           detail: dict[str, Any]) -> None:
    """Record the change made (the store write is done: a failure here only warns)."""
    try:
        with open_directory(settings, ldap_urls) as access:
            record_cli(access, f"passport_provider.{action}", target, detail)
    except OxSwarmError as exc:
        click.echo(f"warning: the change was made but not recorded in the audit log: {exc}",
                   err=True)  # fmt: skip


def _detail(provider: Provider, **more: Any) -> dict[str, Any]:
    """What the log keeps of a provider: its options, not its metadata nor a secret."""
    return {**{k: v for k, v in provider.public().items() if k != "metadata"}, **more}


def _table(providers: list[Provider]) -> Table:
    table = Table(title="passport providers", title_justify="left")
    for column in ("ID", "NAME", "TYPE", "ISSUER", "CLIENT ID", "LINKING", "UPDATE",
                   "ENABLED"):
        table.add_column(column)
    for p in providers:
        table.add_row(p.id, p.label, p.type, p.issuer, p.client_id, p.linking, p.update,
                      "yes" if p.enabled else "no")
    return table


def _show(provider: Provider, as_json: bool, has_secret: bool) -> None:
    data = {**provider.public(), "client_secret": "set" if has_secret else "missing"}
    if provider.type == "saml":
        data["client_secret"] = "-"
        data["metadata"] = f"{len(provider.metadata.encode())} bytes"
        data["sp_metadata"] = f"/passport/auth/meta/idp/{provider.id}"
    if as_json:
        click.echo(json.dumps(data))
        return
    for key, value in data.items():
        text = ", ".join(value) if isinstance(value, list) else (
            json.dumps(value) if isinstance(value, dict) else str(value))
        click.echo(f"{key + ':':16}{text}")


def _options(func: Any) -> Any:
    for option in reversed((
        click.option("--name", default=None, help="The login button's label."),
        click.option("--issuer", default=None, help="The provider's issuer (discovery)."),
        click.option("--client-id", default=None),
        click.option("--client-secret-file", default=None,
                     help="File holding the client secret ('-': stdin); never argv."),
        click.option("--metadata", default=None,
                     help="saml: the IdP's metadata, a file, '-' or an http(s) URL."),
        click.option("--subject-attribute", default=None,
                     help="saml: the subject from this attribute instead of the NameID."),
        click.option("--scope", "scopes", multiple=True, help="Repeatable; openid is added."),
        click.option("--mapping", default=None, help="JSON file {claim: person field}."),
        click.option("--linking", default=None, help=f"One of {', '.join(LINKING)}."),
        click.option("--update", "update_mode", default=None,
                     help=f"{' or '.join(UPDATES)}: apply mapped attributes on the first "
                          "sign-in only, or on every one."),
        click.option("--json", "as_json", is_flag=True),
    )):
        func = option(func)
    return func


@click.group("providers")
def providers_group() -> None:
    """oxPassport: upstream OpenID Providers people may sign in through."""


@providers_group.command("add")
@click.option("--id", "provider_id", default="", help="lower-case letters, digits, _ -")
@click.option("--type", "kind", default="oidc", show_default=True,
              help=f"One of {', '.join(TYPES)}.")
@_options
@store_options
@ldap_url_option
def add_cmd(*, settings: Settings, ldap_urls: tuple[str, ...], provider_id: str, kind: str,
            name: str | None, issuer: str | None, client_id: str | None,
            client_secret_file: str | None, metadata: str | None, subject_attribute: str | None,
            scopes: tuple[str, ...], mapping: str | None, linking: str | None,
            update_mode: str | None, as_json: bool) -> None:
    """Add a provider (disabled providers keep their place: see enable/disable)."""
    check_id(provider_id)
    if kind == "saml":
        if not metadata:
            raise InvalidInput("metadata: required for a saml provider", field="metadata")
    elif not client_secret_file:
        raise InvalidInput("client-secret-file: required", field="client-secret-file")
    data: dict[str, Any] = {"id": provider_id, "type": kind, "issuer": issuer or "",
                            "client_id": client_id or "", "name": name or "",
                            "linking": linking or "create", "update": update_mode or "first"}
    if scopes:
        data["scopes"] = list(scopes)
    if mapping:
        data["mapping"] = read_mapping(mapping)
    if kind == "saml":
        data["metadata"] = read_metadata(settings, str(metadata))
        data["subject_attribute"] = subject_attribute or ""
    provider = build(data)
    secret = read_secret(client_secret_file) if client_secret_file and kind != "saml" else None
    with open_manager(settings) as manager:
        _store(manager).add(provider, secret)
    _audit(settings, ldap_urls, "create", provider.id, _detail(provider))
    _show(provider, as_json, secret is not None)


@providers_group.command("update")
@click.argument("provider_id")
@_options
@store_options
@ldap_url_option
def update_cmd(*, settings: Settings, ldap_urls: tuple[str, ...], provider_id: str,
               name: str | None, issuer: str | None, client_id: str | None,
               client_secret_file: str | None, metadata: str | None,
               subject_attribute: str | None,
               scopes: tuple[str, ...], mapping: str | None, linking: str | None,
               update_mode: str | None, as_json: bool) -> None:
    """Change the options given; the others stay."""
    secret = read_secret(client_secret_file) if client_secret_file else None
    new_mapping = read_mapping(mapping) if mapping else None
    new_metadata = read_metadata(settings, metadata) if metadata else None
    given = {key: value for key, value in (
        ("name", name), ("issuer", issuer), ("client_id", client_id), ("linking", linking),
        ("update", update_mode), ("mapping", new_mapping), ("metadata", new_metadata),
        ("subject_attribute", subject_attribute), ("scopes", list(scopes) or None),
    ) if value is not None}  # fmt: skip

    def edit(current: Provider) -> Provider:  # on the provider as stored at the write
        return build({**current.public(), **given})

    with open_manager(settings) as manager:
        store = _store(manager)
        changed = _missing_is_input(provider_id, lambda: store.update(provider_id, edit,
                                                                       secret))
        has_secret = store.has_secret(provider_id)
    _audit(settings, ldap_urls, "update", provider_id,
           _detail(changed, credential_changed=secret is not None))
    _show(changed, as_json, has_secret)


@providers_group.command("list")
@click.option("--json", "as_json", is_flag=True)
@store_options
def list_cmd(settings: Settings, as_json: bool) -> None:
    """Every provider: a table, or a JSON array."""
    with open_manager(settings) as manager:
        providers = _store(manager).list()
    if as_json:
        click.echo(json.dumps([p.public() for p in providers]))
    elif providers:
        Console(width=160).print(_table(providers))
    else:
        click.echo("no providers")


@providers_group.command("show")
@click.argument("provider_id")
@click.option("--json", "as_json", is_flag=True)
@store_options
def show_cmd(settings: Settings, provider_id: str, as_json: bool) -> None:
    """One provider (the secret only as set or missing)."""
    with open_manager(settings) as manager:
        store = _store(manager)
        provider = _get(store, provider_id)
        has_secret = store.has_secret(provider_id)
    _show(provider, as_json, has_secret)


@providers_group.command("remove")
@click.argument("provider_id")
@store_options
@ldap_url_option
def remove_cmd(settings: Settings, ldap_urls: tuple[str, ...], provider_id: str) -> None:
    """Remove a provider and its secret (people keep their links)."""
    with open_manager(settings) as manager:
        store = _store(manager)
        _missing_is_input(provider_id, lambda: store.remove(provider_id))
    _audit(settings, ldap_urls, "delete", provider_id, {})
    click.echo(f"removed {provider_id}")


def _switch(settings: Settings, ldap_urls: tuple[str, ...], provider_id: str,
            on: bool) -> None:
    with open_manager(settings) as manager:
        store = _store(manager)
        _missing_is_input(provider_id, lambda: store.update(
            provider_id, lambda current: dataclasses.replace(current, enabled=on)))
    _audit(settings, ldap_urls, "update", provider_id, {"enabled": on})
    click.echo(f"{'enabled' if on else 'disabled'} {provider_id}")


@providers_group.command("enable")
@click.argument("provider_id")
@store_options
@ldap_url_option
def enable_cmd(settings: Settings, ldap_urls: tuple[str, ...], provider_id: str) -> None:
    """Show the provider's button again and accept its sign-ins."""
    _switch(settings, ldap_urls, provider_id, True)


@providers_group.command("disable")
@click.argument("provider_id")
@store_options
@ldap_url_option
def disable_cmd(settings: Settings, ldap_urls: tuple[str, ...], provider_id: str) -> None:
    """Hide the provider's button and refuse its sign-ins (kept for later)."""
    _switch(settings, ldap_urls, provider_id, False)
