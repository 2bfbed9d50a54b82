"""The second copy against real Redis shards behind a real Twemproxy: a shard dies (or
stalls and returns with its old data) and no entry is lost, no code is redeemed twice, no
deleted session comes back, no counter restarts (docs/cache.md "A second copy")."""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from oxswarm.cache.aio import AsyncCache
from oxswarm.cache.client import Cache
from oxswarm.cache.stats import ejected_shards
from oxswarm.local.cache import LocalCacheCluster
from oxswarm.local.process import wait_until
from oxswarm.local.redis import LocalRedis

from .conftest import direct, shard_of

NS = "rp"


def _client(cluster: LocalCacheCluster, replicated: bool = True) -> Cache:
    return Cache(cluster.host, cluster.port, NS, password=cluster.password,
                 ring=cluster.ring if replicated else None)


def _on(cluster: LocalCacheCluster, name: str, kind: str, n: int) -> list[str]:
    """``n`` idents whose primary key Twemproxy places on shard ``name``."""
    ring, index = cluster.ring, cluster.ring.names.index(name)
    idents = (f"{kind}{i}" for i in range(100_000))
    return [i for i in idents if ring.shard(f"{NS}:{kind}:{i}") == index][:n]


def _ejected(cluster: LocalCacheCluster, name: str) -> None:
    wait_until(lambda: name in ejected_shards(cluster.twemproxy.stats(), cluster.pool.name),
               10.0, f"Twemproxy to eject {name}", interval=0.1)


def _routed_back(cluster: LocalCacheCluster, node: LocalRedis) -> None:
    probe = _on(cluster, node.name, "probe", 1)[0]
    plain, on_node = _client(cluster, replicated=False), direct(node)

    def back() -> bool:
        plain.set("probe", probe, "1", 60)
        return bool(on_node.exists(f"{NS}:probe:{probe}"))

    wait_until(back, 15.0, f"Twemproxy to route {node.name}'s keys back", interval=0.2)
    plain.close()


@contextmanager
def stalled(node: LocalRedis) -> Iterator[None]:
    """The shard stops answering (SIGSTOP: a partition) and returns *with its data*."""
    pid = node.daemon.pid
    assert pid is not None
    os.kill(pid, signal.SIGSTOP)
    try:
        yield
    finally:
        os.kill(pid, signal.SIGCONT)


@pytest.mark.integration
def test_ring_matches_twemproxy(cluster: LocalCacheCluster) -> None:
    """Our ketama/murmur places 300 keys where nutcracker does, and every replica key
    sits on another shard than its primary."""
    with _client(cluster, replicated=False) as plain, _client(cluster) as cache:
        names = cluster.ring.names
        for i in range(300):
            plain.set("place", str(i), "1", 60)
            assert shard_of(cluster, f"{NS}:place:{i}") == names[
                cluster.ring.shard(f"{NS}:place:{i}")]
        for i in range(100):
            cache.set("two", str(i), "v", 60)
            pair = cache.pair("two", str(i))
            assert pair is not None
            assert shard_of(cluster, pair.primary) != shard_of(cluster, pair.replica)
            assert cache.get("two", str(i)) == b"v"


@pytest.mark.integration
def test_lost_shard_loses_nothing(fresh_cluster: LocalCacheCluster) -> None:
    cluster = fresh_cluster
    victim = cluster.shard("r2")
    sessions, codes = _on(cluster, "r2", "session", 40), _on(cluster, "r2", "code", 40)
    with _client(cluster) as cache, _client(cluster, replicated=False) as plain:
        for ident in sessions:
            cache.set_json("session", ident, {"sid": ident}, 300)
        for ident in codes:
            cache.set("code", ident, f"c-{ident}", 60)
        plain.set("plain", "x", "1", 60)
        victim.kill()
        # get and take still work from the replica (the client rides over the ejection)
        assert [cache.get_json("session", i) for i in sessions] == [{"sid": i} for i in sessions]
        assert [cache.take("code", i) for i in codes] == [f"c-{i}".encode() for i in codes]
        assert [cache.take("code", i) for i in codes] == [None] * len(codes)
        # the shard returns empty: sessions are still read (and refilled), codes stay used
        victim.restart()
        _routed_back(cluster, victim)
        assert all(cache.get_json("session", i) == {"sid": i} for i in sessions)
        on_victim = direct(victim)
        assert all(on_victim.exists(f"{NS}:session:{i}") for i in sessions)  # read-repair
        assert [cache.take("code", i) for i in codes] == [None] * len(codes)


@pytest.mark.integration
def test_take_once_across_death_and_return(fresh_cluster: LocalCacheCluster) -> None:
    """Codes taken before, during and after an outage of either copy's shard: each is
    redeemed exactly once, also when the shard returns with its old copies."""
    cluster = fresh_cluster
    victim = cluster.shard("r1")
    on_victim = _on(cluster, "r1", "code", 60)  # primaries on r1
    with _client(cluster) as cache:
        off_victim = [i for i in (f"x{n}" for n in range(2000))
                      if (p := cache.pair("code", i)) is not None
                      and cluster.ring.shard(p.replica) == 0][:60]  # replicas on r1
        idents = on_victim + off_victim
        for ident in idents:
            cache.set("code", ident, ident, 120)
        before = idents[0::3]
        assert all(cache.take("code", i) == i.encode() for i in before)
        with stalled(victim):
            during = idents[1::3]
            assert all(cache.take("code", i) == i.encode() for i in during)
            _ejected(cluster, "r1")
            assert all(cache.take("code", i) is None for i in before + during)
        # back with the copies it held before the stall (taken meanwhile on the others)
        _routed_back(cluster, victim)
        assert all(cache.take("code", i) is None for i in before + during)
        after = idents[2::3]
        assert all(cache.take("code", i) == i.encode() for i in after)
        assert all(cache.take("code", i) is None for i in idents)
        # and once more after a crash (the shard returns empty)
        victim.kill()
        assert all(cache.take("code", i) is None for i in idents)
        victim.restart()
        _routed_back(cluster, victim)
        assert all(cache.take("code", i) is None for i in idents)


@pytest.mark.integration
def test_delete_during_outage_holds_after_return(fresh_cluster: LocalCacheCluster) -> None:
    cluster = fresh_cluster
    victim = cluster.shard("r3")
    sessions = _on(cluster, "r3", "session", 40)
    with _client(cluster) as cache:
        for ident in sessions:
            cache.set_json("session", ident, {"sid": ident}, 600)
        kept, gone = sessions[:20], sessions[20:]
        with stalled(victim):
            for ident in gone:  # logout while the primary's shard does not answer
                cache.delete("session", ident)
            _ejected(cluster, "r3")
        _routed_back(cluster, victim)
        # r3 answers again with the sessions it held; the tombstones win, and are copied
        assert direct(victim).exists(*[f"{NS}:session:{i}" for i in gone]) == len(gone)
        assert [cache.get_json("session", i) for i in gone] == [None] * len(gone)
        assert all(cache.get_json("session", i) == {"sid": i} for i in kept)
        victim.kill()  # the replicas' shard is the only one left for them
        assert [cache.get_json("session", i) for i in gone] == [None] * len(gone)
        assert all(cache.get_json("session", i) == {"sid": i} for i in kept)


@pytest.mark.integration
def test_counters_survive_a_lost_shard(fresh_cluster: LocalCacheCluster) -> None:
    cluster = fresh_cluster
    victim = cluster.shard("r2")
    users = _on(cluster, "r2", "lockout", 5)
    with _client(cluster) as cache:
        for user in users:
            assert [cache.incr_with_ttl("lockout", user, 300) for _ in range(3)] == [1, 2, 3]
        victim.kill()
        assert [cache.incr_with_ttl("lockout", u, 300) for u in users] == [4] * len(users)
        victim.restart()
        _routed_back(cluster, victim)
        assert [cache.incr_with_ttl("lockout", u, 300) for u in users] == [5] * len(users)
        assert cache.get("lockout", users[0]) == b"5"
        assert 0 < (cache.ttl("lockout", users[0]) or 0) <= 300
        cache.delete("lockout", users[0])  # a successful sign-in resets it
        assert cache.get("lockout", users[0]) is None
        assert cache.incr_with_ttl("lockout", users[0], 300) == 1


@pytest.mark.integration
def test_async_client_keeps_two_copies(fresh_cluster: LocalCacheCluster) -> None:
    cluster = fresh_cluster
    victim = cluster.shard("r1")
    codes = _on(cluster, "r1", "code", 20)

    async def run() -> None:
        cache = AsyncCache(cluster.host, cluster.port, NS, password=cluster.password,
                           ring=cluster.ring)
        try:
            for ident in codes:
                await cache.set_json("code", ident, {"c": ident}, 60)
            assert await cache.add("once", "jti-1", "1", 60)
            victim.kill()
            assert [await cache.get_json("code", i) for i in codes] == [
                {"c": i} for i in codes]
            results = await asyncio.gather(*(cache.take_json("code", i) for i in codes * 2))
            assert sorted(r["c"] for r in results if r) == sorted(codes)  # each once
            assert not await cache.add("once", "jti-1", "1", 60)
            assert await cache.incr_with_ttl("lockout", codes[0], 60) == 1
            assert await cache.delete("once", "jti-1")
        finally:
            await cache.close()

    asyncio.run(run())
