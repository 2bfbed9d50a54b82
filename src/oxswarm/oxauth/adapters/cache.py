"""Short-lived, shared state in the cache (Redis through Twemproxy), keyed by hashes.

Authorization codes, opaque access tokens, sessions, grant revocation markers and
single-use markers live here: every oxAuth process on every node sees the same values,
and every key expires with what it holds. Tokens and codes are stored under their
SHA-256, never in clear.
"""

from __future__ import annotations

import time

from oxswarm.cache.aio import AsyncCache
from oxswarm.oauth.models import AccessTokenRecord, AuthorizationCode
from oxswarm.oauth.tokens import token_hash
from oxswarm.oxauth.model import Session

USED_CODE_TTL = 600


def _ttl(expires_at: float) -> int:
    return max(int(expires_at - time.time()), 1)


class CacheCodeStore:
    """:class:`~oxswarm.oauth.interfaces.CodeStore`: ``code`` + ``codegrant`` markers."""

    def __init__(self, cache: AsyncCache) -> None:
        self._cache = cache

    async def save(self, code: AuthorizationCode) -> None:
        key = token_hash(code.code)
        record = {k: v for k, v in code.to_dict().items() if k != "code"}
        await self._cache.set_json("code", key, record, _ttl(code.expires_at))
        await self._cache.set("codegrant", key, code.grant_id, USED_CODE_TTL)

    async def take(self, code: str) -> AuthorizationCode | None:
        data = await self._cache.take_json("code", token_hash(code))
        return None if data is None else AuthorizationCode.from_dict({**data, "code": code})

    async def used_grant(self, code: str) -> str | None:
        raw = await self._cache.get("codegrant", token_hash(code))
        return None if raw is None else raw.decode()


class CacheTokenStore:
    """:class:`~oxswarm.oauth.interfaces.TokenStore` for access tokens (both formats)."""

    def __init__(self, cache: AsyncCache) -> None:
        self._cache = cache

    async def save(self, token: str, record: AccessTokenRecord) -> None:
        await self._cache.set_json(
            "at", token_hash(token), record.to_dict(), _ttl(record.expires_at)
        )

    async def get(self, token: str) -> AccessTokenRecord | None:
        data = await self._cache.get_json("at", token_hash(token))
        return None if data is None else AccessTokenRecord.from_dict(data)

    async def delete(self, token: str) -> None:
        await self._cache.delete("at", token_hash(token))


class CacheReplayGuard:
    """:class:`~oxswarm.oauth.interfaces.ReplayGuard`: ``SET NX EX`` markers."""

    def __init__(self, cache: AsyncCache) -> None:
        self._cache = cache

    async def first_use(self, key: str, ttl: int) -> bool:
        return await self._cache.add("once", token_hash(key), "1", max(ttl, 1))


class CacheRevocations:
    """Markers naming revoked grants, kept as long as their access tokens could live."""

    def __init__(self, cache: AsyncCache) -> None:
        self._cache = cache

    async def revoke(self, grant_id: str, ttl: int) -> None:
        await self._cache.set("revoked", grant_id, "1", max(ttl, 1))

    async def is_revoked(self, grant_id: str) -> bool:
        return await self._cache.get("revoked", grant_id) is not None


class CacheSessionStore:
    """:class:`~oxswarm.oxauth.model.SessionStore` in the cache, by ``sid``."""

    def __init__(self, cache: AsyncCache) -> None:
        self._cache = cache

    async def save(self, session: Session) -> None:
        await self._cache.set_json(
            "session", session.sid, session.to_dict(), _ttl(session.expires_at)
        )

    async def get(self, sid: str) -> Session | None:
        data = await self._cache.get_json("session", sid)
        return None if data is None else Session.from_dict(data)

    async def delete(self, sid: str) -> None:
        await self._cache.delete("session", sid)
