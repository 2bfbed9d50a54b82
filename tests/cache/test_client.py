"""The cache client, through a real Twemproxy in front of three real Redis shards."""

from __future__ import annotations

import os
import subprocess
import threading
import time
from collections import Counter
from pathlib import Path

import pytest
import redis

from oxswarm.cache.client import MAX_TTL, Cache
from oxswarm.errors import CacheUnavailable, InvalidInput
from oxswarm.local.cache import LocalCacheCluster
from oxswarm.local.process import free_port, wait_until
from oxswarm.local.redis import LocalRedis

from .conftest import direct, shard_of

# -- validation (no daemon needed: the pool connects lazily) ------------------------------


@pytest.fixture
def offline() -> Cache:
    return Cache("127.0.0.1", 1, namespace="ns")


def test_keys_are_namespaced(offline: Cache) -> None:
    assert offline.key("code", "abc:def") == "ns:code:abc:def"


@pytest.mark.parametrize(
    ("kind", "ident", "field"),
    [
        ("Code", "x", "kind"),
        ("a:b", "x", "kind"),
        ("", "x", "kind"),
        ("code", "", "ident"),
        ("code", "a b", "ident"),
        ("code", "a\nb", "ident"),
        ("code", "x" * 513, "ident"),
    ],
)
def test_bad_key_parts_are_refused(offline: Cache, kind: str, ident: str, field: str) -> None:
    with pytest.raises(InvalidInput) as err:
        offline.get(kind, ident)
    assert err.value.field == field


@pytest.mark.parametrize("ttl", [0, -1, MAX_TTL + 1, 1.5, True])
def test_writes_need_a_ttl(offline: Cache, ttl: object) -> None:
    with pytest.raises(InvalidInput) as err:
        offline.set("code", "x", "v", ttl)  # type: ignore[arg-type]
    assert err.value.field == "ttl"


def test_bad_namespace_and_json(offline: Cache) -> None:
    with pytest.raises(InvalidInput, match="namespace"):
        Cache("127.0.0.1", 1, namespace="Bad Namespace")
    with pytest.raises(InvalidInput, match="JSON") as err:
        offline.set_json("code", "x", {"a": object()}, 60)
    assert err.value.field == "value"


def test_unreachable_twemproxy_is_cache_unavailable() -> None:
    with Cache("127.0.0.1", free_port(), namespace="ns", retries=1) as cache:
        with pytest.raises(CacheUnavailable, match="after 2 attempts"):
            cache.get("code", "x")
        with pytest.raises(CacheUnavailable):
            cache.ping()


# -- through Twemproxy ----------------------------------------------------------------------


@pytest.mark.integration
def test_set_get_delete(cache: Cache) -> None:
    cache.ping()
    assert cache.get("session", "s1") is None
    cache.set("session", "s1", b"\x00bytes\xff", 60)
    assert cache.get("session", "s1") == b"\x00bytes\xff"
    cache.set("session", "s1", "text", 60)
    assert cache.get("session", "s1") == b"text"
    assert 0 < (cache.ttl("session", "s1") or 0) <= 60
    assert cache.delete("session", "s1") is True
    assert cache.delete("session", "s1") is False
    assert cache.ttl("session", "s1") is None


@pytest.mark.integration
def test_json_helpers(cache: Cache) -> None:
    value = {"sub": "u1", "scope": ["openid"], "n": 1}
    cache.set_json("grant", "g1", value, 60)
    assert cache.get_json("grant", "g1") == value
    assert cache.add_json("grant", "g1", {}, 60) is False
    assert cache.take_json("grant", "g1") == value
    assert cache.take_json("grant", "g1") is None
    cache.set("grant", "g2", "{not json", 60)
    with pytest.raises(CacheUnavailable, match="not JSON"):
        cache.get_json("grant", "g2")


@pytest.mark.integration
def test_ttl_is_honoured(cache: Cache) -> None:
    cache.set("code", "short", "v", 1)
    cache.set("code", "long", "v", 60)
    assert cache.get("code", "short") == b"v"
    wait_until(lambda: cache.get("code", "short") is None, 5.0, "the 1 s key to expire")
    assert cache.get("code", "long") == b"v"


@pytest.mark.integration
def test_add_only_when_absent(cache: Cache) -> None:
    assert cache.add("jti", "j1", "1", 60) is True
    assert cache.add("jti", "j1", "2", 60) is False
    assert cache.get("jti", "j1") == b"1"
    assert 0 < (cache.ttl("jti", "j1") or 0) <= 60


@pytest.mark.integration
def test_namespaces_do_not_see_each_other(cluster: LocalCacheCluster) -> None:
    with (
        Cache(cluster.host, cluster.port, "tenant-a", password=cluster.password) as a,
        Cache(cluster.host, cluster.port, "tenant-b", password=cluster.password) as b,
    ):
        a.set("code", "same", "from-a", 60)
        assert b.get("code", "same") is None
        b.set("code", "same", "from-b", 60)
        assert a.get("code", "same") == b"from-a"
        # the stored key is the full name, on exactly one shard
        shard_of(cluster, "tenant-a:code:same")
        shard_of(cluster, "tenant-b:code:same")


@pytest.mark.integration
def test_incr_with_ttl_is_a_fixed_window(cache: Cache) -> None:
    assert [cache.incr_with_ttl("lockout", "u1", 60) for _ in range(3)] == [1, 2, 3]
    left = cache.ttl("lockout", "u1")
    assert left is not None and 0 < left <= 60
    assert cache.incr_with_ttl("lockout", "u2", 1) == 1
    wait_until(lambda: cache.get("lockout", "u2") is None, 5.0, "the counter window to end")
    assert cache.incr_with_ttl("lockout", "u2", 1) == 1


@pytest.mark.integration
def test_take_is_single_use_under_concurrency(cache: Cache, cluster: LocalCacheCluster) -> None:
    codes = [f"code{i}" for i in range(50)]
    for code in codes:
        cache.set("authz-code", code, f"grant-of-{code}", 60)
    won: Counter[str] = Counter()
    lock = threading.Lock()
    start = threading.Barrier(8)

    def worker() -> None:
        # each thread its own client: a separate connection pool, as another process
        with Cache(cluster.host, cluster.port, cache.namespace, password=cluster.password) as mine:
            start.wait()
            for code in codes:
                value = mine.take("authz-code", code)
                if value is not None:
                    assert value == f"grant-of-{code}".encode()
                    with lock:
                        won[code] += 1

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert won == Counter(dict.fromkeys(codes, 1))
    assert all(cache.get("authz-code", code) is None for code in codes)


@pytest.mark.integration
def test_keys_spread_over_three_shards(cache: Cache, cluster: LocalCacheCluster) -> None:
    for node in cluster.redis:
        direct(node).flushdb()
    for i in range(600):
        cache.set("spread", f"key-{i}", "v", 60)
    counts = {node.name: direct(node).dbsize() for node in cluster.redis}
    assert sum(counts.values()) == 600
    assert all(n >= 100 for n in counts.values()), counts


# -- the handshake: nothing Twemproxy rejects -------------------------------------------------


def _monitor(node: LocalRedis, out: Path) -> subprocess.Popen[bytes]:
    with out.open("wb") as sink:
        return subprocess.Popen(
            ["redis-cli", "-h", "127.0.0.1", "-p", str(node.port), "--user", "oxadmin",
             "MONITOR"],
            env={**os.environ, "REDISCLI_AUTH": node.admin_password},  # never in argv
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def _wait_seen(client: redis.Redis[bytes], out: Path, marker: str) -> None:
    def seen() -> bool:
        client.echo(marker)
        return marker in out.read_text(errors="replace")

    wait_until(seen, 10.0, f"MONITOR to show {marker}", interval=0.1)


@pytest.mark.integration
def test_no_command_twemproxy_rejects_is_sent(
    fresh_cluster: LocalCacheCluster, tmp_path: Path
) -> None:
    cluster = fresh_cluster
    monitors = []
    try:
        for node in cluster.redis:
            out = tmp_path / f"{node.name}.monitor"
            monitors.append((node, out, _monitor(node, out)))
        for node, out, _ in monitors:
            _wait_seen(direct(node), out, "monitor-ready")
        # retries=0: had the handshake sent anything Twemproxy rejects, it would have
        # closed the connection and this first command would fail.
        with Cache(cluster.host, cluster.port, "hs", retries=0, password=cluster.password) as cache:
            for i in range(30):
                cache.set("code", str(i), "v", 60)
                assert cache.get("code", str(i)) == b"v"
                assert cache.take("code", str(i)) == b"v"
                cache.incr_with_ttl("lockout", str(i), 60)
                cache.add("jti", str(i), "v", 60)
                cache.ttl("jti", str(i))
                cache.delete("jti", str(i))
            cache.ping()
        for node, out, _ in monitors:
            _wait_seen(direct(node), out, "monitor-done")
    finally:
        for _, _, proc in monitors:
            proc.terminate()
            proc.wait(timeout=5)
    seen: set[str] = set()
    for _, out, _ in monitors:
        for line in out.read_text(errors="replace").splitlines():
            if '] "' in line:
                seen.add(line.split('] "', 1)[1].split('"', 1)[0].upper())
    # AUTH: Twemproxy's own, once per server connection (redis_auth)
    allowed = {"SET", "GET", "DEL", "TTL", "EVALSHA", "EVAL", "INCR", "EXPIRE"}
    assert seen - {"ECHO", "AUTH"} <= allowed
    assert {"SET", "GET", "DEL", "EVALSHA"} <= seen
    # Twemproxy's own count of client errors (stats refresh every second)
    time.sleep(1.2)
    assert cluster.twemproxy.stats()[cluster.pool.name]["client_err"] == 0


@pytest.mark.integration
def test_default_redis_py_handshake_is_rejected(cluster: LocalCacheCluster) -> None:
    """The control for the test above: what Twemproxy does to redis-py's defaults."""
    client: redis.Redis[bytes] = redis.Redis(
        host=cluster.host, port=cluster.port, socket_timeout=2, retry=None,
        password=cluster.password,
    )
    try:
        with pytest.raises(redis.ConnectionError):
            client.get("x")
    finally:
        client.close()
