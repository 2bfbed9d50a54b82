"""Building and describing OAuth clients for the admin tools (``oxswarm clients add``,
``oxswarm dev up``): validated options in, a :class:`~oxswarm.directory.models.Client` out.

Response types follow the grant types (``authorization_code`` -> ``code``; ``implicit`` ->
``id_token``, ``id_token token``, ``token``; both -> the hybrid ones too). Redirect URIs
must be absolute ``https`` URLs without a fragment (RFC 6749 3.1.2; ``http`` only on a
loopback host, for development). Bad input raises :class:`~oxswarm.errors.InvalidInput`
naming the option (``redirect-uri``, ``grant-type``, ``auth-method``, ``scope``, ...).
"""

from __future__ import annotations

import re
import secrets
import uuid
from typing import Any, Final
from urllib.parse import urlsplit

from oxswarm.directory.models import Client
from oxswarm.errors import InvalidInput

GRANT_TYPES: Final = (
    "authorization_code",
    "implicit",
    "refresh_token",
    "client_credentials",
    "password",
)
AUTH_METHODS: Final = (
    "client_secret_basic",
    "client_secret_post",
    "client_secret_jwt",
    "private_key_jwt",
    "none",
)
DEFAULT_SCOPES: Final = ("openid", "profile", "email")
LOOPBACK: Final = frozenset({"localhost", "127.0.0.1", "::1"})
_SCOPE = re.compile(r"^[\x21\x23-\x5b\x5d-\x7e]+$")  # RFC 6749 3.3 scope-token


def check_uri(value: str, field: str) -> str:
    """An absolute https URL (http on loopback), no fragment (RFC 6749 3.1.2)."""
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018  (raises ValueError on a bad port)
    except ValueError as exc:
        raise InvalidInput(f"{field}: {value!r} is not a valid URL", field=field) from exc
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise InvalidInput(f"{field}: {value!r} must be an absolute https URL", field=field)
    if parts.scheme == "http" and parts.hostname not in LOOPBACK:
        raise InvalidInput(
            f"{field}: {value!r} must use https (http only for localhost)", field=field
        )
    if parts.fragment or "#" in value:
        raise InvalidInput(f"{field}: {value!r} must not have a fragment", field=field)
    return value


def response_types_for(grants: tuple[str, ...]) -> list[str]:
    code, implicit = "authorization_code" in grants, "implicit" in grants
    out = ["code"] if code else []
    if implicit:
        out += ["id_token", "id_token token", "token"]
    if code and implicit:
        out += ["code id_token", "code token", "code id_token token"]
    return out


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
) -> Client:
    """Validate the options into a :class:`Client` (with a fresh id and secret)."""
    if not name.strip():
        raise InvalidInput("name: must not be empty", field="name")
    grants = tuple(dict.fromkeys(grant_types or ("authorization_code", "refresh_token")))
    for grant in grants:
        if grant not in GRANT_TYPES:
            raise InvalidInput(
                f"grant-type: unknown grant type {grant!r} (one of {', '.join(GRANT_TYPES)})",
                field="grant-type",
            )
    method = auth_method or ("none" if public else "client_secret_basic")
    if method not in AUTH_METHODS:
        raise InvalidInput(
            f"auth-method: unknown method {method!r} (one of {', '.join(AUTH_METHODS)})",
            field="auth-method",
        )
    if public and method != "none":
        raise InvalidInput("auth-method: a public client uses 'none'", field="auth-method")
    if method == "none" and {"client_credentials", "password"} & set(grants):
        raise InvalidInput(
            "grant-type: a public client cannot use client_credentials or password",
            field="grant-type",
        )
    if method == "private_key_jwt" and not jwks_uri:
        raise InvalidInput("jwks-uri: private_key_jwt needs --jwks-uri", field="jwks-uri")
    uris = [check_uri(u, "redirect-uri") for u in redirect_uris]
    if {"authorization_code", "implicit"} & set(grants) and not uris:
        raise InvalidInput(
            "redirect-uri: at least one is needed for authorization_code or implicit",
            field="redirect-uri",
        )
    logout_uris = [check_uri(u, "post-logout-redirect-uri") for u in post_logout_redirect_uris]
    scope_list = list(dict.fromkeys(scopes or DEFAULT_SCOPES))
    for scope in scope_list:
        if not _SCOPE.match(scope):
            raise InvalidInput(f"scope: {scope!r} is not a valid scope token", field="scope")
    if access_token_format not in ("opaque", "jwt"):
        raise InvalidInput("access-token-format: opaque or jwt", field="access-token-format")
    return Client(
        client_id=str(uuid.uuid4()),
        client_secret=None if method == "none" else secrets.token_urlsafe(32),
        name=name.strip(),
        redirect_uris=uris,
        post_logout_redirect_uris=logout_uris,
        grant_types=list(grants),
        response_types=response_types_for(grants),
        scopes=scope_list,
        token_endpoint_auth_method=method,
        access_token_format=access_token_format,  # type: ignore[arg-type]
        frontchannel_logout_uri=(
            check_uri(frontchannel_logout_uri, "frontchannel-logout-uri")
            if frontchannel_logout_uri
            else None
        ),
        backchannel_logout_uri=(
            check_uri(backchannel_logout_uri, "backchannel-logout-uri")
            if backchannel_logout_uri
            else None
        ),
        jwks_uri=check_uri(jwks_uri, "jwks-uri") if jwks_uri else None,
    )


def client_json(client: Client, *, secret: bool = False) -> dict[str, Any]:
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
    )
    for name in ("frontchannel_logout_uri", "backchannel_logout_uri", "jwks_uri"):
        if getattr(client, name):
            out[name] = getattr(client, name)
    return out
