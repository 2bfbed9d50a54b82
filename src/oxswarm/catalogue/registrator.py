"""The registrator: keeps this node's healthy instances in the catalogue, and only those.

Gluu's multi-host design ran gliderlabs/registrator on every node, writing Docker's
running containers into Consul. Ours adds the health check and the lease:

* The registrator holds one lease (``ttl`` seconds, 10 by default) and attaches every
  record it writes to it; a heartbeat thread renews it
  (:class:`~oxswarm.catalogue.lease.LeaseKeeper`), so a round stuck on a slow call cannot
  let the node's records expire while the registrator is alive.
* Every ``interval`` seconds every instance is probed: a passing instance's record is
  written (once; then checked every ``ttl`` seconds and written again if gone), a failing
  probe deletes it at once: an unhealthy instance leaves the catalogue within one check
  interval. A ``stop``/``die`` event deletes it at once too. A delete the store refused
  is retried on every round until it succeeds.
* When the registrator dies (or its node is cut off), nobody renews the lease: its
  records vanish within ``ttl`` seconds. Rounds stalled for ``lease.stall`` seconds stop
  the renewals too (the records would be stale).
* A lease found expired (the store was unreachable longer than ``ttl``) is granted anew
  and every passing record written again.
* Every ``resync`` seconds the source's running instances are listed again and the
  tracked set reconciled with them: an event missed (a container started between the
  first listing and the event subscription, a stream that broke) costs at most that long.
* At start and on each resync, records of this ``node`` whose instance does not run
  are deleted: an instance that stopped while the node had no registrator (both updated
  at once) leaves at once instead of when the earlier registrator's lease expires.

The store being unavailable is logged and retried on the next round, never fatal.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Collection
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from oxswarm import metrics
from oxswarm.catalogue.health import HealthChecker, Probe
from oxswarm.catalogue.lease import LeaseKeeper
from oxswarm.catalogue.records import PASSING, Instance, catalogue_prefix, instance_key
from oxswarm.catalogue.source import EventSource, SourceEvent
from oxswarm.config.store import KVStore
from oxswarm.errors import InvalidInput, NotFound, OxSwarmError

log = logging.getLogger(__name__)

DEFAULT_TTL = 10
DEFAULT_INTERVAL = 1.0
DEFAULT_RESYNC = 15.0


@dataclass
class _Tracked:
    instance: Instance
    lease: int | None = None  # the lease its record was written with (None: not written)
    failing: str = ""  # why the last probe failed (logged once per change)
    verified: float = 0.0  # monotonic time the record was last seen in the store


class Registrator:
    """Registers the instances of ``source`` under ``<prefix>/catalogue/``.

    ``run(stop)`` loops until ``stop`` is set; ``step()`` is one round (tests drive it).
    """

    def __init__(
        self,
        store: KVStore,
        prefix: str,
        source: EventSource,
        checker: HealthChecker,
        *,
        ttl: int = DEFAULT_TTL,
        interval: float = DEFAULT_INTERVAL,
        clock: Callable[[], float] = time.time,
        workers: int = 8,
        resync: float = DEFAULT_RESYNC,
        node: str | None = None,
    ) -> None:
        if ttl < 2:
            raise InvalidInput(f"ttl: at least 2 seconds, not {ttl}", field="ttl")
        if not 0 < interval * 2 <= ttl:
            raise InvalidInput(
                f"interval: {interval:g}s must be positive and at most half the ttl ({ttl}s)",
                field="interval",
            )
        self.store = store
        self.prefix = prefix
        self.source = source
        self.checker = checker
        self.ttl = ttl
        self.interval = interval
        self._clock = clock
        self._tracked: dict[str, _Tracked] = {}
        self._counted: set[tuple[str, str]] = set()  # (service, health) series set
        self._events: list[SourceEvent] = []
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="health")
        self._reader: threading.Thread | None = None
        self.resync = resync
        self.node = node
        self._synced = time.monotonic()
        self.lease = LeaseKeeper(store, ttl, name="registrator lease")
        self._pending_deletes: set[str] = set()  # keys whose delete the store refused

    # -- events ----------------------------------------------------------------------

    def _read_events(self) -> None:
        try:
            for event in self.source.events():
                with self._lock:
                    self._events.append(event)
        except OxSwarmError as exc:
            log.error("registrator: event source failed: %s", exc)

    def start_events(self) -> None:
        """Read the instances running now, then follow the source's events in a thread."""
        running = self.source.running()
        for instance in running:
            self._track(instance)
        self._sweep_stale({i.id for i in running})
        self._reader = threading.Thread(target=self._read_events, name="events", daemon=True)
        self._reader.start()
        self.lease.start()

    def _track(self, instance: Instance) -> None:
        old = self._tracked.get(instance.id)
        if old is None:
            log.info("registrator: tracking %s %s at %s", instance.service, instance.id,
                     instance.endpoint)  # fmt: skip
            self._tracked[instance.id] = _Tracked(instance)
        elif not old.instance.same_as(instance):
            self._deregister(old, "changed")
            self._tracked[instance.id] = _Tracked(instance)

    def _apply_events(self) -> None:
        with self._lock:
            events, self._events = self._events, []
        for event in events:
            if event.action == "start" and event.instance is not None:
                self._track(event.instance)
            elif event.action == "stop":
                tracked = self._tracked.pop(event.instance_id, None)
                if tracked is not None:
                    self._deregister(tracked, "stopped")

    def _resync(self) -> None:
        """Reconcile the tracked instances with what the source says runs now."""
        self._synced = time.monotonic()
        try:
            current = {i.id: i for i in self.source.running()}
        except OxSwarmError as exc:
            log.warning("registrator: cannot list the running instances: %s", exc)
            return
        for instance in current.values():
            if instance.id not in self._tracked:
                log.warning("registrator: %s %s runs but no start event announced it",
                            instance.service, instance.id)  # fmt: skip
            self._track(instance)
        for gone in set(self._tracked) - current.keys():
            self._deregister(self._tracked.pop(gone), "no longer running")
        self._sweep_stale(current.keys())

    def _sweep_stale(self, running: Collection[str]) -> None:
        """Delete this node's records of instances that do not run (with ``node`` set).

        Written by an earlier registrator of the node: an instance that stopped while no
        registrator ran here (both updated at once) would otherwise stay in the
        catalogue until that registrator's lease expired.
        """
        if not self.node:
            return
        try:
            records = self.store.get_prefix(catalogue_prefix(self.prefix))
        except OxSwarmError as exc:
            log.warning("registrator: cannot read the catalogue: %s", exc)
            return
        for key, raw in records.items():
            try:
                found = Instance.from_json(raw, key)
            except InvalidInput:
                continue
            if found.node != self.node or found.id in running or found.id in self._tracked:
                continue
            log.info("registrator: removing %s %s (does not run on %s)", found.service,
                     found.id, self.node)  # fmt: skip
            self._delete(key)

    # -- the round -------------------------------------------------------------------

    def step(self) -> dict[str, bool]:
        """Apply pending events, probe every instance, update the store; id -> passing."""
        self._apply_events()
        self._retry_deletes()
        if time.monotonic() - self._synced >= self.resync:
            self._resync()
        tracked = list(self._tracked.values())
        probes = list(self._pool.map(lambda t: self.checker.check(t.instance.health_url), tracked))
        result: dict[str, bool] = {}
        for item, probe in zip(tracked, probes, strict=True):
            result[item.instance.id] = probe.ok
            try:
                if probe.ok:
                    self._keep(item)
                else:
                    self._fail(item, probe)
            except OxSwarmError as exc:
                log.warning("registrator: %s %s: %s", item.instance.service, item.instance.id,
                            exc)  # fmt: skip
        self.lease.alive()
        self._count(tracked, result)
        return result

    def _count(self, tracked: list[_Tracked], passing: dict[str, bool]) -> None:
        """This node's instances by service and health, for ``/metrics``."""
        counts: dict[tuple[str, str], int] = {}
        for item in tracked:
            health = "passing" if passing.get(item.instance.id) else "failing"
            key = (item.instance.service, health)
            counts[key] = counts.get(key, 0) + 1
        for service, health in self._counted - counts.keys():
            metrics.REGISTERED.labels(service, health).set(0)
        for (service, health), count in counts.items():
            metrics.REGISTERED.labels(service, health).set(count)
        self._counted = self._counted | counts.keys()

    def _keep(self, item: _Tracked) -> None:
        if item.failing:
            log.info("registrator: %s %s passes again", item.instance.service, item.instance.id)
            item.failing = ""
        lease = self.lease.current()
        if item.lease == lease:
            if time.monotonic() - item.verified < self.ttl or self._record_present(item):
                return
            log.warning("registrator: record of %s vanished; registering again",
                        item.instance.id)  # fmt: skip
        record = item.instance.model_copy(update={"status": PASSING, "updated": self._clock()})
        key = instance_key(self.prefix, record.service, record.id)
        self._pending_deletes.discard(key)
        try:
            self.store.put(key, record.to_json(), lease=lease)
        except NotFound:  # the lease expired since the last heartbeat
            self.lease.lost()
            lease = self.lease.current()
            self.store.put(key, record.to_json(), lease=lease)
        item.lease = lease
        item.verified = time.monotonic()
        log.info("registrator: registered %s %s at %s", record.service, record.id, record.endpoint)

    def _record_present(self, item: _Tracked) -> bool:
        """Every ``ttl`` seconds: is the record still there (a read; no watcher wakes)?

        A live lease does not prove its record: another writer of the same key (a second
        registrator of the node during an update) may have attached it to a lease of its
        own that then expired.
        """
        key = instance_key(self.prefix, item.instance.service, item.instance.id)
        if self.store.get(key) is None:
            return False
        item.verified = time.monotonic()
        return True

    def _fail(self, item: _Tracked, probe: Probe) -> None:
        if probe.detail != item.failing:
            log.warning("registrator: %s %s fails its check: %s", item.instance.service,
                        item.instance.id, probe.detail)  # fmt: skip
            item.failing = probe.detail or "failing"
        self._deregister(item, "unhealthy")

    def _deregister(self, item: _Tracked, why: str) -> None:
        if item.lease is None:
            return
        item.lease = None
        log.info("registrator: removing %s %s (%s)", item.instance.service, item.instance.id, why)
        self._delete(instance_key(self.prefix, item.instance.service, item.instance.id))

    def _delete(self, key: str) -> bool:
        """Delete a record; one the store refused is retried every round until gone."""
        try:
            self.store.delete(key)
        except OxSwarmError as exc:
            if key not in self._pending_deletes:
                log.warning("registrator: cannot remove %s now (retried next round): %s",
                            key, exc)  # fmt: skip
            self._pending_deletes.add(key)
            return False
        self._pending_deletes.discard(key)
        return True

    def _retry_deletes(self) -> None:
        for key in sorted(self._pending_deletes):
            if not self._delete(key):
                return

    # -- lifecycle -------------------------------------------------------------------

    def run(self, stop: threading.Event) -> None:
        """Follow events and probe every ``interval`` seconds until ``stop`` is set."""
        if self._reader is None:
            self.start_events()
        while not stop.is_set():
            began = time.monotonic()
            self.step()
            stop.wait(max(0.0, self.interval - (time.monotonic() - began)))

    def close(self, deregister: bool = True) -> None:
        """Stop following events and renewing the lease; with ``deregister``, remove this
        node's records now (the lease is revoked), else leave them to the lease."""
        self.source.close()
        self.lease.close(revoke=deregister)
        for item in self._tracked.values():
            item.lease = None
        self._pool.shutdown(wait=False, cancel_futures=True)
        if self._reader is not None:
            self._reader.join(timeout=2)
