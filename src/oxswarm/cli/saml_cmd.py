"""``oxswarm saml trust add|list|show|update|remove``: the SAML IdP's trust relationships
(service providers) in the directory (docs/saml.md).

``add --metadata FILE|URL|-`` reads the SP's metadata from a file, stdin (``-``: pasted) or
an https URL fetched under oxAuth's outbound rules (:mod:`oxswarm.oxauth.adapters.outbound`:
no private or cluster address unless the store's ``oxauth_fetch_allow`` opens it, 256 KiB,
5 s, no redirects). The metadata is parsed by pysaml2 with no DTD processing. Tables for
people, ``--json`` for scripts; bad input exits 2 with one line naming the option.
"""

from __future__ import annotations

import asyncio
import json
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import click

from oxswarm.cli.audit_cmd import record_cli
from oxswarm.cli.directory_options import ldap_url_option, open_directory
from oxswarm.cli.options import open_manager, store_options
from oxswarm.directory.trust_relationships import TrustRepository
from oxswarm.errors import Conflict, InvalidInput
from oxswarm.oxauth.policy import read_policy
from oxswarm.oxshibboleth.trust import (
    DEFAULT_RELEASE,
    MAX_METADATA,
    NAMEID_CHOICES,
    Trust,
    check_attributes,
    check_nameid,
    fetch_metadata,
    metadata_text,
    new_inum,
    parse_sp_metadata,
)
from oxswarm.settings import Settings


@click.group("saml")
def saml_group() -> None:
    """The SAML 2.0 identity provider (oxShibboleth)."""


@saml_group.group("trust")
def trust_group() -> None:
    """Trust relationships: the service providers the IdP signs people in to."""


def read_metadata(settings: Settings, source: str) -> str:
    """The metadata text from a file, ``-`` (stdin) or an http(s) URL (guarded fetch)."""
    if source.startswith(("https://", "http://")):
        with open_manager(settings) as manager:
            policy = read_policy(manager.get)
        rules = policy.fetch_rules()
        return asyncio.run(fetch_metadata(source, rules, policy.fetch_ca))
    if source == "-":
        raw = sys.stdin.buffer.read(MAX_METADATA + 1)
    else:
        path = Path(source)
        try:
            with path.open("rb") as handle:
                raw = handle.read(MAX_METADATA + 1)
        except OSError as exc:
            raise InvalidInput(f"metadata: cannot read {source}: {exc.strerror}",
                               field="metadata") from None
    return metadata_text(raw)


def _table(trusts: list[Trust]) -> str:
    rows = [("NAME", "ENTITY ID", "NAMEID", "SIGN", "ENCRYPT", "RELEASE", "INUM")]
    for t in trusts:
        rows.append((t.name, t.entity_id, t.nameid_format, "yes" if t.sign_assertions else "no",
                     "yes" if t.encrypt_assertions else "no", ",".join(t.release), t.inum))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip()
                     for r in rows)


def _show(trust: Trust, as_json: bool) -> None:
    summary = trust.summary()
    if as_json:
        click.echo(json.dumps(summary))
        return
    for key, value in summary.items():
        text = ", ".join(value) if isinstance(value, list) else value
        if isinstance(value, bool):
            text = "yes" if value else "no"
        click.echo(f"{key + ':':24}{text}")


_nameid = click.option("--nameid-format", type=click.Choice(NAMEID_CHOICES), default=None,
                       help="transient (default), persistent (pairwise, stable per SP), "
                            "emailAddress or unspecified (the uid).")


@trust_group.command("add")
@click.option("--metadata", "source", required=True, metavar="FILE|URL|-",
              help="The SP's metadata: a file, an https URL, or - to paste it on stdin.")
@click.option("--name", default=None, help="A name for people. [default: the entityID]")
@click.option("--release", "release", multiple=True, metavar="ATTR",
              help=f"Repeatable: uid, mail, givenName, sn, displayName, memberOf or a custom "
                   f"attribute. [default: {', '.join(DEFAULT_RELEASE)}]")
@_nameid
@click.option("--sign-assertions", is_flag=True, help="Sign assertions (responses always are).")
@click.option("--encrypt-assertions", is_flag=True,
              help="Encrypt assertions to the SP's certificate (AES-256-GCM, RSA-OAEP).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@store_options
@ldap_url_option
def add_trust(*, settings: Settings, ldap_urls: tuple[str, ...], source: str, name: str | None,
              release: tuple[str, ...], nameid_format: str | None, sign_assertions: bool,
              encrypt_assertions: bool, as_json: bool) -> None:
    """Trust a service provider from its metadata."""
    check_attributes(release)
    text = read_metadata(settings, source)
    sp = parse_sp_metadata(text)
    trust = Trust(
        inum=new_inum(), name=name or sp.entity_id, entity_id=sp.entity_id, metadata=text,
        release=check_attributes(release) or DEFAULT_RELEASE,
        nameid_format=check_nameid(nameid_format or "transient"),
        sign_assertions=sign_assertions, encrypt_assertions=encrypt_assertions,
    ).check()
    with open_directory(settings, ldap_urls) as access:
        try:
            stored = TrustRepository(access.directory, access.tree).add(trust)
        except Conflict as exc:
            raise InvalidInput(str(exc), field="metadata") from None
        record_cli(access, "saml_trust.create", stored.entity_id, _audit(stored))
    _show(stored, as_json)


def _audit(trust: Trust) -> dict[str, Any]:
    return {k: v for k, v in trust.summary().items() if k != "acs"}


@trust_group.command("update")
@click.argument("trust_id", metavar="ENTITY_ID|INUM")
@click.option("--metadata", "source", default=None, metavar="FILE|URL|-",
              help="New metadata of the same entityID.")
@click.option("--name", default=None)
@click.option("--release", "release", multiple=True, metavar="ATTR",
              help="Repeatable; replaces the released attributes.")
@_nameid
@click.option("--sign-assertions/--no-sign-assertions", default=None)
@click.option("--encrypt-assertions/--no-encrypt-assertions", default=None)
@click.option("--enable/--disable", "enabled", default=None)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@store_options
@ldap_url_option
def update_trust(*, settings: Settings, ldap_urls: tuple[str, ...], trust_id: str,
                 source: str | None, name: str | None, release: tuple[str, ...],
                 nameid_format: str | None, sign_assertions: bool | None,
                 encrypt_assertions: bool | None, enabled: bool | None, as_json: bool) -> None:
    """Change the options given; the others stay."""
    check_attributes(release)
    text = read_metadata(settings, source) if source is not None else None
    with open_directory(settings, ldap_urls) as access:
        repo = TrustRepository(access.directory, access.tree)
        current = repo.find(trust_id)
        changes: dict[str, Any] = {}
        if text is not None:
            if parse_sp_metadata(text).entity_id != current.entity_id:
                raise InvalidInput("metadata: its entityID is not this trust's (add a new "
                                   "trust for another SP)", field="metadata")
            changes["metadata"] = text
        for key, value in (("name", name), ("sign_assertions", sign_assertions),
                           ("encrypt_assertions", encrypt_assertions), ("enabled", enabled)):
            if value is not None:
                changes[key] = value
        if release:
            changes["release"] = check_attributes(release)
        if nameid_format is not None:
            changes["nameid_format"] = check_nameid(nameid_format)
        stored = repo.update(replace(current, **changes))
        record_cli(access, "saml_trust.update", stored.entity_id, _audit(stored))
    _show(stored, as_json)


@trust_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array.")
@store_options
@ldap_url_option
def list_trusts(settings: Settings, ldap_urls: tuple[str, ...], as_json: bool) -> None:
    """Every trust relationship."""
    with open_directory(settings, ldap_urls) as access:
        found = TrustRepository(access.directory, access.tree).list()
    if as_json:
        click.echo(json.dumps([t.summary() for t in found]))
    elif found:
        click.echo(_table(found))
    else:
        click.echo("no trust relationships")


@trust_group.command("show")
@click.argument("trust_id", metavar="ENTITY_ID|INUM")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.option("--metadata", "with_metadata", is_flag=True, help="Print the SP's metadata XML.")
@store_options
@ldap_url_option
def show_trust(settings: Settings, ldap_urls: tuple[str, ...], trust_id: str, as_json: bool,
               with_metadata: bool) -> None:
    """One trust relationship."""
    with open_directory(settings, ldap_urls) as access:
        trust = TrustRepository(access.directory, access.tree).find(trust_id)
    if with_metadata:
        click.echo(trust.metadata)
        return
    _show(trust, as_json)


@trust_group.command("remove")
@click.argument("trust_id", metavar="ENTITY_ID|INUM")
@store_options
@ldap_url_option
def remove_trust(settings: Settings, ldap_urls: tuple[str, ...], trust_id: str) -> None:
    """Stop trusting a service provider."""
    with open_directory(settings, ldap_urls) as access:
        repo = TrustRepository(access.directory, access.tree)
        trust = repo.find(trust_id)
        repo.remove(trust.inum)
        record_cli(access, "saml_trust.delete", trust.entity_id)
    click.echo(f"removed {trust.entity_id}")
