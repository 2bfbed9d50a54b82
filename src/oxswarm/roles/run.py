"""Running the daemon at the end of a role: ``exec`` it, or supervise it (restart/reload)."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Sequence

log = logging.getLogger("oxswarm.roles")
ALL_INTERFACES = "0.0.0.0"  # noqa: S104  (a container listens on its overlay address)


def setup_logging(role: str) -> None:
    node = os.environ.get("OXSWARM_NODE", "?")
    # force: the CLI root already configured WARNING; a role's INFO lines (what it waits
    # for, when it is ready) are its container's log
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, force=True,
                        format=f"%(asctime)s {role}@{node} %(levelname)s %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per store request


def clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("ETCD_")}


def exec_daemon(argv: Sequence[str]) -> None:
    """Replace this process with the daemon (it becomes the container's main process)."""
    log.info("exec %s", argv[0])
    sys.stdout.flush()
    sys.stderr.flush()
    os.execvpe(argv[0], list(argv), clean_env())  # noqa: S606


class Child:
    """A daemon run as a child, so that the role can reload or restart it."""

    def __init__(self, argv: Sequence[str], *, graceful: signal.Signals | None = None) -> None:
        """``graceful``: the signal the daemon gets for SIGTERM (NGINX: SIGQUIT, its
        graceful shutdown; its SIGTERM drops the requests in flight)."""
        self.argv = list(argv)
        self.proc: subprocess.Popen[bytes] | None = None
        self.stop = threading.Event()
        self.graceful = graceful
        signal.signal(signal.SIGTERM, self._on_term)
        signal.signal(signal.SIGINT, self._on_term)

    def _on_term(self, signum: int, _frame: object) -> None:
        self.stop.set()
        if self.proc and self.proc.poll() is None:
            graceful = self.graceful if signum == signal.SIGTERM else None
            self.proc.send_signal(graceful or signum)

    def start(self) -> None:
        log.info("start %s", " ".join(self.argv[:3]))
        self.proc = subprocess.Popen(self.argv, env=clean_env())

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def restart(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.start()

    def exit_code(self) -> int:
        if self.proc is None:
            return 1
        return self.proc.wait()
