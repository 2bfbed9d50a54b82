"""A Redis shard as a local process, with its rendered ``redis.conf`` in its own folder."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import redis
from pydantic import SecretStr

from oxswarm.cache.client import handshake_free
from oxswarm.cache.render import render_redis_conf
from oxswarm.cache.spec import ADMIN_USER, RedisNode
from oxswarm.crypto import rand
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
    passwords: tuple[str, ...] = field(default=(), repr=False)
    daemon: Daemon = field(init=False, repr=False)
    admin_password: str = field(init=False, repr=False, default="")
    _pick_port: bool = field(init=False, repr=False, default=False)

    def __post_init__(self) -> None:
        self.passwords = self.passwords or (rand.token(24),)
        self.admin_password = rand.token(24)
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
            bind=(self.host,), port=self.port, dir=self.workdir, maxmemory_mb=self.maxmemory_mb,
            passwords=tuple(SecretStr(p) for p in self.passwords),
            admin_password=SecretStr(self.admin_password),
        )  # fmt: skip

    def admin(self) -> redis.Redis[bytes]:
        """A client straight to this shard as ``oxadmin`` (every command; close it)."""
        pool = redis.ConnectionPool(
            host=self.host, port=self.port, username=ADMIN_USER, password=self.admin_password,
            protocol=2, socket_timeout=2, **handshake_free(),
        )  # fmt: skip
        return redis.Redis.from_pool(pool)  # type: ignore[attr-defined,no-any-return]

    def set_passwords(self, passwords: tuple[str, ...]) -> None:
        """Change the ``default`` user's passwords live (ACL SETUSER), and the config file
        with them (a restart keeps them). Connections already authenticated stay open."""
        rules = ["resetpass", *(f">{p}" for p in passwords)]
        client = self.admin()
        try:
            client.execute_command("ACL", "SETUSER", "default", *rules)
        finally:
            client.close()
        self.passwords = passwords
        self._write_conf()

    def _write_conf(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.conf_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(render_redis_conf(self.node))

    def start(self, timeout: float = 15.0, *, may_move: bool = True) -> LocalRedis:
        """Write the config and start; returns once *this* Redis accepts connections.

        Ready means its own log says so (a port answering could be another process's).
        A port this object picked may be taken meanwhile by a parallel test run: then,
        when ``may_move``, it picks another, at most twice.
        """
        for attempt in range(3):
            self._write_conf()
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
