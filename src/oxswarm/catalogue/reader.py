"""Reading the catalogue: healthy instances per service, and a watch of changes.

Consumers (the edge's NGINX reloader, ``oxswarm status``) read here what consul-template
read from Consul. A watch yields a fresh snapshot whenever the catalogue changed; it
re-reads the whole prefix on each change and also every ``resync`` seconds, so a change
missed between the first read and the opening of the watch (or while the store was
unreachable) still arrives.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Mapping

from oxswarm.catalogue.records import (
    PASSING,
    Instance,
    catalogue_prefix,
    check_name,
)
from oxswarm.config.store import KVStore
from oxswarm.errors import InvalidInput, StoreUnavailable

log = logging.getLogger(__name__)

Snapshot = Mapping[str, tuple[Instance, ...]]


def _sort_key(instance: Instance) -> tuple[str, str]:
    return (instance.node, instance.id)


def same_snapshot(a: Snapshot, b: Snapshot) -> bool:
    """Equal service by service, ignoring the records' ``updated`` stamps."""
    if a.keys() != b.keys():
        return False
    return all(
        len(a[s]) == len(b[s]) and all(x.same_as(y) for x, y in zip(a[s], b[s], strict=True))
        for s in a
    )


class Catalogue:
    """Read-only view of ``<prefix>/catalogue/`` in ``store``."""

    def __init__(self, store: KVStore, prefix: str) -> None:
        self.store = store
        self.prefix = prefix
        self.root = catalogue_prefix(prefix)

    def snapshot(self) -> dict[str, tuple[Instance, ...]]:
        """Every passing instance, per service (sorted by node, then id)."""
        found: dict[str, list[Instance]] = {}
        for key, raw in self.store.get_prefix(self.root).items():
            try:
                instance = Instance.from_json(raw, key)
            except InvalidInput as exc:
                log.warning("catalogue: ignoring malformed record %s: %s", key, exc)
                continue
            if instance.status == PASSING:
                found.setdefault(instance.service, []).append(instance)
        return {s: tuple(sorted(found[s], key=_sort_key)) for s in sorted(found)}

    def healthy(self, service: str) -> list[Instance]:
        """The passing instances of ``service`` (empty when it has none)."""
        check_name(service, "service")
        return list(self.snapshot().get(service, ()))

    def services(self) -> list[str]:
        return list(self.snapshot())

    def watch_all(
        self, *, resync: float = 5.0, timeout: float | None = None, retry: float = 1.0
    ) -> Iterator[dict[str, tuple[Instance, ...]]]:
        """Yield the first snapshot at once, then each different one, for ``timeout`` s.

        A store outage is logged and retried every ``retry`` seconds; nothing is yielded
        meanwhile (the consumer keeps what it has).
        """
        end = None if timeout is None else time.monotonic() + timeout
        last: dict[str, tuple[Instance, ...]] | None = None
        while end is None or time.monotonic() < end:
            try:
                current = self.snapshot()
                if last is None or not same_snapshot(last, current):
                    last = current
                    yield current
                self._wait_for_change(resync, end)
            except StoreUnavailable as exc:
                log.warning("catalogue: %s", exc)
                time.sleep(retry if end is None else max(0.0, min(retry, end - time.monotonic())))

    def _wait_for_change(self, resync: float, end: float | None) -> None:
        """Return at the first change under the catalogue, or after ``resync`` seconds."""
        slice_ = resync if end is None else max(0.0, min(resync, end - time.monotonic()))
        for _event in self.store.watch_prefix(self.root, timeout=slice_):
            return

    def watch(
        self, service: str, *, resync: float = 5.0, timeout: float | None = None
    ) -> Iterator[list[Instance]]:
        """Like :meth:`watch_all`, for the passing instances of one service."""
        check_name(service, "service")
        last: tuple[Instance, ...] | None = None
        for snap in self.watch_all(resync=resync, timeout=timeout):
            current = snap.get(service, ())
            if last is None or not same_snapshot({service: last}, {service: current}):
                last = current
                yield list(current)
