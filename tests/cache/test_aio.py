"""The asyncio client (oxAuth's request path), through real Twemproxy and Redis."""

from __future__ import annotations

import asyncio
import time

import pytest

from oxswarm.cache.aio import AsyncCache
from oxswarm.local.cache import LocalCacheCluster


@pytest.mark.integration
def test_async_client_through_twemproxy(fresh_cluster: LocalCacheCluster) -> None:
    cluster = fresh_cluster

    async def scenario() -> None:
        # retries=0: a handshake command Twemproxy rejects would fail the first request
        cache = AsyncCache(cluster.host, cluster.port, "aio", retries=0, password=cluster.password)
        try:
            await cache.ping()
            await cache.set("session", "s1", "v", 60)
            assert await cache.get("session", "s1") == b"v"
            assert await cache.add("jti", "j1", "1", 60) is True
            assert await cache.add("jti", "j1", "1", 60) is False
            assert [await cache.incr_with_ttl("lockout", "u", 60) for _ in range(2)] == [1, 2]
            await cache.set_json("code", "c1", {"sub": "u"}, 60)
            assert await cache.take_json("code", "c1") == {"sub": "u"}
            assert await cache.delete("session", "s1") is True
            # take() single-use among concurrent callers on the event loop
            for i in range(20):
                await cache.set("code", str(i), f"g{i}", 60)
            results = await asyncio.gather(
                *(cache.take("code", str(i)) for i in range(20) for _ in range(5))
            )
            assert sorted(r for r in results if r is not None) == sorted(
                f"g{i}".encode() for i in range(20)
            )
        finally:
            await cache.close()

    asyncio.run(scenario())
    time.sleep(1.2)  # stats refresh every second
    assert cluster.twemproxy.stats()[cluster.pool.name]["client_err"] == 0
