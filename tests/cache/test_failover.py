"""A Redis shard dies and returns: the documented behaviour of docs/cache.md, asserted."""

from __future__ import annotations

import pytest

from oxswarm.cache.client import Cache
from oxswarm.cache.stats import ejected_shards
from oxswarm.errors import CacheUnavailable
from oxswarm.local.cache import LocalCacheCluster
from oxswarm.local.process import wait_until

from .conftest import direct

NS = "fo"


def _placement(cluster: LocalCacheCluster) -> dict[str, str]:
    """``ident -> shard`` for the test's keys on the running shards (direct KEYS per shard)."""
    where = {}
    for node in cluster.redis:
        if not node.running():
            continue
        for key in direct(node).keys(f"{NS}:k:*"):
            where[key.decode().rsplit(":", 1)[1]] = node.name
    return where


@pytest.mark.integration
def test_shard_death_ejection_and_return(fresh_cluster: LocalCacheCluster) -> None:
    cluster = fresh_cluster
    pool = cluster.pool.name
    with (
        Cache(cluster.host, cluster.port, NS, password=cluster.password) as cache,
        Cache(cluster.host, cluster.port, NS, retries=0, password=cluster.password) as raw,
    ):
        for i in range(300):
            cache.set("k", str(i), f"v1-{i}", 300)
        where = _placement(cluster)
        victim = cluster.shard("r2")
        lost = [k for k, shard in where.items() if shard == "r2"]
        kept = [k for k, shard in where.items() if shard != "r2"]
        assert len(lost) > 20 and len(kept) > 20

        # 1. The shard dies: a few requests for its keys fail, then Twemproxy ejects it.
        victim.kill()
        failures = 0
        for n, ident in enumerate(lost[:20]):
            try:
                assert raw.get("k", ident) is None  # its keys are gone with it
            except CacheUnavailable:
                failures += 1
            # keys on the surviving shards work throughout, without any retry
            survivor = kept[n]
            assert raw.get("k", survivor) == f"v1-{survivor}".encode()
            raw.set("k", survivor, f"v2-{survivor}", 300)
        assert 1 <= failures <= cluster.pool.server_failure_limit + 1, failures
        wait_until(
            lambda: ejected_shards(cluster.twemproxy.stats(), pool) == {"r2"},
            5.0,
            "stats to show r2 ejected",
            interval=0.2,
        )

        # 2. While ejected, its keys are written to the remaining shards.
        rewritten = lost[20:40]
        for ident in rewritten:
            cache.set("k", ident, f"v2-{ident}", 300)
            assert cache.get("k", ident) == f"v2-{ident}".encode()
        moved = _placement(cluster)
        assert {moved[ident] for ident in rewritten} <= {"r1", "r3"}

        # 3. It returns empty; after server_retry_timeout Twemproxy routes to it again.
        victim.restart()
        probe = lost[0]
        on_victim = direct(victim)

        def routed_back() -> bool:
            cache.set("k", probe, "probe", 300)
            return bool(on_victim.exists(f"{NS}:k:{probe}"))

        wait_until(routed_back, 10.0, "Twemproxy to route r2's keys back", interval=0.2)
        # keys written meanwhile are invisible now (they sit on r1/r3 until their TTL)
        for ident in rewritten:
            assert cache.get("k", ident) is None
            orphan = direct(cluster.shard(moved[ident])).get(f"{NS}:k:{ident}")
            assert orphan == f"v2-{ident}".encode()
        # and the survivors' keys were never disturbed
        assert all(cache.get("k", k) == f"v2-{k}".encode() for k in kept[:20])

        # 4. With its default retries the client rides over an ejection without an error.
        third = [k for k, shard in where.items() if shard == "r3"]
        cluster.shard("r3").kill()
        assert [cache.get("k", ident) for ident in third[:5]] == [None] * 5
        first = next(k for k in kept[20:] if where[k] == "r1")
        assert cache.get("k", first) == f"v1-{first}".encode()
