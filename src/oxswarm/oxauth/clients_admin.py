"""What ``oxswarm clients add|update`` (and ``oxswarm dev up``) add to the one validator.

The metadata rules are :mod:`oxswarm.oauth.client_metadata`'s, the same as registration's;
here only what is an administrator's: the command's options become registration metadata
(``--redirect-uri`` -> ``redirect_uris``; response types follow the grant types), the
policy flags registration never sets (``trusted``: no consent page; ``resource_server``:
may introspect other clients' tokens) are applied, a fresh id and secret are drawn, and
a refusal becomes :class:`~oxswarm.errors.InvalidInput` naming the option
(``redirect-uri: ...``). An administrator may give any valid scope and the password
grant type, and may use http on a loopback host for every URI (local development).
"""

from __future__ import annotations

import dataclasses
import secrets
import uuid
from collections.abc import Mapping, Sequence
from typing import Any, Final

from oxswarm.directory.models import Client
from oxswarm.errors import InvalidInput
from oxswarm.oauth.client_metadata import (
    ASYMMETRIC_ALGS,
    DEFAULT_SCOPES,
    FIELDS,
    GRANT_TYPES,
    MetadataError,
    MetadataPolicy,
    RedirectUriError,
    as_request,
    carry_over,
    redirect_uri,
    response_types_for,
    validate,
)
from oxswarm.oauth.models import ClientMetadata
from oxswarm.oxauth.adapters.directory import from_metadata, to_metadata

DEFAULT_GRANTS: Final = ("authorization_code", "refresh_token")
ADMIN_POLICY: Final = MetadataPolicy(
    signing_algs=ASYMMETRIC_ALGS, scopes=None, default_scopes=DEFAULT_SCOPES,
    grant_types=GRANT_TYPES, allow_http=True,
)
#: metadata name -> the option that sets it
OPTIONS: Final[Mapping[str, str]] = {
    "client_name": "name",
    "grant_types": "grant-type",
    "response_types": "grant-type",
    "redirect_uris": "redirect-uri",
    "post_logout_redirect_uris": "post-logout-redirect-uri",
    "token_endpoint_auth_method": "auth-method",
    "scope": "scope",
    "access_token_format": "access-token-format",
    "frontchannel_logout_uri": "frontchannel-logout-uri",
    "backchannel_logout_uri": "backchannel-logout-uri",
    "jwks_uri": "jwks-uri",
    "application_type": "application-type",
    "subject_type": "subject-type",
    "sector_identifier_uri": "sector-identifier-uri",
}


def _checked(data: Mapping[str, Any], client_id: str) -> ClientMetadata:
    try:
        return validate(data, ADMIN_POLICY, client_id=client_id)
    except (MetadataError, RedirectUriError) as exc:
        raise _named(exc) from None


def _metadata_changes(
    *,
    name: str | None = None,
    grant_types: Sequence[str] = (),
    redirect_uris: Sequence[str] = (),
    post_logout_redirect_uris: Sequence[str] = (),
    auth_method: str | None = None,
    scopes: Sequence[str] = (),
    access_token_format: str | None = None,
    frontchannel_logout_uri: str | None = None,
    backchannel_logout_uri: str | None = None,
    jwks_uri: str | None = None,
    application_type: str | None = None,
    subject_type: str | None = None,
    sector_identifier_uri: str | None = None,
) -> dict[str, Any]:
    """Registration metadata from the options given (absent ones left out; an empty
    string clears a URI, a single empty value clears a list)."""
    out: dict[str, Any] = {}
    if name is not None:
        if not name.strip():
            raise InvalidInput("name: must not be empty", field="name")
        out["client_name"] = name.strip()
    if grant_types:
        grants = list(dict.fromkeys(grant_types))
        out["grant_types"] = grants
        out["response_types"] = list(response_types_for(grants))
    for key, values in (("redirect_uris", redirect_uris),
                        ("post_logout_redirect_uris", post_logout_redirect_uris)):
        if values:
            out[key] = [v for v in values if v]
    if scopes:
        out["scope"] = " ".join(dict.fromkeys(scopes))
    for key, value in (("token_endpoint_auth_method", auth_method),
                       ("access_token_format", access_token_format),
                       ("frontchannel_logout_uri", frontchannel_logout_uri),
                       ("backchannel_logout_uri", backchannel_logout_uri),
                       ("jwks_uri", jwks_uri), ("application_type", application_type),
                       ("subject_type", subject_type),
                       ("sector_identifier_uri", sector_identifier_uri)):
        if value is not None:
            out[key] = value or None
    return out


def check_options(**options: Any) -> None:
    """Each option given checked on its own (before the client is read: ``clients
    update`` refuses bad input without touching the directory); the rules that relate
    several fields are checked again by :func:`update_client`."""
    data = _metadata_changes(**options)
    try:
        for name, value in data.items():
            if value is not None:
                FIELDS[name](name, value, ADMIN_POLICY)
        for uri in data.get("redirect_uris") or ():
            redirect_uri("redirect_uris", uri, native=True)
    except (MetadataError, RedirectUriError) as exc:
        raise _named(exc) from None


def _named(exc: MetadataError | RedirectUriError) -> InvalidInput:
    option = OPTIONS.get(exc.field, exc.field)
    message = str(exc.description).split(": ", 1)[-1]
    return InvalidInput(f"{option}: {message}", field=option)


def _with_flags(meta: ClientMetadata, trusted: bool | None,
                resource_server: bool | None) -> ClientMetadata:
    return dataclasses.replace(
        meta,
        trusted=meta.trusted if trusted is None else trusted,
        resource_server=meta.resource_server if resource_server is None else resource_server,
    )


def build_client(
    *,
    name: str,
    grant_types: tuple[str, ...],
    redirect_uris: tuple[str, ...],
    post_logout_redirect_uris: tuple[str, ...],
    auth_method: str | None,
    scopes: tuple[str, ...],
    public: bool,
    access_token_format: str,
    frontchannel_logout_uri: str | None = None,
    backchannel_logout_uri: str | None = None,
    jwks_uri: str | None = None,
    application_type: str | None = None,
    subject_type: str | None = None,
    sector_identifier_uri: str | None = None,
    trusted: bool = False,
    resource_server: bool = False,
) -> Client:
    """A new client from the options (a fresh id, and a secret unless public)."""
    method = auth_method or ("none" if public else "client_secret_basic")
    if public and method != "none":
        raise InvalidInput("auth-method: a public client uses 'none'", field="auth-method")
    data = _metadata_changes(
        name=name, grant_types=grant_types or DEFAULT_GRANTS, redirect_uris=redirect_uris,
        post_logout_redirect_uris=post_logout_redirect_uris, auth_method=method,
        scopes=scopes or DEFAULT_SCOPES, access_token_format=access_token_format,
        frontchannel_logout_uri=frontchannel_logout_uri,
        backchannel_logout_uri=backchannel_logout_uri, jwks_uri=jwks_uri,
        application_type=application_type, subject_type=subject_type,
        sector_identifier_uri=sector_identifier_uri,
    )
    meta = _with_flags(_checked(data, str(uuid.uuid4())), trusted, resource_server)
    secret = None if meta.is_public else secrets.token_urlsafe(32)
    return from_metadata(dataclasses.replace(meta, client_secret=secret))


def update_client(
    client: Client,
    *,
    trusted: bool | None = None,
    resource_server: bool | None = None,
    **options: Any,
) -> Client:
    """``client`` with the options given changed (the others kept), checked again.

    The secret is kept; a client that becomes public loses it, one that stops being
    public gets a new one (shown once)."""
    old = to_metadata(client)
    data = {**as_request(old), **_metadata_changes(**options)}
    meta = carry_over(_checked(data, client.client_id), old)
    if meta.is_public:
        meta = dataclasses.replace(meta, client_secret=None)
    elif meta.client_secret is None:
        meta = dataclasses.replace(meta, client_secret=secrets.token_urlsafe(32))
    updated = from_metadata(_with_flags(meta, trusted, resource_server))
    return updated.model_copy(update={"created_at": client.created_at})


def client_json(client: Client, *, secret: bool = False) -> dict[str, Any]:
    """The client as the commands print it (the secret only when asked)."""
    out: dict[str, Any] = {"client_id": client.client_id}
    if secret and client.client_secret:
        out["client_secret"] = client.client_secret
    out.update(
        client_name=client.name,
        redirect_uris=client.redirect_uris,
        post_logout_redirect_uris=client.post_logout_redirect_uris,
        grant_types=client.grant_types,
        response_types=client.response_types,
        scope=" ".join(client.scopes),
        token_endpoint_auth_method=client.token_endpoint_auth_method,
        access_token_format=client.access_token_format,
        trusted=client.trusted,
        resource_server=client.resource_server,
    )
    for name in ("frontchannel_logout_uri", "backchannel_logout_uri", "jwks_uri"):
        if getattr(client, name):
            out[name] = getattr(client, name)
    extra = client.metadata.get("extra")
    if isinstance(extra, dict) and extra.get("application_type"):
        out["application_type"] = extra["application_type"]
    return out
