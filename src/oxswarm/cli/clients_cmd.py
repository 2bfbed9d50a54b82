"""``oxswarm clients``: register, list, show and remove OAuth clients in the directory.

``clients add`` prints one JSON object with ``client_id`` (and ``client_secret`` for a
confidential client: shown once, stored encrypted). Response types follow the grant types
(``authorization_code`` -> ``code``; ``implicit`` -> ``id_token``, ``id_token token``,
``token``; both -> the hybrid ones too). Redirect URIs must be absolute ``https`` URLs
without a fragment (``http`` only on a loopback host, for development). Bad input exits 2
with one line naming the field.
"""

from __future__ import annotations

import json

import click

from oxswarm.cli.directory_options import ldap_url_option, open_directory
from oxswarm.cli.options import store_options
from oxswarm.directory.clients import ClientRepository
from oxswarm.oxauth.clients_admin import (
    AUTH_METHODS,
    GRANT_TYPES,
    build_client,
    client_json,
)
from oxswarm.settings import Settings


@click.group("clients")
def clients_group() -> None:
    """OAuth 2.0 / OpenID Connect clients registered in the directory."""


@clients_group.command("add")
@click.option("--name", required=True, help="A human-readable name (shown on consent).")
@click.option(
    "--grant-type",
    "grant_types",
    multiple=True,
    metavar="G",
    help=f"Repeatable: {', '.join(GRANT_TYPES)}. [default authorization_code, refresh_token]",
)
@click.option("--redirect-uri", "redirect_uris", multiple=True, metavar="URI")
@click.option(
    "--post-logout-redirect-uri", "post_logout_redirect_uris", multiple=True, metavar="URI"
)
@click.option(
    "--auth-method",
    default=None,
    metavar="M",
    help=f"Token endpoint auth: {', '.join(AUTH_METHODS)}.",
)
@click.option(
    "--scope",
    "scopes",
    multiple=True,
    metavar="S",
    help="Repeatable. [default openid, profile, email]",
)
@click.option("--public", is_flag=True, help="A public client (no secret; PKCE required).")
@click.option("--access-token-format", type=click.Choice(["opaque", "jwt"]), default="opaque")
@click.option("--frontchannel-logout-uri", default=None, metavar="URI")
@click.option("--backchannel-logout-uri", default=None, metavar="URI")
@click.option("--jwks-uri", default=None, metavar="URI", help="For private_key_jwt.")
@store_options
@ldap_url_option
def add_client(
    *,
    settings: Settings,
    ldap_urls: tuple[str, ...],
    name: str,
    grant_types: tuple[str, ...],
    redirect_uris: tuple[str, ...],
    post_logout_redirect_uris: tuple[str, ...],
    auth_method: str | None,
    scopes: tuple[str, ...],
    public: bool,
    access_token_format: str,
    frontchannel_logout_uri: str | None,
    backchannel_logout_uri: str | None,
    jwks_uri: str | None,
) -> None:
    """Register a client; prints its JSON (with the secret, shown only now)."""
    client = build_client(
        name=name,
        grant_types=grant_types,
        redirect_uris=redirect_uris,
        post_logout_redirect_uris=post_logout_redirect_uris,
        auth_method=auth_method,
        scopes=scopes,
        public=public,
        access_token_format=access_token_format,
        frontchannel_logout_uri=frontchannel_logout_uri,
        backchannel_logout_uri=backchannel_logout_uri,
        jwks_uri=jwks_uri,
    )
    with open_directory(settings, ldap_urls) as access:
        ClientRepository(access.directory, access.box, access.tree).add(client)
    click.echo(json.dumps(client_json(client, secret=True)))


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
