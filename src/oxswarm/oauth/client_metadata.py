"""Client metadata, validated in one place for every way a client is made or changed.

Dynamic registration (RFC 7591, :mod:`oxswarm.oauth.rfc7591`), its management
(RFC 7592), ``oxswarm clients add|update`` and any admin API call :func:`validate`.

Accepted metadata (anything else is dropped: not stored, not echoed): RFC 7591 section 2,
OpenID Connect Registration 1.0 section 2, Front-Channel Logout 1.0 section 2,
Back-Channel Logout 1.0 section 2.2, RP-Initiated Logout 1.0 section 3.1, and our
``access_token_format``. Policy (``trusted``, ``resource_server``,
``allow_password_grant``, ``access_token_lifetime``, ``skip_consent``, ...) is never read
from metadata: an administrator sets it on the result. Encryption and request objects are
not supported and refused when asked for.

Limits: a list holds at most :data:`MAX_VALUES` values, a string at most
:data:`MAX_LENGTH` characters.

URIs (RFC 3986; no fragment, no userinfo; ``javascript:``, ``data:``, ``file:``,
``vbscript:`` never):

* ``redirect_uris``: https; http only on a loopback host (RFC 8252 7.3); a private-use
  scheme in reverse-domain form (``com.example.app:/cb``, RFC 8252 7.1) only for
  ``application_type`` ``native``. A bad one is ``invalid_redirect_uri`` (RFC 7591 3.2.2).
* every other URI: https; http on a loopback host only when the policy allows it (the
  issuer is http: local development; or an administrator). ``frontchannel_logout_uri``
  goes into a Content-Security-Policy, so ``;``, ``,`` and ``'`` are refused in it.

Errors name the field (``redirect_uris: ...``) and carry it in ``field``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import urlsplit

from oxswarm.oauth.metadata_values import (
    MAX_LENGTH,
    MAX_VALUES,
    MetadataError,
    RedirectUriError,
    choice,
    flag,
    jwk_set,
    max_age,
    redirect_uri,
    scope_tokens,
    text,
    text_list,
    web_uri,
)
from oxswarm.oauth.models import ClientMetadata

__all__ = [
    "MAX_LENGTH", "MAX_VALUES", "MetadataError", "MetadataPolicy", "RedirectUriError",
    "as_request", "carry_over", "redirect_uri", "response_types_for", "validate",
]


GRANT_TYPES: Final = (
    "authorization_code", "implicit", "refresh_token", "client_credentials", "password",
)
#: what dynamic registration may ask for (the password grant is an administrator's choice)
DYNAMIC_GRANT_TYPES: Final = tuple(g for g in GRANT_TYPES if g != "password")
RESPONSE_TYPES: Final = (
    "code", "token", "id_token", "id_token token", "code id_token", "code token",
    "code id_token token",
)
AUTH_METHODS: Final = (
    "client_secret_basic", "client_secret_post", "client_secret_jwt", "private_key_jwt", "none",
)
HMAC_ALGS: Final = ("HS256", "HS384", "HS512")
ASYMMETRIC_ALGS: Final = (
    "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512",
)
#: granted when none is asked for (registration: when the directory marks none default)
DEFAULT_SCOPES: Final = ("openid", "profile", "email")
APPLICATION_TYPES: Final = ("web", "native")
SUBJECT_TYPES: Final = ("public", "pairwise")
ACCESS_TOKEN_FORMATS: Final = ("opaque", "jwt")
#: known metadata this server does not implement: refused rather than silently ignored
UNSUPPORTED: Final = (
    "id_token_encrypted_response_alg", "id_token_encrypted_response_enc",
    "userinfo_encrypted_response_alg", "userinfo_encrypted_response_enc",
    "request_object_encryption_alg", "request_object_encryption_enc", "request_uris",
)
#: accepted metadata with no field of its own in :class:`ClientMetadata`: kept in ``extra``
EXTRA_FIELDS: Final = (
    "client_uri", "logo_uri", "tos_uri", "policy_uri", "initiate_login_uri", "contacts",
    "software_id", "software_version", "application_type", "default_max_age",
    "require_auth_time", "default_acr_values",
)


@dataclass(frozen=True, slots=True)
class MetadataPolicy:
    """What a caller may ask for.

    ``scopes``: the scopes it may have (None: any valid scope token, for an
    administrator); unknown ones are dropped, none left means ``default_scopes``.
    ``grant_types``: the grant types it may use. ``signing_algs``: ID token and userinfo
    algorithms the server signs with. ``allow_http``: http on loopback for the URIs other
    than redirect URIs (local development, administrators).
    """

    signing_algs: Sequence[str] = ASYMMETRIC_ALGS
    scopes: Sequence[str] | None = None
    default_scopes: Sequence[str] = ("openid",)
    grant_types: Sequence[str] = GRANT_TYPES
    allow_http: bool = False


# -- the document -------------------------------------------------------------------------
Check = Callable[[str, Any, MetadataPolicy], Any]


def _uri_list(field: str, value: Any, policy: MetadataPolicy) -> tuple[str, ...]:
    return tuple(web_uri(field, u, policy.allow_http) for u in text_list(field, value))


def _frontchannel(field: str, value: Any, policy: MetadataPolicy) -> str:
    uri = web_uri(field, value, policy.allow_http)
    if set(";,'") & set(uri):
        raise MetadataError(field, f"{uri!r} must not contain ';', ',' or \"'\"")
    return uri


def _signing(field: str, value: Any, policy: MetadataPolicy) -> str:
    return choice(field, value, tuple(policy.signing_algs))


FIELDS: Final[Mapping[str, Check]] = {
    "redirect_uris": lambda f, v, p: text_list(f, v),  # checked with application_type
    "post_logout_redirect_uris": _uri_list,
    "grant_types": lambda f, v, p: tuple(choice(f, g, tuple(p.grant_types))
                                         for g in text_list(f, v)),
    "response_types": lambda f, v, p: text_list(f, v),  # checked against the grant types
    "token_endpoint_auth_method": lambda f, v, p: choice(f, v, AUTH_METHODS),
    "token_endpoint_auth_signing_alg": lambda f, v, p: choice(f, v, HMAC_ALGS + ASYMMETRIC_ALGS),
    "client_name": lambda f, v, p: text(f, v),
    "scope": lambda f, v, p: scope_tokens(f, v),
    "jwks": lambda f, v, p: jwk_set(f, v),
    "jwks_uri": lambda f, v, p: web_uri(f, v, p.allow_http),
    "sector_identifier_uri": lambda f, v, p: web_uri(f, v, p.allow_http),
    "subject_type": lambda f, v, p: choice(f, v, SUBJECT_TYPES),
    "id_token_signed_response_alg": _signing,
    "userinfo_signed_response_alg": _signing,
    "access_token_format": lambda f, v, p: choice(f, v, ACCESS_TOKEN_FORMATS),
    "frontchannel_logout_uri": _frontchannel,
    "frontchannel_logout_session_required": lambda f, v, p: flag(f, v),
    "backchannel_logout_uri": lambda f, v, p: web_uri(f, v, p.allow_http),
    "backchannel_logout_session_required": lambda f, v, p: flag(f, v),
    # kept in ``extra``
    "client_uri": lambda f, v, p: web_uri(f, v, p.allow_http),
    "logo_uri": lambda f, v, p: web_uri(f, v, p.allow_http),
    "tos_uri": lambda f, v, p: web_uri(f, v, p.allow_http),
    "policy_uri": lambda f, v, p: web_uri(f, v, p.allow_http),
    "initiate_login_uri": lambda f, v, p: web_uri(f, v, p.allow_http),
    "contacts": lambda f, v, p: text_list(f, v),
    "software_id": lambda f, v, p: text(f, v),
    "software_version": lambda f, v, p: text(f, v),
    "application_type": lambda f, v, p: choice(f, v, APPLICATION_TYPES),
    "default_max_age": lambda f, v, p: max_age(f, v),
    "require_auth_time": lambda f, v, p: flag(f, v),
    "default_acr_values": lambda f, v, p: text_list(f, v),
}


def response_types_for(grants: Sequence[str]) -> tuple[str, ...]:
    """Every response type the grant types allow (``oxswarm clients``' default)."""
    code, implicit = "authorization_code" in grants, "implicit" in grants
    out = []
    for value in RESPONSE_TYPES:
        parts = set(value.split())
        if ("code" not in parts or code) and (not parts & {"token", "id_token"} or implicit):
            out.append(value)
    return tuple(out)


def _response_types(given: tuple[str, ...] | None, grants: tuple[str, ...]) -> tuple[str, ...]:
    if given is None:  # RFC 7591 2: "code" (none when the code grant is not used)
        return ("code",) if "authorization_code" in grants else ()
    known = {frozenset(r.split()): r for r in RESPONSE_TYPES}
    out = []
    for value in given:
        if frozenset(value.split()) not in known or len(value.split()) != len(set(value.split())):
            raise MetadataError("response_types", f"{value!r} is not supported")
        out.append(value)
    parts = {p for r in out for p in r.split()}
    if "code" in parts and "authorization_code" not in grants:
        raise MetadataError("response_types", "code needs the authorization_code grant type")
    if parts & {"token", "id_token"} and "implicit" not in grants:
        raise MetadataError("response_types", "token and id_token need the implicit grant type")
    return tuple(out)


def validate(
    data: Mapping[str, Any], policy: MetadataPolicy, *, client_id: str
) -> ClientMetadata:
    """The metadata in ``data`` checked into a :class:`ClientMetadata` (no credentials).

    Unknown members are dropped; ``null`` means absent; the first bad member raises
    :class:`MetadataError` or :class:`RedirectUriError`.
    """
    if not isinstance(data, Mapping):
        raise MetadataError("body", "must be a JSON object")
    for name in UNSUPPORTED:
        if data.get(name) is not None:
            raise MetadataError(name, "is not supported by this server")
    got: dict[str, Any] = {
        name: check(name, data[name], policy)
        for name, check in FIELDS.items()
        if data.get(name) is not None
    }
    grants = got.get("grant_types") or ("authorization_code",)
    response_types = _response_types(got.get("response_types"), grants)
    native = got.get("application_type") == "native"
    redirect_uris = tuple(redirect_uri("redirect_uris", u, native)
                          for u in got.get("redirect_uris", ()))
    if {"authorization_code", "implicit"} & set(grants) and not redirect_uris:
        raise RedirectUriError("redirect_uris", "required for the authorization_code and "
                                                "implicit grant types")
    method = got.get("token_endpoint_auth_method", "client_secret_basic")
    if method == "none" and {"client_credentials", "password"} & set(grants):
        raise MetadataError("grant_types", "a public client (token_endpoint_auth_method none) "
                                           "cannot use client_credentials or password")
    if "jwks" in got and "jwks_uri" in got:
        raise MetadataError("jwks", "jwks and jwks_uri must not both be present")
    if method == "private_key_jwt" and not ({"jwks", "jwks_uri"} & got.keys()):
        raise MetadataError("jwks_uri", "private_key_jwt needs jwks or jwks_uri")
    subject_type = got.get("subject_type", "public")
    hosts = {urlsplit(u).hostname for u in redirect_uris}
    if subject_type == "pairwise" and len(hosts) > 1 and "sector_identifier_uri" not in got:
        raise MetadataError("sector_identifier_uri", "pairwise clients with redirect URIs on "
                                                     "several hosts need one")
    scopes = got.get("scope", ())
    if policy.scopes is not None:
        scopes = tuple(s for s in scopes if s in policy.scopes)
    return ClientMetadata(
        client_id=client_id,
        client_name=got.get("client_name", ""),
        redirect_uris=redirect_uris,
        post_logout_redirect_uris=got.get("post_logout_redirect_uris", ()),
        grant_types=grants,
        response_types=response_types,
        scopes=scopes or tuple(policy.default_scopes),
        token_endpoint_auth_method=method,
        token_endpoint_auth_signing_alg=got.get("token_endpoint_auth_signing_alg"),
        jwks=got.get("jwks"),
        jwks_uri=got.get("jwks_uri"),
        id_token_signed_response_alg=got.get("id_token_signed_response_alg", "RS256"),
        userinfo_signed_response_alg=got.get("userinfo_signed_response_alg"),
        access_token_format=got.get("access_token_format", "opaque"),
        subject_type=subject_type,
        sector_identifier_uri=got.get("sector_identifier_uri"),
        frontchannel_logout_uri=got.get("frontchannel_logout_uri"),
        frontchannel_logout_session_required=got.get("frontchannel_logout_session_required",
                                                     True),
        backchannel_logout_uri=got.get("backchannel_logout_uri"),
        backchannel_logout_session_required=got.get("backchannel_logout_session_required",
                                                    True),
        extra={k: list(v) if isinstance(v, tuple) else v
               for k, v in got.items() if k in EXTRA_FIELDS},
    )


def carry_over(fresh: ClientMetadata, old: ClientMetadata) -> ClientMetadata:
    """``fresh`` metadata with ``old``'s credentials and administrator policy (an update
    replaces metadata, never these)."""
    return dataclasses.replace(
        fresh,
        client_secret=old.client_secret,
        client_secret_expires_at=old.client_secret_expires_at,
        client_id_issued_at=old.client_id_issued_at,
        registration_access_token_hash=old.registration_access_token_hash,
        allow_password_grant=old.allow_password_grant,
        trusted=old.trusted,
        resource_server=old.resource_server,
        access_token_lifetime=old.access_token_lifetime,
    )


def as_request(client: ClientMetadata) -> dict[str, Any]:
    """The metadata of ``client`` as a registration request would carry it (for updates)."""
    data: dict[str, Any] = {
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
        "frontchannel_logout_session_required": client.frontchannel_logout_session_required,
        "backchannel_logout_uri": client.backchannel_logout_uri,
        "backchannel_logout_session_required": client.backchannel_logout_session_required,
        **{k: v for k, v in client.extra.items() if k in EXTRA_FIELDS},
    }
    return {k: v for k, v in data.items() if v is not None}
