"""Keep something in a running process equal to values in the config store.

:class:`StoreWatcher` runs ``reload`` (True when it applied new values) whenever
``watch`` (a prefix watch on the store from a revision, yielding events until its timeout)
reports a change, and at least every ``refresh`` seconds in case a watch was missed (a
compaction, a reconnection). Each watch starts at the revision after the last event seen,
so a change written while ``reload`` ran (several values written one after the other) is
seen by the next watch, not at the next refresh. A failing reload or watch is logged and
retried after ``retry`` seconds (then from the store's present, after a reload): the
process keeps what it had.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any, Self

from oxswarm.errors import OxSwarmError, SecretError, Unavailable

log = logging.getLogger(__name__)


class StoreWatcher:
    """A daemon thread calling ``reload`` on every change under a watched prefix."""

    def __init__(
        self,
        reload: Callable[[], bool],
        watch: Callable[[float, int | None], Iterable[Any]],
        *,
        name: str,
        refresh: float = 60.0,
        retry: float = 2.0,
        errors: tuple[type[Exception], ...] = (),
    ) -> None:
        self._reload = reload
        self._watch = watch
        self._refresh = refresh
        self._retry = retry
        self._errors: tuple[type[Exception], ...] = (OxSwarmError, ValueError, *errors)
        self.name = name
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self.reloads = 0

    def start(self) -> Self:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()

    def reload(self) -> None:
        """Reload now; ``reloads`` counts those that changed something (``reload`` True)."""
        if self._reload():
            self.reloads += 1

    def _run(self) -> None:
        last = time.monotonic()
        start: int | None = None  # the revision the next watch starts at
        while not self._stop.is_set():
            try:
                changed = False
                for event in self._watch(5.0, start):
                    changed = True
                    revision = getattr(event, "revision", None)
                    start = revision + 1 if isinstance(revision, int) and revision else None
                    break
                if changed or time.monotonic() - last >= self._refresh:
                    self.reload()
                    last = time.monotonic()
            except Exception as exc:
                if self._stop.is_set():  # stopped, its store closed under a watch: done
                    return
                if not isinstance(exc, self._errors):
                    raise
                level = logging.ERROR if isinstance(exc, Unavailable | SecretError) else \
                    logging.WARNING
                log.log(level, "%s: watch failed, retrying: %s", self.name, exc)
                start = None  # e.g. a compacted revision: watch from now, after a reload
                last = 0.0
                self._stop.wait(self._retry)
