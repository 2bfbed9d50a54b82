"""``oxswarm clients``: register, update, list, show and remove OAuth clients in the
directory, and issue initial access tokens for dynamic registration.

``clients add`` prints one JSON object with ``client_id`` (and ``client_secret`` for a
confidential client: shown once, stored encrypted) and the administrator's flags
``trusted`` (no consent page) and ``resource_server`` (may introspect other clients'
tokens), which registration never sets. ``clients update CLIENT_ID`` takes the same
options and changes only those given. The metadata rules are registration's
(:mod:`oxswarm.oauth.client_metadata`); response types follow the grant types.
``clients registration-token [--ttl SECONDS] [--uses N] [--json]`` prints a new initial
access token once (only its SHA-256 is stored, in the directory). Bad input exits 2 with
one line naming the option.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from typing import Any, TypeVar

import click

from oxswarm.cli.directory_options import ldap_url_option, open_directory
from oxswarm.cli.options import store_options
from oxswarm.directory.clients import ClientRepository
from oxswarm.directory.registration_tokens import (
    MAX_TTL,
    MAX_USES,
    RegistrationTokenRepository,
    check_issue,
)
from oxswarm.oauth.client_metadata import AUTH_METHODS, GRANT_TYPES
from oxswarm.oauth.tokens import token_hash
from oxswarm.oxauth.clients_admin import (
    build_client,
    check_options,
    client_json,
    update_client,
)
from oxswarm.settings import Settings

F = TypeVar("F", bound=Callable[..., Any])


@click.group("clients")
def clients_group() -> None:
    """OAuth 2.0 / OpenID Connect clients registered in the directory."""


def _metadata_options(func: F) -> F:
    """The options ``add`` and ``update`` share (``update`` changes only those given)."""
    options = [
        click.option("--grant-type", "grant_types", multiple=True, metavar="G",
                     help=f"Repeatable: {', '.join(GRANT_TYPES)}. [add: authorization_code, "
                          "refresh_token]"),
        click.option("--redirect-uri", "redirect_uris", multiple=True, metavar="URI",
                     help="Repeatable: https, http on loopback, or (native) com.example.app:/cb."),
        click.option("--post-logout-redirect-uri", "post_logout_redirect_uris", multiple=True,
                     metavar="URI"),
        click.option("--auth-method", default=None, metavar="M",
                     help=f"Token endpoint auth: {', '.join(AUTH_METHODS)}."),
        click.option("--scope", "scopes", multiple=True, metavar="S",
                     help="Repeatable. [add: openid, profile, email]"),
        click.option("--access-token-format", type=click.Choice(["opaque", "jwt"]),
                     default=None),
        click.option("--frontchannel-logout-uri", default=None, metavar="URI"),
        click.option("--backchannel-logout-uri", default=None, metavar="URI"),
        click.option("--jwks-uri", default=None, metavar="URI", help="For private_key_jwt."),
        click.option("--application-type", type=click.Choice(["web", "native"]), default=None,
                     help="native allows private-use redirect URI schemes."),
        click.option("--trusted/--no-trusted", default=None,
                     help="Trusted: signed-in users are not asked for consent. [add: no]"),
        click.option("--resource-server/--no-resource-server", default=None,
                     help="May introspect tokens issued to other clients. [add: no]"),
    ]
    for option in reversed(options):
        func = option(func)
    return func


@clients_group.command("add")
@click.option("--name", required=True, help="A human-readable name (shown on consent).")
@_metadata_options
@click.option("--public", is_flag=True, help="A public client (no secret; PKCE required).")
@store_options
@ldap_url_option
def add_client(
    *,
    settings: Settings,
    ldap_urls: tuple[str, ...],
    name: str,
    public: bool,
    access_token_format: str | None,
    trusted: bool | None,
    resource_server: bool | None,
    **options: Any,
) -> None:
    """Register a client; prints its JSON (with the secret, shown only now)."""
    client = build_client(
        name=name, public=public, access_token_format=access_token_format or "opaque",
        trusted=bool(trusted), resource_server=bool(resource_server), **options,
    )
    with open_directory(settings, ldap_urls) as access:
        ClientRepository(access.directory, access.box, access.tree).add(client)
    click.echo(json.dumps(client_json(client, secret=True)))


@clients_group.command("update")
@click.argument("client_id")
@click.option("--name", default=None, help="A human-readable name (shown on consent).")
@_metadata_options
@store_options
@ldap_url_option
def update_client_cmd(
    *, settings: Settings, ldap_urls: tuple[str, ...], client_id: str, **options: Any
) -> None:
    """Change the options given (the others stay); prints the client's JSON.

    A repeatable option replaces the whole list; an empty value (--redirect-uri '')
    clears a list or a URI. A client that stops being public gets a secret, shown now."""
    check_options(**{k: v for k, v in options.items()
                     if k not in ("trusted", "resource_server")})
    with open_directory(settings, ldap_urls) as access:
        repo = ClientRepository(access.directory, access.box, access.tree)
        current = repo.get(client_id)
        fresh = update_client(current, **options)
        repo.update(fresh)
    new_secret = fresh.client_secret is not None and fresh.client_secret != current.client_secret
    click.echo(json.dumps(client_json(fresh, secret=new_secret)))


@clients_group.command("registration-token")
@click.option("--ttl", type=int, default=3600, show_default=True, metavar="SECONDS",
              help=f"How long the token is valid (1 to {MAX_TTL}).")
@click.option("--uses", type=int, default=1, show_default=True, metavar="N",
              help=f"How many registrations it allows (1 to {MAX_USES}).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON with the expiry and uses.")
@store_options
@ldap_url_option
def registration_token(
    settings: Settings, ldap_urls: tuple[str, ...], ttl: int, uses: int, as_json: bool
) -> None:
    """Print a new initial access token for dynamic registration (RFC 7591 3), once.

    Registration in mode 'token' (a cluster's default) needs one, sent as
    'Authorization: Bearer <token>'. Only its SHA-256 is stored."""
    check_issue(ttl, uses)
    token = secrets.token_urlsafe(32)
    with open_directory(settings, ldap_urls) as access:
        expires = RegistrationTokenRepository(access.directory, access.tree).issue(
            token_hash(token), ttl=ttl, uses=uses)
    if as_json:
        click.echo(json.dumps({"initial_access_token": token, "uses": uses,
                               "expires_at": expires.isoformat(timespec="seconds")}))
    else:
        click.echo(token)


@clients_group.command("list")
@store_options
@ldap_url_option
def list_clients(settings: Settings, ldap_urls: tuple[str, ...]) -> None:
    """Every client, as a JSON array (secrets never shown)."""
    with open_directory(settings, ldap_urls) as access:
        found = ClientRepository(access.directory, access.box, access.tree).list()
    click.echo(json.dumps([client_json(c) for c in found]))


@clients_group.command("show")
@click.argument("client_id")
@click.option("--show-secret", is_flag=True, help="Include the client secret.")
@store_options
@ldap_url_option
def show_client(
    settings: Settings, ldap_urls: tuple[str, ...], client_id: str, show_secret: bool
) -> None:
    """One client as JSON."""
    with open_directory(settings, ldap_urls) as access:
        client = ClientRepository(access.directory, access.box, access.tree).get(client_id)
    click.echo(json.dumps(client_json(client, secret=show_secret)))


@clients_group.command("remove")
@click.argument("client_id")
@store_options
@ldap_url_option
def remove_client(settings: Settings, ldap_urls: tuple[str, ...], client_id: str) -> None:
    """Delete a client (its tokens stop working at their next check)."""
    with open_directory(settings, ldap_urls) as access:
        ClientRepository(access.directory, access.box, access.tree).remove(client_id)
    click.echo(json.dumps({"removed": client_id}))
