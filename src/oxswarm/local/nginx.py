"""NGINX as a process of ours: config test, start in the foreground, reload by SIGHUP.

The rendered configs (:mod:`oxswarm.edge.render`, :mod:`oxswarm.edge.lb`) say
``daemon off`` and keep pid, temp and log files under ``workdir``; this launcher makes
those folders, checks a config with ``nginx -t`` before it is used (``-t`` binds the
listen addresses: run it where NGINX runs, inside the same namespace, lab.md), and
signals the master process: SIGHUP reloads (new workers on the new config, old ones
finish their requests), SIGQUIT stops gracefully
(https://nginx.org/en/docs/control.html). It serves the ``edge`` role in a container
as well as tests and ``oxswarm dev``.
"""

from __future__ import annotations

import os
import signal
from dataclasses import dataclass, field
from pathlib import Path

from oxswarm.edge.render import TEMP_DIRS
from oxswarm.errors import DaemonError
from oxswarm.local.process import Daemon, check_config

NGINX_BINARY = "nginx"


def prepare_workdir(workdir: Path) -> None:
    """Create the ``run``, ``logs`` and ``tmp/*`` folders the rendered config names."""
    for sub in ("run", "logs", *(f"tmp/{name}" for name in TEMP_DIRS)):
        (workdir / sub).mkdir(parents=True, exist_ok=True)


def test_config(conf_file: Path, workdir: Path, netns: str | None = None) -> None:
    """``nginx -t``; :class:`DaemonError` with NGINX's own message when it refuses."""
    prepare_workdir(workdir)
    argv = [NGINX_BINARY, "-t", "-q", "-c", str(conf_file), "-p", f"{workdir}/",
            "-e", str(workdir / "logs" / "test.log")]  # fmt: skip
    if netns:
        argv = ["ip", "netns", "exec", netns, *argv]
    check_config(argv, "nginx -t", conf_file)


@dataclass
class LocalNginx:
    """``nginx -c conf_file`` in the foreground, files under ``workdir``."""

    conf_file: Path
    workdir: Path
    netns: str | None = None
    daemon: Daemon = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.daemon = Daemon(
            name="nginx-master",
            argv=[
                NGINX_BINARY,
                "-c",
                str(self.conf_file),
                "-p",
                f"{self.workdir}/",
                "-e",
                str(self.workdir / "logs" / "error.log"),
            ],
            workdir=self.workdir,
            stop_signal=signal.SIGQUIT,
            netns=self.netns,
        )

    def test(self, conf_file: Path | None = None) -> None:
        """Check ``conf_file`` (default: the live one) with ``nginx -t``."""
        test_config(conf_file or self.conf_file, self.workdir, self.netns)

    def start(self, host: str, port: int, timeout: float = 15.0) -> LocalNginx:
        """Test the config, start, and wait until ``host:port`` accepts connections."""
        self.test()
        self.daemon.start()
        self.daemon.wait_tcp(host, port, timeout)
        return self

    @property
    def master_pid(self) -> int | None:
        """NGINX's own pid file (``-c`` runs the master in the foreground: our child)."""
        try:
            return int((self.workdir / "run" / "nginx.pid").read_text().strip())
        except (OSError, ValueError):
            return self.daemon.pid

    def reload(self) -> None:
        """SIGHUP the master: it re-reads the config; a bad one keeps the old workers."""
        pid = self.master_pid
        if pid is None or not self.daemon.running():
            raise DaemonError("nginx is not running: cannot reload")
        try:
            os.kill(pid, signal.SIGHUP)
        except ProcessLookupError as exc:
            raise DaemonError(f"nginx master {pid} is gone: cannot reload") from exc

    def running(self) -> bool:
        return self.daemon.running()

    def stop(self, timeout: float = 10.0) -> None:
        self.daemon.stop(timeout=timeout)

    def kill(self) -> None:
        self.daemon.kill()
