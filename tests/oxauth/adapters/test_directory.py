"""Refresh grants in the real directory: the sweep removes the expired, keeps the rest."""

from __future__ import annotations

import asyncio
import secrets
import time

import pytest

from oxswarm.cache.aio import AsyncCache
from oxswarm.local.stack import Stack
from oxswarm.oauth.models import GrantRecord
from oxswarm.oxauth.adapters.cache import CacheRevocations
from oxswarm.oxauth.adapters.directory import DirectoryGrantStore

pytestmark = pytest.mark.integration


def grant(expires_in: int) -> GrantRecord:
    now = int(time.time())
    return GrantRecord(grant_id=secrets.token_urlsafe(16), client_id="c1", sub="u1",
                       scope=("openid",), created_at=now - 100, expires_at=now + expires_in)


def test_the_sweep_removes_only_expired_grants(stack: Stack) -> None:
    expired = [grant(-10), grant(-5000)]
    live = grant(3600)

    async def run() -> tuple[int, int, list[GrantRecord | None]]:
        host, port = stack.cache_address.rsplit(":", 1)
        cache = AsyncCache(host, int(port), namespace=f"{stack.cluster}.oxauth")
        directory = stack.directory()
        try:
            store = DirectoryGrantStore(directory, CacheRevocations(cache))
            for item in [*expired, live]:
                await store.put(item)
            first = await store.purge_expired()
            again = await store.purge_expired()
            found = [await store.get(g.grant_id) for g in [*expired, live]]
            return first, again, found
        finally:
            directory.close()
            await cache.close()

    first, again, found = asyncio.run(run())
    assert first >= 2  # other tests' expired grants may go too
    assert again == 0
    assert found[:2] == [None, None]
    assert found[2] is not None and found[2].grant_id == live.grant_id


@pytest.mark.parametrize(
    "grant_id",
    ["\x00\x01", "a\r\nb", "a b", "*", "*)(oxTokenHash=*", "a,ou=x", "é", "A" * 600],
    ids=lambda v: repr(v)[:16],
)
def test_a_malformed_grant_id_names_no_grant(stack: Stack, grant_id: str) -> None:
    """It never reaches a DN or a cache key (the cache refused control characters with an
    exception: 500 at the token, introspection and revocation endpoints, issue 8)."""

    async def run() -> tuple[GrantRecord | None, GrantRecord | None]:
        host, port = stack.cache_address.rsplit(":", 1)
        cache = AsyncCache(host, int(port), namespace=f"{stack.cluster}.oxauth")
        directory = stack.directory()
        try:
            store = DirectoryGrantStore(directory, CacheRevocations(cache))
            live = grant(3600)
            await store.put(live)
            return await store.get(grant_id), await store.get(live.grant_id)
        finally:
            directory.close()
            await cache.close()

    bad, good = asyncio.run(run())
    assert bad is None and good is not None
