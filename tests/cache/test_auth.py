"""The cache requires its password: Redis (ACL ``default`` user) and Twemproxy
(``redis_auth``), real processes; and the password rotates without a failed operation."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from pathlib import Path

import pytest
import redis

from oxswarm.cache.aio import AsyncCache
from oxswarm.cache.auth import Passwords
from oxswarm.cache.client import Cache, handshake_free
from oxswarm.errors import CacheUnavailable
from oxswarm.local.cache import LocalCacheCluster
from oxswarm.local.process import Daemon, free_port
from oxswarm.local.redis import LocalRedis
from oxswarm.roles.redis import admin_client, refusals

pytestmark = pytest.mark.integration


def _resp(command: bytes) -> bytes:
    words = command.split(b" ")
    return b"*%d\r\n" % len(words) + b"".join(b"$%d\r\n%s\r\n" % (len(w), w) for w in words)


def raw(host: str, port: int, *commands: bytes) -> bytes:
    """Send commands (RESP arrays) on a bare socket, no client library; the raw reply."""
    with socket.create_connection((host, port), timeout=2) as sock:
        sock.sendall(b"".join(_resp(c) for c in commands))
        time.sleep(0.2)
        return sock.recv(4096)


def test_without_the_password_every_command_is_refused(cluster: LocalCacheCluster) -> None:
    shard = cluster.redis[0]
    for host, port in ((shard.host, shard.port), (cluster.host, cluster.port)):
        reply = raw(host, port, b"SET k v", b"GET k")
        assert reply.startswith(b"-NOAUTH"), (port, reply)
        assert b"+OK" not in reply
    # a wrong password: refused by both, and the key was never written
    assert raw(cluster.host, cluster.port, b"AUTH wrong-password-123456").startswith(b"-ERR")
    assert raw(shard.host, shard.port, b"AUTH wrong-password-123456").startswith(b"-WRONGPASS")


def test_with_the_password_it_works(cluster: LocalCacheCluster) -> None:
    auth = f"AUTH {cluster.password}".encode()
    assert raw(cluster.host, cluster.port, auth, b"PING") == b"+OK\r\n+PONG\r\n"
    with Cache(cluster.host, cluster.port, "auth", password=cluster.password) as cache:
        cache.set("k", "1", "v", 60)
        assert cache.get("k", "1") == b"v"


def test_the_default_user_may_not_run_dangerous_commands(cluster: LocalCacheCluster) -> None:
    shard = cluster.redis[0]
    reply = raw(shard.host, shard.port, f"AUTH {cluster.password}".encode(), b"FLUSHALL",
                b"CONFIG GET requirepass", b"ACL LIST")
    assert reply.count(b"-NOPERM") == 3, reply


@pytest.mark.parametrize("password", [None, "wrong-password-123456"])
def test_our_clients_name_the_refusal_without_the_secret(
    cluster: LocalCacheCluster, password: str | None
) -> None:
    with (
        Cache(cluster.host, cluster.port, "auth", password=password, retries=0) as cache,
        pytest.raises(CacheUnavailable, match=r"cache at .* refused authentication") as info,
    ):
        cache.get("k", "1")
    assert "wrong-password" not in str(info.value)

    async def run() -> None:
        cache = AsyncCache(cluster.host, cluster.port, "auth", password=password)
        try:
            with pytest.raises(CacheUnavailable, match="refused authentication") as info:
                await cache.get("k", "1")
            assert "wrong-password" not in str(info.value)
        finally:
            await cache.close()

    asyncio.run(run())


def test_a_refused_candidate_moves_to_the_next() -> None:
    passwords = Passwords.fixed("old-password-0123456", "new-password-0123456")
    assert passwords.get_credentials() == ("old-password-0123456",)
    passwords.refused()
    assert passwords.get_credentials() == ("new-password-0123456",)
    passwords.refused()
    assert passwords.get_credentials() == ("old-password-0123456",)
    assert Passwords.fixed("").get_credentials() == ()


def test_rotation_without_a_failed_operation(tmp_path: Path) -> None:
    """A client in a loop (set, get) through the rotation: no operation fails, and after
    it only the new password works. The client's candidates follow a source (the store's
    ``redis_pw`` then ``redis_pw_next``, in the cluster)."""
    with LocalCacheCluster(tmp_path / "cache", shards=3) as cluster:
        old, new = cluster.password, "new-cache-password-0123456789"
        known = [old]
        # retries cover the proxy's restart (a fresh nutcracker listens within ~0.3 s)
        cache = Cache(cluster.host, cluster.port, "rot", passwords=lambda: tuple(known),
                      retries=8, backoff=0.05)
        done, failures, ops = threading.Event(), [], [0]

        def loop() -> None:
            i = 0
            while not done.is_set():
                try:
                    cache.set("k", str(i % 50), f"v{i}", 60)
                    assert cache.get("k", str(i % 50)) == f"v{i}".encode()
                    ops[0] += 1
                except (CacheUnavailable, AssertionError) as exc:
                    failures.append(repr(exc))
                i += 1

        thread = threading.Thread(target=loop)
        thread.start()
        try:
            time.sleep(0.5)
            known.append(new)  # 1. the store announces the next password
            cluster.rotate_password(new)  # 2-4. shards accept both, proxy rolls, old dropped
            time.sleep(0.5)
            known.remove(old)  # 5. the store's redis_pw is the new one
            time.sleep(0.5)
        finally:
            done.set()
            thread.join()
            cache.close()
        assert failures == []
        assert ops[0] > 100
        for shard in cluster.redis:
            reply = raw(shard.host, shard.port, f"AUTH {old}".encode())
            assert reply.startswith(b"-WRONGPASS")
            assert raw(shard.host, shard.port, f"AUTH {new}".encode()) == b"+OK\r\n"
        assert raw(cluster.host, cluster.port, f"AUTH {old}".encode()).startswith(b"-ERR")
        with Cache(cluster.host, cluster.port, "rot", password=new) as fresh:
            assert fresh.get("k", "1") is not None  # the data stayed
        # a restarted shard keeps the new password (its config file was rewritten)
        cluster.redis[0].restart()
        assert raw(cluster.redis[0].host, cluster.redis[0].port,
                   f"AUTH {new}".encode()) == b"+OK\r\n"


def test_config_files_holding_passwords_are_private(cluster: LocalCacheCluster) -> None:
    assert cluster.twemproxy.conf_file.stat().st_mode & 0o077 == 0
    for shard in cluster.redis:
        assert shard.conf_file.stat().st_mode & 0o077 == 0
        assert cluster.password not in " ".join(shard.daemon.argv)


def test_redis_py_without_password_control(cluster: LocalCacheCluster) -> None:
    """The control: plain redis-py with no password gets NOAUTH from the proxy."""
    pool = redis.ConnectionPool(host=cluster.host, port=cluster.port, protocol=2,
                                socket_timeout=2, **handshake_free())
    client: redis.Redis[bytes] = redis.Redis(connection_pool=pool)
    try:
        with pytest.raises(redis.AuthenticationError):
            client.execute_command("GET", "x")
    finally:
        client.close()


def test_refusals_are_logged_with_the_client_never_the_secret(tmp_path: Path) -> None:
    """What the redis role logs from Redis's ACL log (the role's own reader, real Redis)."""
    node = LocalRedis(name="r", workdir=tmp_path / "r").start()
    client = admin_client(node.admin_password, node.port)
    try:
        assert raw(node.host, node.port, b"AUTH typed-wrong-secret-12345").startswith(
            b"-WRONGPASS")
        lines = refusals(client)
        assert len(lines) == 1, lines
        assert "reason=auth" in lines[0] and "user=default" in lines[0]
        assert "from=127.0.0.1:" in lines[0]
        assert "typed-wrong" not in lines[0] and node.passwords[0] not in lines[0]
        assert refusals(client) == []  # each refusal is reported once
    finally:
        client.connection_pool.disconnect()
        node.stop()


def test_twemproxy_logs_no_refusal_and_no_secret_at_any_verbosity(tmp_path: Path) -> None:
    """Debian's nutcracker 0.5.0 is built without its debug log: at the highest
    verbosity (``-v 11``) it writes its two start lines and nothing about clients, so a
    refused AUTH leaves no trace in its log, and no password either (docs/security.md,
    the cache's "Refusals": what is logged instead)."""
    node = LocalRedis(name="r", workdir=tmp_path / "r").start()
    listen, stats = free_port(), free_port()
    conf = tmp_path / "nutcracker.yml"
    conf.touch(mode=0o600)
    conf.write_text(
        f"pool:\n  listen: 127.0.0.1:{listen}\n  hash: murmur\n  distribution: ketama\n"
        f"  redis: true\n  redis_auth: {node.passwords[0]}\n"
        f"  servers:\n    - 127.0.0.1:{node.port}:1 r\n")
    log_file = tmp_path / "nutcracker.log"
    proxy = Daemon("nutcracker", ["nutcracker", "-c", str(conf), "-v", "11", "-o",
                                  str(log_file), "-s", str(stats), "-a", "127.0.0.1"],
                   tmp_path)
    proxy.start()
    try:
        proxy.wait_tcp("127.0.0.1", listen, 10.0)
        refused = raw("127.0.0.1", listen, b"AUTH typed-wrong-secret-12345", b"GET k")
        assert refused == b"-ERR invalid password\r\n-NOAUTH Authentication required\r\n"
        right = raw("127.0.0.1", listen, b"AUTH " + node.passwords[0].encode(), b"GET k")
        assert right == b"+OK\r\n$-1\r\n"  # through to the shard with the right one
        time.sleep(0.3)
        text = log_file.read_text(errors="replace")
        assert "typed-wrong" not in text and node.passwords[0] not in text
        assert [line.split("] ", 1)[1].split(" ", 1)[0] for line in text.splitlines()] == [
            "nc.c:182", "nc.c:187"], text  # started, then nothing about any client
    finally:
        proxy.stop()
        node.stop()
