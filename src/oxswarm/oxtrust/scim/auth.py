"""Bearer access tokens for SCIM (RFC 6750) and the scopes each operation needs.

A token is looked up exactly as oxAuth's userinfo endpoint does
(:func:`oxswarm.oauth.rfc6750.active_record` over the shared cache: both opaque and JWT
access tokens are kept there by their hash), so no call to oxAuth is made. No token:
401 with a bare ``Bearer`` challenge; an unknown, expired or revoked one: 401
``invalid_token``; a token without the scope: 403 ``insufficient_scope``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final, Protocol

from oxswarm.oauth.interfaces import GrantStore, TokenStore
from oxswarm.oauth.models import AccessTokenRecord
from oxswarm.oauth.rfc6750 import active_record
from oxswarm.scim.errors import Forbidden, Unauthorized

USERS_READ: Final = "https://gluu.org/scim/users.read"
USERS_WRITE: Final = "https://gluu.org/scim/users.write"
GROUPS_READ: Final = "https://gluu.org/scim/groups.read"
GROUPS_WRITE: Final = "https://gluu.org/scim/groups.write"
BULK: Final = "https://gluu.org/scim/bulk"
ALL_SCOPES: Final = (USERS_READ, USERS_WRITE, GROUPS_READ, GROUPS_WRITE, BULK)

#: resource type -> (scopes that allow reading, scope that allows writing);
#: the write scope also allows reading
SCOPES: Final = {
    "User": ((USERS_READ, USERS_WRITE), USERS_WRITE),
    "Group": ((GROUPS_READ, GROUPS_WRITE), GROUPS_WRITE),
}


class TokenLookup(Protocol):
    async def active(self, token: str) -> AccessTokenRecord | None: ...


@dataclass(frozen=True)
class CacheTokenLookup:
    """:class:`TokenLookup` through oxAuth's own token and grant stores."""

    tokens: TokenStore
    grants: GrantStore

    async def active(self, token: str) -> AccessTokenRecord | None:
        return await active_record(token, self.tokens, self.grants)


class BearerError(Unauthorized):
    def __init__(self, detail: str, challenge: str) -> None:
        super().__init__(detail)
        self.challenge = challenge


class ScopeError(Forbidden):
    def __init__(self, detail: str, challenge: str) -> None:
        super().__init__(detail)
        self.challenge = challenge


def bearer(header: str | None) -> str:
    scheme, _, value = (header or "").partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        raise BearerError("a bearer access token is required", 'Bearer realm="scim"')
    return value.strip()


async def authorize(lookup: TokenLookup, header: str | None) -> AccessTokenRecord:
    record = await lookup.active(bearer(header))
    if record is None:
        raise BearerError(
            "the access token is invalid, expired or revoked",
            'Bearer realm="scim", error="invalid_token"',
        )
    return record


def require(record: AccessTokenRecord, any_of: Iterable[str]) -> None:
    """:class:`ScopeError` unless the token carries one of ``any_of``."""
    wanted = tuple(any_of)
    if not set(wanted) & set(record.scope):
        raise ScopeError(
            f"the access token lacks the scope {' or '.join(wanted)}",
            f'Bearer realm="scim", error="insufficient_scope", scope="{" ".join(wanted)}"',
        )


def can(record: AccessTokenRecord, any_of: Iterable[str]) -> bool:
    return bool(set(any_of) & set(record.scope))
