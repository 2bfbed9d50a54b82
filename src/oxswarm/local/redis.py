"""A Redis shard as a local process, with its rendered ``redis.conf`` in its own folder."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from oxswarm.cache.render import render_redis_conf
from oxswarm.cache.spec import RedisNode
from oxswarm.local.process import Daemon, free_port


@dataclass
class LocalRedis:
    """``redis-server`` on ``host:port`` with config, pid and log under ``workdir``."""

    name: str
    workdir: Path
    host: str = "127.0.0.1"
    port: int = 0
    maxmemory_mb: int = 64
    daemon: Daemon = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if not self.port:
            self.port = free_port(self.host)
        self.daemon = Daemon(
            name="redis", argv=["redis-server", str(self.conf_file)], workdir=self.workdir
        )

    @property
    def conf_file(self) -> Path:
        return self.workdir / "redis.conf"

    @property
    def node(self) -> RedisNode:
        return RedisNode(
            bind=(self.host,), port=self.port, dir=self.workdir, maxmemory_mb=self.maxmemory_mb
        )

    def start(self, timeout: float = 15.0) -> LocalRedis:
        """Write the config and start; returns once Redis accepts connections."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.conf_file.write_text(render_redis_conf(self.node))
        self.daemon.start()
        self.daemon.wait_tcp(self.host, self.port, timeout)
        return self

    def running(self) -> bool:
        return self.daemon.running()

    def stop(self) -> None:
        self.daemon.stop()

    def kill(self) -> None:
        """Crash it (SIGKILL): with no persistence, its keys are gone."""
        self.daemon.kill()

    def restart(self, timeout: float = 15.0) -> LocalRedis:
        """Start again on the same port (empty, as after a crash)."""
        if self.daemon.running():
            self.daemon.stop()
        return self.start(timeout)
