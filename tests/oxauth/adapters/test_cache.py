"""Access tokens through a real Twemproxy with a Redis shard down: every request still
gets a token, and every token handed out can be found again."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from tests.oauth.memory import World

from oxswarm.cache.aio import AsyncCache
from oxswarm.errors import CacheUnavailable
from oxswarm.local.cache import LocalCacheCluster
from oxswarm.oauth.models import AccessTokenRecord, ClientMetadata
from oxswarm.oxauth.adapters.cache import CacheTokenStore

pytestmark = pytest.mark.integration
CLIENT = ClientMetadata(client_id="svc", client_secret="s", grant_types=("client_credentials",),
                        scopes=("read",))


class Counting(CacheTokenStore):
    def __init__(self, cache: AsyncCache) -> None:
        super().__init__(cache)
        self.refused = 0

    async def save(self, token: str, record: AccessTokenRecord) -> None:
        try:
            await super().save(token, record)
        except CacheUnavailable:
            self.refused += 1
            raise


def test_tokens_are_issued_while_a_shard_is_down(tmp_path: Path) -> None:
    with LocalCacheCluster(tmp_path / "cache", shards=3) as cluster:
        cluster.shard("r2").kill()

        async def issue() -> tuple[list[str], Counting]:
            cache = AsyncCache(cluster.host, cluster.port, "tok", retries=0,
                               password=cluster.password)
            store = Counting(cache)
            world = World()
            world.factory.tokens = store
            try:
                issued = [(await world.factory.access_token(CLIENT, grant_id=None,
                                                            scope=["read"], sub=None))[0]
                          for _ in range(30)]  # fmt: skip
                found = [await store.get(t) for t in issued]
                assert all(r is not None and r.client_id == "svc" for r in found)
                return issued, store
            finally:
                await cache.close()

        issued, store = asyncio.run(issue())
    assert len(set(issued)) == 30
    # the dead shard refused saves until Twemproxy ejected it; each was drawn again
    assert store.refused >= 1, "no save met the dead shard: the test proved nothing"
    print(f"30 tokens issued with one shard of three down; {store.refused} saves refused")
