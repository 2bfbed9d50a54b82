"""Start, watch and stop a daemon as a local process.

Every launcher in :mod:`oxswarm.local` builds on :class:`Daemon`: it writes a pid file
and a log file under its own folder, so that another process (``oxswarm dev down``) can
stop what this one started, and a test's teardown can always clean up.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from oxswarm.errors import DaemonError

log = logging.getLogger(__name__)


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that is free on ``host`` right now (the kernel picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def tcp_open(host: str, port: int, timeout: float = 0.2) -> bool:
    """True when something accepts TCP connections on ``host:port``."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def pid_alive(pid: int) -> bool:
    """True when ``pid`` runs and is not a zombie (PID 1 here reaps orphans slowly)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def check_config(argv: list[str], what: str, conf_file: Path, timeout: float = 20) -> None:
    """Run a daemon's configuration test ``argv``; :class:`DaemonError` with the last lines
    of its own message when it refuses ``conf_file``, or when it cannot run."""
    try:
        result = subprocess.run(argv, capture_output=True, text=True, timeout=timeout,
                                check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise DaemonError(f"cannot run {what}: {exc}") from exc
    if result.returncode != 0:
        message = " | ".join((result.stderr + result.stdout).strip().splitlines()[-5:])
        raise DaemonError(f"{argv[0]} rejects {conf_file}: {message}")


def wait_until(
    check: Callable[[], bool], timeout: float, what: str, interval: float = 0.05
) -> None:
    """Poll ``check`` until it is true; raise :class:`DaemonError` naming ``what``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(interval)
    raise DaemonError(f"timed out after {timeout:.0f}s waiting for {what}")


@dataclass
class Daemon:
    """One daemon process with its pid file and log under ``workdir``."""

    name: str
    argv: Sequence[str]
    workdir: Path
    env: dict[str, str] = field(default_factory=dict)
    stop_signal: int = signal.SIGTERM
    netns: str | None = None
    proc: subprocess.Popen[bytes] | None = field(default=None, init=False, repr=False)

    @property
    def pid_file(self) -> Path:
        return self.workdir / f"{self.name}.pid"

    @property
    def log_file(self) -> Path:
        return self.workdir / f"{self.name}.log"

    @property
    def pid(self) -> int | None:
        if self.proc is not None:
            return self.proc.pid
        try:
            return int(self.pid_file.read_text().strip())
        except (OSError, ValueError):
            return None

    def start(self) -> Daemon:
        """Start the process in a new session, output to its log file."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        argv = list(self.argv)
        if self.netns:
            argv = ["ip", "netns", "exec", self.netns, *argv]
        env = {k: v for k, v in os.environ.items() if not k.startswith("ETCD_")}
        env.update(self.env)
        log.debug("starting %s: %s", self.name, " ".join(argv))
        with self.log_file.open("ab") as out:
            try:
                self.proc = subprocess.Popen(
                    argv,
                    stdin=subprocess.DEVNULL,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    cwd=self.workdir,
                    env=env,
                    start_new_session=True,
                )
            except OSError as exc:
                raise DaemonError(f"cannot start {self.name}: {exc}") from exc
        self.pid_file.write_text(f"{self.proc.pid}\n")
        return self

    def running(self) -> bool:
        if self.proc is not None:
            return self.proc.poll() is None
        pid = self.pid
        return pid is not None and pid_alive(pid)

    def wait_tcp(self, host: str, port: int, timeout: float = 20.0) -> None:
        """Wait until the daemon listens on ``host:port``; fail early if it died."""

        def ready() -> bool:
            if not self.running():
                raise DaemonError(f"{self.name} exited during start: {self.tail()}")
            return tcp_open(host, port)

        wait_until(ready, timeout, f"{self.name} on {host}:{port}")

    def tail(self, lines: int = 15) -> str:
        try:
            text = self.log_file.read_text(errors="replace")
        except OSError:
            return "(no log)"
        return " | ".join(text.strip().splitlines()[-lines:])

    def stop(self, sig: int | None = None, timeout: float = 10.0) -> None:
        """Signal the daemon's process group and wait for it to go; SIGKILL after timeout."""
        pid = self.pid
        if pid is None:
            return
        self._signal_group(pid, sig if sig is not None else self.stop_signal)
        try:
            wait_until(lambda: not self.running(), timeout, f"{self.name} to stop")
        except DaemonError:
            self._signal_group(pid, signal.SIGKILL)
            with contextlib.suppress(DaemonError):
                wait_until(lambda: not self.running(), 5.0, f"{self.name} to die")
        if self.proc is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout=1)
        self.pid_file.unlink(missing_ok=True)

    def kill(self) -> None:
        """Simulate a crash: SIGKILL, no clean shutdown."""
        self.stop(signal.SIGKILL)

    @staticmethod
    def _signal_group(pid: int, sig: int) -> None:
        try:
            os.killpg(pid, sig)
        except (ProcessLookupError, PermissionError):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, sig)


def stop_on_signals() -> threading.Event:
    """An event set by SIGTERM or SIGINT: a long-running loop's clean way out."""
    stop = threading.Event()

    def on_signal(signum: int, _frame: object) -> None:
        del signum
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    return stop
