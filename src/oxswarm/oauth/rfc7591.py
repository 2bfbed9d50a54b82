"""RFC 7591, Dynamic Client Registration, with OpenID Connect Registration 1.0 metadata.

Section 2 (metadata and its defaults; grant and response types must agree, 2.1),
section 3 (the endpoint may be open or require an initial access token, sent as an RFC
6750 bearer token; a wrong token is ``invalid_token``), 3.2.1 (201 with the metadata,
``client_id``, ``client_secret``, ``client_id_issued_at``, ``client_secret_expires_at``,
and RFC 7592's ``registration_access_token`` / ``registration_client_uri``), 3.2.2
(``invalid_redirect_uri``, ``invalid_client_metadata``). OIDC Registration section 2:
``redirect_uris`` are required for the flows that use them and may not contain a
fragment; pairwise clients with redirect URIs on several hosts need a
``sector_identifier_uri`` (OIDC Core 8.1), which must be https (http only when the
issuer itself is http, for local development). OIDC Registration section 5: the
provider fetches the ``sector_identifier_uri`` (a JSON array of URIs) and refuses the
registration (``invalid_client_metadata``) unless every redirect URI is listed in it
(:func:`check_sector_identifier`, through a :class:`SectorFetcher`).
"""

from __future__ import annotations

import hmac
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import urlsplit

from oxswarm.oauth.models import ClientMetadata
from oxswarm.oauth.rfc6749.errors import InvalidClientMetadata, InvalidRedirectUri
from oxswarm.oauth.tokens import new_id, token_hash

AUTH_METHODS = (
    "client_secret_basic",
    "client_secret_post",
    "client_secret_jwt",
    "private_key_jwt",
    "none",
)
GRANT_TYPES = ("authorization_code", "implicit", "refresh_token", "client_credentials", "password")
RESPONSE_TYPES = (
    "code",
    "id_token",
    "token id_token",
    "code id_token",
    "code token",
    "code id_token token",
    "token",
)
_LIST_FIELDS = ("redirect_uris", "post_logout_redirect_uris", "grant_types", "response_types")


@dataclass(frozen=True, slots=True)
class RegistrationPolicy:
    """What the server accepts: scopes it knows and algorithms it can sign with."""

    scopes: Sequence[str]
    default_scopes: Sequence[str]
    signing_algs: Sequence[str]
    allow_http_sector_uri: bool = False  # only when the issuer itself is http (local dev)


class SectorFetcher(Protocol):
    """Fetches a ``sector_identifier_uri`` document (bounded in time and size).

    Returns the parsed JSON; raises :class:`InvalidClientMetadata` naming the reason when
    it cannot be fetched or is not JSON."""

    async def fetch(self, uri: str) -> Any: ...


def _uri_list(data: Mapping[str, Any], name: str) -> tuple[str, ...]:
    value = data.get(name, [])
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise InvalidClientMetadata(f"{name} must be a list of strings")
    return tuple(value)


def _check_redirect(uri: str, name: str) -> None:
    error = InvalidRedirectUri if name == "redirect_uris" else InvalidClientMetadata
    try:
        parts = urlsplit(uri)
    except ValueError as exc:  # e.g. "http://[::1": an unclosed IPv6 literal
        raise error(f"{name}: {uri[:200]!r} is not a valid URI") from exc
    if not parts.scheme or parts.fragment:
        raise error(f"{name}: {uri!r} must be an absolute URI without a fragment")
    if parts.scheme == "http" and parts.hostname not in ("localhost", "127.0.0.1", "::1"):
        raise error(f"{name}: {uri!r} must use https (http only for localhost)")


def _types(data: Mapping[str, Any]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    grant_types = tuple(data.get("grant_types") or ("authorization_code",))
    given = data.get("response_types")
    if given is None:  # RFC 7591 2: default "code" (none when the code grant is not used)
        given = ["code"] if "authorization_code" in grant_types else []
    response_types = tuple(given)
    for grant in grant_types:
        if grant not in GRANT_TYPES:
            raise InvalidClientMetadata(f"grant_types: {grant!r} is not supported")
    for rtype in response_types:
        if " ".join(sorted(rtype.split())) not in {
            " ".join(sorted(r.split())) for r in RESPONSE_TYPES
        }:
            raise InvalidClientMetadata(f"response_types: {rtype!r} is not supported")
    parts = {p for r in response_types for p in r.split()}
    if "code" in parts and "authorization_code" not in grant_types:
        raise InvalidClientMetadata("response_type code needs the authorization_code grant type")
    if parts & {"token", "id_token"} and "implicit" not in grant_types:
        raise InvalidClientMetadata("response types token/id_token need the implicit grant type")
    return grant_types, response_types


def _string(data: Mapping[str, Any], name: str, default: str | None = None) -> str | None:
    value = data.get(name, default)
    if value is not None and not isinstance(value, str):
        raise InvalidClientMetadata(f"{name} must be a string")
    return value


def parse_metadata(
    data: Mapping[str, Any], policy: RegistrationPolicy, *, client_id: str | None = None
) -> ClientMetadata:
    """Validate a registration request body into client metadata (no credentials yet)."""
    if not isinstance(data, Mapping):
        raise InvalidClientMetadata("the request body must be a JSON object")
    for name in _LIST_FIELDS:
        _uri_list(data, name)
    grant_types, response_types = _types(data)
    redirect_uris = _uri_list(data, "redirect_uris")
    if {"authorization_code", "implicit"} & set(grant_types) and not redirect_uris:
        raise InvalidRedirectUri(
            "redirect_uris are required for the authorization_code and implicit grants"
        )
    for uri in redirect_uris:
        _check_redirect(uri, "redirect_uris")
    logout_uris = _uri_list(data, "post_logout_redirect_uris")
    for uri in logout_uris:
        _check_redirect(uri, "post_logout_redirect_uris")
    method = _string(data, "token_endpoint_auth_method", "client_secret_basic")
    if method not in AUTH_METHODS:
        raise InvalidClientMetadata(f"token_endpoint_auth_method {method!r} is not supported")
    jwks, jwks_uri = data.get("jwks"), _string(data, "jwks_uri")
    if jwks is not None and jwks_uri is not None:
        raise InvalidClientMetadata("jwks and jwks_uri must not both be present")
    if jwks is not None and not (isinstance(jwks, dict) and isinstance(jwks.get("keys"), list)):
        raise InvalidClientMetadata("jwks must be a JWK Set object")
    if method == "private_key_jwt" and jwks is None and jwks_uri is None:
        raise InvalidClientMetadata("private_key_jwt needs jwks or jwks_uri")
    id_alg = _string(data, "id_token_signed_response_alg", "RS256") or "RS256"
    userinfo_alg = _string(data, "userinfo_signed_response_alg")
    for name, alg in (
        ("id_token_signed_response_alg", id_alg),
        ("userinfo_signed_response_alg", userinfo_alg),
    ):
        if alg is not None and alg not in policy.signing_algs:
            raise InvalidClientMetadata(f"{name} {alg!r} is not supported")
    subject_type = _string(data, "subject_type", "public")
    if subject_type not in ("public", "pairwise"):
        raise InvalidClientMetadata(f"subject_type {subject_type!r} is not supported")
    sector = _string(data, "sector_identifier_uri")
    if sector is not None:
        try:
            scheme = urlsplit(sector).scheme
        except ValueError as exc:
            raise InvalidClientMetadata("sector_identifier_uri is not a valid URI") from exc
        if scheme != "https" and not (scheme == "http" and policy.allow_http_sector_uri):
            raise InvalidClientMetadata("sector_identifier_uri must be an https URL")
    hosts = {urlsplit(u).hostname for u in redirect_uris}
    if subject_type == "pairwise" and len(hosts) > 1 and sector is None:
        raise InvalidClientMetadata(
            "pairwise clients with several redirect hosts need a sector_identifier_uri"
        )
    token_format = _string(data, "access_token_format", "opaque")
    if token_format not in ("opaque", "jwt"):
        raise InvalidClientMetadata("access_token_format must be opaque or jwt")
    scope_text = _string(data, "scope")
    scopes = tuple(s for s in scope_text.split() if s in policy.scopes) if scope_text else ()
    known = {
        "client_name",
        "scope",
        "jwks",
        "jwks_uri",
        "token_endpoint_auth_signing_alg",
        "frontchannel_logout_uri",
        "backchannel_logout_uri",
        "access_token_format",
        "id_token_signed_response_alg",
        "userinfo_signed_response_alg",
        "subject_type",
        "sector_identifier_uri",
        "token_endpoint_auth_method",
        *_LIST_FIELDS,
        "client_id",
        "client_secret",
        "frontchannel_logout_session_required",
        "backchannel_logout_session_required",
    }
    return ClientMetadata(
        client_id=client_id or str(uuid.uuid4()),
        client_name=_string(data, "client_name", "") or "",
        redirect_uris=redirect_uris,
        post_logout_redirect_uris=logout_uris,
        grant_types=grant_types,
        response_types=response_types,
        scopes=scopes or tuple(policy.default_scopes),
        token_endpoint_auth_method=method,
        token_endpoint_auth_signing_alg=_string(data, "token_endpoint_auth_signing_alg"),
        jwks=jwks,
        jwks_uri=jwks_uri,
        id_token_signed_response_alg=id_alg,
        userinfo_signed_response_alg=userinfo_alg,
        access_token_format="jwt" if token_format == "jwt" else "opaque",
        subject_type="pairwise" if subject_type == "pairwise" else "public",
        sector_identifier_uri=sector,
        frontchannel_logout_uri=_string(data, "frontchannel_logout_uri"),
        backchannel_logout_uri=_string(data, "backchannel_logout_uri"),
        frontchannel_logout_session_required=bool(
            data.get("frontchannel_logout_session_required", True)
        ),
        backchannel_logout_session_required=bool(
            data.get("backchannel_logout_session_required", True)
        ),
        extra={k: v for k, v in data.items() if k not in known},
    )


def with_credentials(client: ClientMetadata) -> tuple[ClientMetadata, str]:
    """Add a secret (unless public), issue time and a registration access token."""
    secret = None if client.is_public else new_id(32)
    access_token = new_id(32)
    issued = ClientMetadata.from_dict(
        {
            **client.to_dict(),
            "client_secret": secret,
            "client_id_issued_at": int(time.time()),
            "registration_access_token_hash": token_hash(access_token),
        }
    )
    return issued, access_token


def client_response(client: ClientMetadata, registration_client_uri: str) -> dict[str, Any]:
    """The client information response (RFC 7591 3.2.1 / RFC 7592 3)."""
    body: dict[str, Any] = {
        "client_id": client.client_id,
        "client_id_issued_at": client.client_id_issued_at,
        "client_name": client.client_name or None,
        "redirect_uris": list(client.redirect_uris),
        "post_logout_redirect_uris": list(client.post_logout_redirect_uris),
        "grant_types": list(client.grant_types),
        "response_types": list(client.response_types),
        "scope": " ".join(client.scopes),
        "token_endpoint_auth_method": client.token_endpoint_auth_method,
        "token_endpoint_auth_signing_alg": client.token_endpoint_auth_signing_alg,
        "jwks": client.jwks,
        "jwks_uri": client.jwks_uri,
        "id_token_signed_response_alg": client.id_token_signed_response_alg,
        "userinfo_signed_response_alg": client.userinfo_signed_response_alg,
        "access_token_format": client.access_token_format,
        "subject_type": client.subject_type,
        "sector_identifier_uri": client.sector_identifier_uri,
        "frontchannel_logout_uri": client.frontchannel_logout_uri,
        "backchannel_logout_uri": client.backchannel_logout_uri,
        "registration_client_uri": registration_client_uri,
        **client.extra,
    }
    if client.client_secret is not None:
        body["client_secret"] = client.client_secret
        body["client_secret_expires_at"] = client.client_secret_expires_at
    return {k: v for k, v in body.items() if v is not None}


def initial_token_ok(presented: str | None, expected_hash: str | None) -> bool:
    """RFC 7591 3: an open endpoint (no hash configured) or a matching initial token."""
    if expected_hash is None:
        return True
    return presented is not None and hmac.compare_digest(token_hash(presented), expected_hash)


async def check_sector_identifier(client: ClientMetadata, fetcher: SectorFetcher) -> None:
    """OIDC Registration 5: every redirect URI must be in the sector identifier document."""
    uri = client.sector_identifier_uri
    if not uri:
        return
    listed = await fetcher.fetch(uri)
    if not isinstance(listed, list) or not all(isinstance(v, str) for v in listed):
        raise InvalidClientMetadata("sector_identifier_uri must return a JSON array of URIs")
    missing = [u for u in client.redirect_uris if u not in set(listed)]
    if missing:
        raise InvalidClientMetadata(
            f"redirect URI {missing[0]!r} is not listed at the sector_identifier_uri"
        )
