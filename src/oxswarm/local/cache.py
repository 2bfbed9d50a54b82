"""A local cache tier: N Redis shards behind one Twemproxy, for ``oxswarm dev`` and tests.

Use as a context manager so every process is stopped::

    with LocalCacheCluster(tmp_path, shards=3) as cluster:
        cache = Cache(cluster.host, cluster.port, namespace="test", password=cluster.password)

Every shard and the proxy require ``password`` (drawn when not given);
:meth:`LocalCacheCluster.rotate_password` changes it the way the cluster does, without
refusing a client that knows both passwords.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from types import TracebackType

from pydantic import SecretStr

from oxswarm.cache.ring import Ring
from oxswarm.cache.spec import Shard, TwemproxyPool
from oxswarm.crypto import rand
from oxswarm.errors import DaemonError
from oxswarm.local.process import free_port
from oxswarm.local.redis import LocalRedis
from oxswarm.local.twemproxy import LocalTwemproxy


class LocalCacheCluster:
    """``shards`` Redis servers (named ``r1``..``rN``) and one Twemproxy in front."""

    def __init__(
        self,
        workdir: Path,
        shards: int = 3,
        *,
        host: str = "127.0.0.1",
        pool_name: str = "oxswarm",
        server_retry_timeout_ms: int = 2000,
        server_failure_limit: int = 2,
        password: str | None = None,
    ) -> None:
        if shards < 1:
            raise DaemonError("a cache cluster needs at least one shard")
        self.workdir = workdir
        self.password = password or rand.token(24)
        self.redis = [
            LocalRedis(name=f"r{i}", workdir=workdir / f"r{i}", host=host,
                       passwords=(self.password,))
            for i in range(1, shards + 1)
        ]  # fmt: skip
        self._pool_settings = {
            "name": pool_name,
            "listen_host": host,
            "server_retry_timeout_ms": server_retry_timeout_ms,
            "server_failure_limit": server_failure_limit,
        }
        self.twemproxy = LocalTwemproxy(self._make_pool(), workdir / "twemproxy", pick_ports=True)

    def _make_pool(self) -> TwemproxyPool:
        return TwemproxyPool.model_validate(
            {
                **self._pool_settings,
                "listen_port": free_port(self.redis[0].host),
                "redis_auth": SecretStr(self.password),
                "shards": tuple(Shard(name=r.name, host=r.host, port=r.port) for r in self.redis),
            }
        )

    @property
    def pool(self) -> TwemproxyPool:
        """The pool Twemproxy serves (its ports are final once started)."""
        return self.twemproxy.pool

    @property
    def ring(self) -> Ring:
        """Where Twemproxy places keys: give it to a client to keep a replica of each entry."""
        return Ring.of(self.pool)

    @property
    def host(self) -> str:
        return self.twemproxy.host

    @property
    def port(self) -> int:
        return self.twemproxy.port

    def shard(self, name: str) -> LocalRedis:
        for node in self.redis:
            if node.name == name:
                return node
        raise KeyError(name)

    def start(self) -> LocalCacheCluster:
        """Start every shard, then Twemproxy (preconnect needs the shards up)."""
        try:
            for node in self.redis:
                node.start()
            # a shard may have moved to another port while starting
            self.twemproxy.pool = self._make_pool()
            self.twemproxy.start()
        except BaseException:
            self.stop()
            raise
        return self

    def rotate_password(self, new: str) -> None:
        """Change the cache's password without refusing a client that knows both.

        The cluster's order (``docs/cache.md``): every shard accepts old and new; the
        proxy restarts with the new one (clients re-authenticate with their next
        candidate); every shard drops the old one.
        """
        old = self.password
        for node in self.redis:
            node.set_passwords((old, new))
        self.restart_proxy(new)
        for node in self.redis:
            node.set_passwords((new,))

    def restart_proxy(self, password: str) -> None:
        """Restart Twemproxy (same ports) with ``password`` as its ``redis_auth``."""
        self.password = password
        self.twemproxy.stop()
        self.twemproxy.pool = self.twemproxy.pool.model_copy(
            update={"redis_auth": SecretStr(password)}
        )
        self.twemproxy.start()

    def stop(self) -> None:
        """Stop Twemproxy and every shard; never raises for one that is already gone."""
        daemons: list[LocalTwemproxy | LocalRedis] = [self.twemproxy, *self.redis]
        for daemon in daemons:
            with contextlib.suppress(DaemonError):
                daemon.stop()

    def __enter__(self) -> LocalCacheCluster:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
