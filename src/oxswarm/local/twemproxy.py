"""Twemproxy (``nutcracker``) as a local process, with its rendered pool config.

The config is checked with ``nutcracker --test-conf`` before start, so a bad config is a
clear :class:`DaemonError` rather than a process that dies. The stats port is a free
port too (nutcracker's default 22222 would collide with other engineers' runs).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from oxswarm.cache.render import render_twemproxy
from oxswarm.cache.spec import TwemproxyPool
from oxswarm.cache.stats import read_stats
from oxswarm.errors import CacheUnavailable, DaemonError
from oxswarm.local import process
from oxswarm.local.process import Daemon, free_port
from oxswarm.local.redis import port_taken


def check_config(conf_file: Path) -> None:
    """Run ``nutcracker -t``; :class:`DaemonError` with its message when it refuses."""
    process.check_config(["nutcracker", "--test-conf", "--conf-file", str(conf_file)],
                         "nutcracker --test-conf", conf_file, timeout=10)


@dataclass
class LocalTwemproxy:
    """``nutcracker`` serving ``pool`` with config, pid and log under ``workdir``."""

    pool: TwemproxyPool
    workdir: Path
    stats_port: int = 0
    pick_ports: bool = False
    daemon: Daemon = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if not self.stats_port:
            self.stats_port = free_port(self.pool.listen_host)
        self._make_daemon()

    def _make_daemon(self) -> None:
        self.daemon = Daemon(
            name="nutcracker",
            argv=[
                "nutcracker",
                "--conf-file",
                str(self.conf_file),
                "--stats-addr",
                self.pool.listen_host,
                "--stats-port",
                str(self.stats_port),
                "--stats-interval",
                "1000",
                "--verbose",
                "5",
                "--output",
                str(self.workdir / "nutcracker.log"),
            ],
            workdir=self.workdir,
        )

    @property
    def conf_file(self) -> Path:
        return self.workdir / "nutcracker.yml"

    @property
    def host(self) -> str:
        return self.pool.listen_host

    @property
    def port(self) -> int:
        return self.pool.listen_port

    def start(self, timeout: float = 15.0) -> LocalTwemproxy:
        """Write and check the config, start, wait for the listen and stats ports.

        With ``pick_ports``, a port taken meanwhile by another process (parallel test
        runs) is replaced by a fresh one, at most twice.
        """
        for attempt in range(3):
            self.write_conf()
            check_config(self.conf_file)
            self.daemon.start()
            try:
                self.daemon.wait_tcp(self.host, self.port, timeout)
                self.daemon.wait_tcp(self.host, self.stats_port, timeout)
                try:
                    self.stats()  # a round trip: a nutcracker that lost a port has exited
                except CacheUnavailable as exc:
                    raise DaemonError(f"{exc}: {self.daemon.tail()}") from exc
                if not self.daemon.running():
                    raise DaemonError(f"nutcracker exited during start: {self.daemon.tail()}")
                return self
            except DaemonError as exc:
                if not (self.pick_ports and port_taken(exc)) or attempt == 2:
                    raise
                self.daemon.stop()
                self.pool = self.pool.model_copy(update={"listen_port": free_port(self.host)})
                self.stats_port = free_port(self.host)
                self._make_daemon()
        raise AssertionError("unreachable")  # pragma: no cover

    def write_conf(self) -> None:
        """The rendered pool, 0600 (it holds ``redis_auth``)."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.conf_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(render_twemproxy(self.pool))

    def stats(self) -> dict[str, Any]:
        """The stats document (refreshed every second by nutcracker)."""
        return read_stats(self.host, self.stats_port)

    def running(self) -> bool:
        return self.daemon.running()

    def stop(self) -> None:
        self.daemon.stop()
