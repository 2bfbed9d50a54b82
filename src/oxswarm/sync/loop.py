"""Run ``csync2 -x`` promptly after a change in the shared folder, and every few seconds.

The original ran ``csync2 -x`` from cron every 2 minutes. Here a folder scan every
``poll`` seconds (stat of every entry: the shared folder holds a few dozen small files,
so polling costs little and needs no inotify in the container) triggers a sync at once;
a sync also runs every ``interval`` seconds regardless, which sends what a peer missed
while it was down and what changed between two scans.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from pathlib import Path
from typing import Protocol

from oxswarm import metrics
from oxswarm.errors import DaemonError

log = logging.getLogger(__name__)

FolderState = frozenset[tuple[str, int, int, int]]


def scan(folder: Path) -> FolderState:
    """(relative path, mtime ns, size, mode) of every entry under ``folder``."""
    found: set[tuple[str, int, int, int]] = set()
    for root, dirs, files in os.walk(folder):
        for name in [*dirs, *files]:
            path = os.path.join(root, name)
            try:
                st = os.lstat(path)
            except FileNotFoundError:
                continue
            found.add((os.path.relpath(path, folder), st.st_mtime_ns, st.st_size, st.st_mode))
    return frozenset(found)


class Syncer(Protocol):
    """What the loop drives (:class:`~oxswarm.sync.csync2.Csync2Node`)."""

    @property
    def folder(self) -> Path: ...

    def sync(self) -> bool: ...


class SyncLoop:
    """Scan every ``poll`` s; ``sync()`` on a change, and at least every ``interval`` s."""

    def __init__(self, node: Syncer, *, poll: float = 0.25, interval: float = 5.0) -> None:
        self.node = node
        self.poll = poll
        self.interval = interval
        self.syncs = 0
        self.failed = 0

    def _sync(self, why: str) -> None:
        began = time.monotonic()
        try:
            complete = self.node.sync()
        except DaemonError as exc:
            log.warning("csync2: sync (%s) failed: %s", why, exc)
            self.failed += 1
            metrics.SYNC_RUNS.labels("failed").inc()
            return
        result = "complete" if complete else "incomplete"
        metrics.SYNC_SECONDS.labels(result).observe(time.monotonic() - began)
        metrics.SYNC_RUNS.labels(result).inc()
        self.syncs += 1
        if not complete:
            self.failed += 1
            log.info("csync2: a peer missed the sync (%s); retried in %gs", why, self.interval)
        log.debug("csync2: sync (%s) took %.2fs", why, time.monotonic() - began)

    def run(self, stop: threading.Event) -> None:
        """Loop until ``stop`` is set."""
        state = scan(self.node.folder)
        self._sync("start")
        last = time.monotonic()
        while not stop.wait(self.poll):
            current = scan(self.node.folder)
            if current != state:
                state = current
                self._sync("change")
                state = scan(self.node.folder)  # what the sync itself received
                last = time.monotonic()
            elif time.monotonic() - last >= self.interval:
                self._sync("interval")
                state = scan(self.node.folder)
                last = time.monotonic()
