"""The registrator: keeps this node's healthy instances in the catalogue, and only those.

Gluu's multi-host design ran gliderlabs/registrator on every node, writing Docker's
running containers into Consul. Ours adds the health check and the lease:

* Each instance's record is attached to a lease of its own (``ttl`` seconds, 10 by
  default). Every ``interval`` seconds the instance is probed; a passing probe keeps the
  lease alive (https://etcd.io/docs/v3.4/learning/api/#lease-api, LeaseKeepAlive).
* A failing probe revokes the lease at once, which deletes the record: an unhealthy
  instance leaves the catalogue within one check interval.
* A ``stop``/``die`` event revokes it at once too.
* When the registrator itself dies (or its node is cut off), nobody keeps the leases
  alive: its records vanish within ``ttl`` seconds.
* A lease found expired (the store was unreachable longer than ``ttl``) is granted anew
  and the record written again.
* Every ``resync`` seconds the source's running instances are listed again and the
  tracked set reconciled with them: an event missed (a container started between the
  first listing and the event subscription, a stream that broke) costs at most that long.

The store being unavailable is logged and retried on the next round, never fatal.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from oxswarm.catalogue.health import HealthChecker, Probe
from oxswarm.catalogue.records import PASSING, Instance, instance_key
from oxswarm.catalogue.source import EventSource, SourceEvent
from oxswarm.config.store import KVStore
from oxswarm.errors import InvalidInput, OxSwarmError, StoreUnavailable

log = logging.getLogger(__name__)

DEFAULT_TTL = 10
DEFAULT_INTERVAL = 1.0
DEFAULT_RESYNC = 15.0


@dataclass
class _Tracked:
    instance: Instance
    lease: int | None = None
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
        self._events: list[SourceEvent] = []
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="health")
        self._reader: threading.Thread | None = None
        self.resync = resync
        self._synced = time.monotonic()

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
        for instance in self.source.running():
            self._track(instance)
        self._reader = threading.Thread(target=self._read_events, name="events", daemon=True)
        self._reader.start()

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

    # -- the round -------------------------------------------------------------------

    def step(self) -> dict[str, bool]:
        """Apply pending events, probe every instance, update the store; id -> passing."""
        self._apply_events()
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
            except StoreUnavailable as exc:
                log.warning("registrator: %s %s: %s", item.instance.service, item.instance.id,
                            exc)  # fmt: skip
        return result

    def _keep(self, item: _Tracked) -> None:
        if item.failing:
            log.info("registrator: %s %s passes again", item.instance.service, item.instance.id)
            item.failing = ""
        if item.lease is not None and self.store.keepalive(item.lease) > 0:
            if time.monotonic() - item.verified < self.ttl or self._record_present(item):
                return
            log.warning("registrator: record of %s vanished; registering again",
                        item.instance.id)  # fmt: skip
        if item.lease is not None:
            log.warning("registrator: lease of %s expired; registering again", item.instance.id)
        lease = self.store.grant_lease(self.ttl)
        record = item.instance.model_copy(update={"status": PASSING, "updated": self._clock()})
        key = instance_key(self.prefix, record.service, record.id)
        try:
            self.store.put(key, record.to_json(), lease=lease)
        except StoreUnavailable:
            with contextlib.suppress(OxSwarmError):
                self.store.revoke_lease(lease)
            raise
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
        lease, item.lease = item.lease, None
        if lease is None:
            return
        log.info("registrator: removing %s %s (%s)", item.instance.service, item.instance.id, why)
        try:
            self.store.revoke_lease(lease)  # deletes the record with it
        except OxSwarmError as exc:
            # Not kept alive any more: the record goes when the lease expires.
            log.warning("registrator: cannot revoke lease of %s now: %s", item.instance.id, exc)

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
        """Stop following events; with ``deregister``, remove this node's records now."""
        self.source.close()
        if deregister:
            for item in list(self._tracked.values()):
                self._deregister(item, "registrator stopping")
        self._pool.shutdown(wait=False, cancel_futures=True)
        if self._reader is not None:
            self._reader.join(timeout=2)
