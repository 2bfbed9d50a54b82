"""The records the protocol code works on, independent of where they are stored.

* :class:`ClientMetadata`: a registered client as RFC 7591 section 2 and OpenID Connect
  Dynamic Client Registration 1.0 section 2 describe it (secret already decrypted).
* :class:`User`: an end-user with the standard claims of OpenID Connect Core 1.0 section 5.1.
* :class:`AuthorizationCode`: what RFC 6749 section 4.1.2 binds to a code (plus the
  OpenID Connect and RFC 7636 parameters the token endpoint needs later).
* :class:`GrantRecord`: one authorization grant with its current refresh token (RFC 6749
  section 6), kept until it expires or is revoked.
* :class:`AccessTokenRecord`: what an opaque access token stands for (RFC 7662 section 2.2).

Every record turns into a JSON-ready dict and back (``to_dict`` / ``from_dict``).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Literal, Self

AccessTokenFormat = Literal["opaque", "jwt"]
SubjectType = Literal["public", "pairwise"]


_FIELD_NAMES: dict[type, tuple[str, ...]] = {}


class Record:
    """JSON round trip for the dataclasses below (tuples are stored as lists)."""

    __slots__ = ()

    def to_dict(self) -> dict[str, Any]:
        """A shallow dict of the fields (JSON turns tuples into lists)."""
        return {name: getattr(self, name) for name in self._names()}

    @classmethod
    def _names(cls) -> tuple[str, ...]:
        names: tuple[str, ...] | None = _FIELD_NAMES.get(cls)
        if names is None:
            names = tuple(f.name for f in dataclasses.fields(cls))  # type: ignore[arg-type]
            _FIELD_NAMES[cls] = names
        return names

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Self:
        names = {f.name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
        values: dict[str, Any] = {}
        for key, value in data.items():
            spec = names.get(key)
            if spec is None:
                continue
            is_tuple = isinstance(value, list) and "tuple" in str(spec.type)
            values[key] = tuple(value) if is_tuple else value
        return cls(**values)


@dataclass(frozen=True, slots=True)
class ClientMetadata(Record):
    """A registered client; ``client_secret`` is plain text (decrypted by the adapter)."""

    client_id: str
    client_secret: str | None = None
    client_secret_expires_at: int = 0
    client_id_issued_at: int = 0
    client_name: str = ""
    redirect_uris: tuple[str, ...] = ()
    post_logout_redirect_uris: tuple[str, ...] = ()
    grant_types: tuple[str, ...] = ("authorization_code",)
    response_types: tuple[str, ...] = ("code",)
    scopes: tuple[str, ...] = ("openid",)
    token_endpoint_auth_method: str = "client_secret_basic"
    token_endpoint_auth_signing_alg: str | None = None
    jwks: dict[str, Any] | None = None
    jwks_uri: str | None = None
    id_token_signed_response_alg: str = "RS256"
    userinfo_signed_response_alg: str | None = None
    access_token_format: AccessTokenFormat = "opaque"
    subject_type: SubjectType = "public"
    sector_identifier_uri: str | None = None
    frontchannel_logout_uri: str | None = None
    frontchannel_logout_session_required: bool = True
    backchannel_logout_uri: str | None = None
    backchannel_logout_session_required: bool = True
    registration_access_token_hash: str | None = None
    allow_password_grant: bool = False
    # Administrator's policy, never taken from a registration request:
    trusted: bool = False  # signed-in users are not asked for consent
    resource_server: bool = False  # may introspect tokens issued to other clients
    access_token_lifetime: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def is_public(self) -> bool:
        """A public client (RFC 6749 section 2.1) has no credentials: auth method ``none``."""
        return self.token_endpoint_auth_method == "none"


@dataclass(frozen=True, slots=True)
class User(Record):
    """An end-user: ``sub`` is the directory's stable id (inum); ``claims`` per OIDC 5.1."""

    sub: str
    username: str
    claims: dict[str, Any] = field(default_factory=dict)
    active: bool = True


@dataclass(frozen=True, slots=True)
class AuthorizationCode(Record):
    """RFC 6749 4.1.2 code record; single use, short lived; ``grant_id`` names its tokens."""

    code: str
    client_id: str
    redirect_uri: str
    scope: tuple[str, ...]
    sub: str
    auth_time: int
    grant_id: str
    issued_at: int
    expires_at: int
    nonce: str | None = None
    code_challenge: str | None = None
    code_challenge_method: str | None = None
    acr: str | None = None
    amr: tuple[str, ...] = ()
    sid: str | None = None
    claims: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class GrantRecord(Record):
    """One grant and its refresh token chain (rotation per RFC 9700 section 4.14.2).

    The refresh token is ``<grant_id>.<secret>``; only SHA-256 hashes of secrets are kept:
    ``refresh_hash`` is the current one, ``previous_hashes`` those rotated away (presenting
    one of them again is a reuse and revokes the grant).
    """

    grant_id: str
    client_id: str
    sub: str | None
    scope: tuple[str, ...]
    created_at: int
    expires_at: int
    refresh_hash: str | None = None
    previous_hashes: tuple[str, ...] = ()
    auth_time: int | None = None
    acr: str | None = None
    amr: tuple[str, ...] = ()
    sid: str | None = None
    claims: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class AccessTokenRecord(Record):
    """What an access token stands for; the fields of RFC 7662 section 2.2."""

    client_id: str
    scope: tuple[str, ...]
    issued_at: int
    expires_at: int
    grant_id: str
    sub: str | None = None
    jti: str = ""
    token_format: AccessTokenFormat = "opaque"
    auth_time: int | None = None
    acr: str | None = None
    sid: str | None = None
    claims: dict[str, Any] | None = None
