"""The auto-pipelined connections (:mod:`oxswarm.cache.wire`), through real Twemproxies."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
import uvloop

from oxswarm.cache.aio import AsyncCache
from oxswarm.cache.auth import Passwords
from oxswarm.cache.replies import shard_down
from oxswarm.cache.wire import IDLE_PING, REPLY_TIMEOUT, SUSPECT_AFTER, TICK, Resolver, Wires
from oxswarm.local.cache import LocalCacheCluster
from oxswarm.local.process import free_port
from oxswarm.local.twemproxy import LocalTwemproxy

from .conftest import shard_of

pytestmark = pytest.mark.integration


@pytest.fixture
def two(tmp_path: Path) -> Iterator[LocalCacheCluster]:
    with LocalCacheCluster(tmp_path / "cache", shards=2) as running:
        yield running


def wire(cluster: LocalCacheCluster, *passwords: str) -> Wires:
    return Wires(cluster.host, cluster.port,
                Passwords.fixed(*(passwords or (cluster.password,))))


def writes_to(pid: int) -> int:
    """The ``write``-family system calls ``pid`` made so far (/proc/PID/io ``syscw``)."""
    for line in Path(f"/proc/{pid}/io").read_text().splitlines():
        if line.startswith("syscw:"):
            return int(line.split()[1])
    raise AssertionError("no syscw")


def test_concurrent_commands_share_writes_and_get_their_own_replies(
        two: LocalCacheCluster) -> None:
    async def scenario() -> tuple[list[list[object]], int]:
        w = wire(two)
        try:
            await w.send([("PING",)])  # connected and authenticated
            before = writes_to(os.getpid())
            await asyncio.gather(*(w.send([("SET", f"k{i}", f"v{i}")]) for i in range(200)))
            writes = writes_to(os.getpid()) - before
            got = await asyncio.gather(
                *(w.send([("GET", f"k{i}"), ("GET", f"k{i + 1}")]) for i in range(199)))
            return got, writes
        finally:
            w.close()

    got, writes = uvloop.run(scenario())
    assert got == [[f"v{i}".encode(), f"v{i + 1}".encode()] for i in range(199)]
    assert writes <= 3  # 200 SETs issued in one loop iteration: one write, not 200


def test_an_error_reply_mid_batch_keeps_its_place(two: LocalCacheCluster) -> None:
    async def scenario() -> list[object]:
        w = wire(two)
        try:
            return await w.send([("SET", "n", "not a number"), ("INCR", "n"), ("GET", "n")])
        finally:
            w.close()

    ok, error, value = uvloop.run(scenario())
    assert ok == b"OK" and value == b"not a number"
    assert isinstance(error, redis.ResponseError) and "not an integer" in str(error)


def test_a_down_shard_is_an_error_reply_the_others_answer(two: LocalCacheCluster) -> None:
    keys = [f"key{i}" for i in range(40)]

    async def scenario() -> list[object]:
        w = wire(two)
        try:
            await w.send([("SET", key, key) for key in keys])
            homes = {key: shard_of(two, key) for key in keys}
            two.shard("r1").kill()
            replies = await w.send([("GET", key) for key in keys])
            return [(homes[key], reply) for key, reply in zip(keys, replies, strict=True)]
        finally:
            w.close()

    pairs = uvloop.run(scenario())
    on_r1 = [reply for home, reply in pairs if home == "r1"]
    on_r2 = [(reply, key) for (home, reply), key in zip(pairs, keys, strict=True) if home == "r2"]
    assert on_r1 and on_r2
    assert all(isinstance(r, redis.ResponseError) and shard_down(r) for r in on_r1)
    assert all(reply == key.encode() for reply, key in on_r2)


def test_a_dropped_connection_fails_the_waiting_commands_then_reconnects(
        two: LocalCacheCluster) -> None:
    proxy = two.twemproxy.daemon

    async def scenario() -> None:
        w = wire(two)
        try:
            await w.send([("SET", "a", "1")])
            pid = proxy.pid
            assert pid is not None
            os.kill(pid, signal.SIGSTOP)  # it reads nothing more: the commands wait
            try:
                waiting = [asyncio.ensure_future(w.send([("GET", "a")])) for _ in range(5)]
                await asyncio.sleep(0.2)
                assert not any(task.done() for task in waiting)
            finally:
                os.kill(pid, signal.SIGKILL)
            results = await asyncio.gather(*waiting, return_exceptions=True)
            assert all(isinstance(r, redis.ConnectionError) for r in results), results
            with pytest.raises(redis.ConnectionError):  # nothing listens
                await w.send([("GET", "a")])
            two.twemproxy.stop()
            two.twemproxy.start()
            assert await w.send([("GET", "a")]) == [b"1"]  # a new connection
        finally:
            w.close()

    uvloop.run(scenario())


def test_auth_refused_missing_and_rotated(two: LocalCacheCluster) -> None:
    async def scenario() -> None:
        bad = wire(two, "not-the-password")
        with pytest.raises(redis.AuthenticationError) as refused:
            await bad.send([("PING",)])
        assert "not-the-password" not in str(refused.value)
        none = Wires(two.host, two.port, Passwords.fixed())
        with pytest.raises(redis.AuthenticationError):  # NOAUTH: raised, not a reply
            await none.send([("GET", "a")])
        none.close()
        # the candidates in order: the refused one is passed over, nothing fails
        cache = AsyncCache(two.host, two.port, "rot", retries=0,
                           passwords=("old-one", two.password))
        try:
            await cache.set("at", "t", "v", 60)
            assert await cache.get("at", "t") == b"v"
        finally:
            await cache.close()

    uvloop.run(scenario())


def test_a_client_serves_one_loop_after_another(two: LocalCacheCluster) -> None:
    """A client closed at the end of one loop's use (oxAuth's lifespan) serves the next."""
    cache = AsyncCache(two.host, two.port, "loops", retries=0, password=two.password)

    async def use(value: str) -> bytes | None:
        try:
            await cache.set("at", "t", value, 60)
            return await cache.get("at", "t")
        finally:
            await cache.close()

    assert [run(use(value)) for run, value in ((asyncio.run, "v1"), (uvloop.run, "v2"))] == [
        b"v1", b"v2"]


def test_the_client_retries_commands_lost_with_the_connection(two: LocalCacheCluster) -> None:
    """A proxy that dies with a SET waiting: ``AsyncCache`` retries it on a new connection
    (here once the proxy is back) and the SET is stored, nothing raised."""
    proxy = two.twemproxy.daemon

    def restart() -> None:
        two.twemproxy.stop()
        two.twemproxy.start()

    async def scenario() -> bytes | None:
        cache = AsyncCache(two.host, two.port, "lost", retries=4, backoff=0.5,
                           password=two.password)
        try:
            await cache.set("at", "t", "old", 60)
            pid = proxy.pid
            assert pid is not None
            os.kill(pid, signal.SIGSTOP)
            try:
                waiting = asyncio.ensure_future(cache.set("at", "t", "new", 60))
                await asyncio.sleep(0.2)
                assert not waiting.done()
            finally:
                os.kill(pid, signal.SIGKILL)
            await asyncio.get_running_loop().run_in_executor(None, restart)
            await waiting
            return await cache.get("at", "t")
        finally:
            await cache.close()

    assert uvloop.run(scenario()) == b"new"


def test_a_silent_proxy_fails_the_commands_in_bounded_time(two: LocalCacheCluster) -> None:
    """A proxy that stops answering without closing (its node killed or cut off: no RST)
    fails the client's commands within the reply timeout, not never; once it answers
    again the next command works on a new connection. Without the bound every request of
    the process waited on the one silent connection."""
    from oxswarm.errors import CacheUnavailable

    proxy = two.twemproxy.daemon

    async def scenario() -> tuple[float, bytes | None]:
        cache = AsyncCache(two.host, two.port, "silent", retries=0, password=two.password)
        try:
            await cache.set("at", "t", "v", 60)
            pid = proxy.pid
            assert pid is not None
            os.kill(pid, signal.SIGSTOP)
            began = asyncio.get_running_loop().time()
            try:
                with pytest.raises(CacheUnavailable):
                    await asyncio.wait_for(cache.get("at", "t"), 10 * REPLY_TIMEOUT)
                took = asyncio.get_running_loop().time() - began
            finally:
                os.kill(pid, signal.SIGCONT)
            return took, await cache.get("at", "t")
        finally:
            await cache.close()

    took, value = uvloop.run(scenario())
    assert REPLY_TIMEOUT * 0.9 <= took < REPLY_TIMEOUT + 2, took
    assert value == b"v"


@pytest.fixture
def second_proxy(two: LocalCacheCluster, tmp_path: Path) -> Iterator[LocalTwemproxy]:
    """Another Twemproxy in front of the same shards, as every node of a cluster has."""
    pool = two.pool.model_copy(update={"listen_port": free_port(two.host)})
    proxy = LocalTwemproxy(pool, tmp_path / "proxy2", pick_ports=True).start()
    try:
        yield proxy
    finally:
        pid = proxy.daemon.pid
        if pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGCONT)
        proxy.stop()


def both(two: LocalCacheCluster, other: LocalTwemproxy) -> Resolver:
    """What ``twemproxy`` resolves to in a cluster: every node's proxy."""
    async def resolve() -> list[tuple[str, int]]:
        return [(two.host, two.port), (other.host, other.port)]
    return resolve


def test_a_silent_proxy_is_passed_over_and_nothing_fails(
        two: LocalCacheCluster, second_proxy: LocalTwemproxy) -> None:
    """The proxy in use goes silent (SIGSTOP: its node killed, no RST): commands issued
    after :data:`SUSPECT_AFTER` go to the other proxy at once, the ones that were waiting
    are retried there after :data:`REPLY_TIMEOUT`, none fails; once the proxy answers
    again it is connected again in the background."""
    async def scenario() -> tuple[list[float], list[float], list[tuple[str, int]], bytes | None]:
        cache = AsyncCache(two.host, two.port, "silent2", password=two.password,
                           resolve=both(two, second_proxy))
        try:
            await cache.set("at", "warm", "v", 60)
            await asyncio.sleep(3 * TICK)  # the watchdog connects the other address too
            wire = cache._wire
            assert len(wire.addresses) == 2, wire.addresses
            first = wire.addresses[0]
            stopped = two.twemproxy if first == (two.host, two.port) else second_proxy
            pid = stopped.daemon.pid
            assert pid is not None
            loop = asyncio.get_running_loop()

            async def timed(i: int) -> float:
                began = loop.time()
                await cache.set("at", f"t{i}", f"v{i}", 60)
                assert await cache.get("at", f"t{i}") == f"v{i}".encode()
                return loop.time() - began

            os.kill(pid, signal.SIGSTOP)
            try:
                caught = [asyncio.ensure_future(timed(i)) for i in range(20)]
                await asyncio.sleep(SUSPECT_AFTER + 3 * TICK)
                after = await asyncio.gather(*(timed(100 + i) for i in range(50)))
                waited = await asyncio.gather(*caught)
            finally:
                os.kill(pid, signal.SIGCONT)
            for _ in range(50):  # dropped, then connected again in the background
                if len(wire.addresses) == 2:
                    break
                await asyncio.sleep(TICK)
            return list(waited), list(after), wire.addresses, await cache.get("at", "t7")
        finally:
            await cache.close()

    waited, after, addresses, value = uvloop.run(scenario())
    assert max(after) < 0.5, after  # on the live proxy, not behind the silent one
    assert max(waited) < REPLY_TIMEOUT + 1.5, waited  # retried once the silent one is dropped
    assert len(addresses) == 2 and value == b"v7"


def test_a_standby_proxy_gone_silent_is_found_by_its_ping(
        two: LocalCacheCluster, second_proxy: LocalTwemproxy) -> None:
    """An idle connection is PINGed: a standby proxy that went silent is dropped before
    any command needs it, and the one in use never notices."""
    async def scenario() -> tuple[list[tuple[str, int]], list[tuple[str, int]]]:
        cache = AsyncCache(two.host, two.port, "standby", password=two.password,
                           resolve=both(two, second_proxy))
        try:
            await cache.set("at", "warm", "v", 60)
            await asyncio.sleep(3 * TICK)
            wire = cache._wire
            before = wire.addresses
            standby = two.twemproxy if before[1] == (two.host, two.port) else second_proxy
            pid = standby.daemon.pid
            assert pid is not None
            os.kill(pid, signal.SIGSTOP)
            try:
                for i in range(int((IDLE_PING + REPLY_TIMEOUT + 1) / 0.05)):
                    await cache.set("at", "busy", str(i), 60)  # the primary stays busy
                    await asyncio.sleep(0.05)
                    if len(wire.addresses) == 1:
                        break
                during = wire.addresses
            finally:
                os.kill(pid, signal.SIGCONT)
            return before, during
        finally:
            await cache.close()

    before, during = uvloop.run(scenario())
    assert during == before[:1], (before, during)
