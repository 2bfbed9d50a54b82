"""The small storage interfaces the protocol code reaches its data through.

The service (:mod:`oxswarm.oxauth.adapters`) binds them to the directory (clients, users,
grants), the cache (codes, opaque access tokens, replay markers) and the config store
(keys). All are ``async``: the token endpoint is a hot path and never blocks its loop.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from joserfc.jwk import Key

from oxswarm.oauth.models import (
    AccessTokenRecord,
    AuthorizationCode,
    ClientMetadata,
    GrantRecord,
    User,
)


class ClientStore(Protocol):
    """Registered clients (RFC 7591): read on every request, written by registration."""

    async def get(self, client_id: str) -> ClientMetadata | None: ...

    async def create(self, client: ClientMetadata) -> None: ...

    async def update(self, client: ClientMetadata) -> None: ...

    async def delete(self, client_id: str) -> bool: ...


class UserStore(Protocol):
    """End-users: claims for ID tokens and userinfo, password checks for the password grant."""

    async def get(self, sub: str) -> User | None: ...

    async def authenticate(self, username: str, password: str) -> User | None:
        """The user when ``password`` is right; ``None`` otherwise (no hint which failed)."""
        ...


class CodeStore(Protocol):
    """Authorization codes (RFC 6749 4.1.2): single use, short lived, shared by all nodes."""

    async def save(self, code: AuthorizationCode) -> None: ...

    async def take(self, code: str) -> AuthorizationCode | None:
        """Return and delete atomically: of two concurrent takers only one gets the record.

        A code taken before leaves a marker naming its grant, see :meth:`used_grant`.
        """
        ...

    async def used_grant(self, code: str) -> str | None:
        """The grant id of a code that was already redeemed (for replay revocation)."""
        ...


class TokenStore(Protocol):
    """Opaque access tokens, keyed by the token (stored as its hash)."""

    async def save(self, token: str, record: AccessTokenRecord) -> None: ...

    async def get(self, token: str) -> AccessTokenRecord | None: ...

    async def delete(self, token: str) -> None: ...


class GrantStore(Protocol):
    """Grants with refresh tokens (durable) and grant revocation markers."""

    async def get(self, grant_id: str) -> GrantRecord | None: ...

    async def put(self, grant: GrantRecord) -> None: ...

    async def delete(self, grant_id: str) -> None: ...

    async def revoke(self, grant_id: str, ttl: int) -> None:
        """Delete the grant and remember for ``ttl`` seconds that its tokens are revoked."""
        ...

    async def is_revoked(self, grant_id: str) -> bool: ...


class ReplayGuard(Protocol):
    """One-time markers (JWT ``jti`` of client assertions, rotated refresh tokens)."""

    async def first_use(self, key: str, ttl: int) -> bool:
        """True the first time ``key`` is seen within ``ttl`` seconds, False afterwards."""
        ...


class KeySet(Protocol):
    """The provider's signing keys (from the config store, rotated while running)."""

    def signing_key(self, alg: str) -> Key:
        """The key that signs with ``alg`` now; raises ``KeyError`` when there is none."""
        ...

    def verification_key(self, kid: str) -> Key | None: ...

    def public_jwks(self) -> Mapping[str, Any]: ...

    def algorithms(self) -> list[str]:
        """Signing algorithms the provider can use now (for discovery)."""
        ...


class JwksFetcher(Protocol):
    """Fetches a client's ``jwks_uri`` (private_key_jwt, request objects)."""

    async def fetch(self, uri: str) -> Mapping[str, Any]: ...
