"""A Redis shard as a local process, with its rendered ``redis.conf`` in its own folder."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from oxswarm.cache.render import render_redis_conf
from oxswarm.cache.spec import RedisNode
from oxswarm.errors import DaemonError
from oxswarm.local.process import Daemon, free_port, wait_until

_READY = "Ready to accept connections"


def port_taken(exc: DaemonError) -> bool:
    """True when a daemon failed because its port was taken (by a parallel test run)."""
    return "Address already in use" in str(exc)


@dataclass
class LocalRedis:
    """``redis-server`` on ``host:port`` with config, pid and log under ``workdir``."""

    name: str
    workdir: Path
    host: str = "127.0.0.1"
    port: int = 0
    maxmemory_mb: int = 64
    daemon: Daemon = field(init=False, repr=False)
    _pick_port: bool = field(init=False, repr=False, default=False)

    def __post_init__(self) -> None:
        self._pick_port = not self.port
        if self._pick_port:
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

    def start(self, timeout: float = 15.0, *, may_move: bool = True) -> LocalRedis:
        """Write the config and start; returns once *this* Redis accepts connections.

        Ready means its own log says so (a port answering could be another process's).
        A port this object picked may be taken meanwhile by a parallel test run: then,
        when ``may_move``, it picks another, at most twice.
        """
        for attempt in range(3):
            self.workdir.mkdir(parents=True, exist_ok=True)
            self.conf_file.write_text(render_redis_conf(self.node))
            seen = self._ready_lines()
            self.daemon.start()
            try:
                self.daemon.wait_tcp(self.host, self.port, timeout)
                self._wait_ready(seen, timeout)
                return self
            except DaemonError as exc:
                if not (self._pick_port and may_move and port_taken(exc)) or attempt == 2:
                    raise
                self.port = free_port(self.host)
        raise AssertionError("unreachable")  # pragma: no cover

    def _wait_ready(self, seen: int, timeout: float) -> None:
        def done() -> bool:
            return self._ready_lines() > seen or not self.daemon.running()

        wait_until(done, timeout, f"{self.name} to log {_READY!r}")
        if self._ready_lines() <= seen:
            raise DaemonError(f"{self.name} exited during start: {self.daemon.tail()}")

    def _ready_lines(self) -> int:
        try:
            return self.daemon.log_file.read_text(errors="replace").count(_READY)
        except OSError:
            return 0

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
        return self.start(timeout, may_move=False)
