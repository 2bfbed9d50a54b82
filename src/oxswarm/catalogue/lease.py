"""One lease, kept alive from a thread of its own: the registrator's hold on its records.

Every record a registrator writes is attached to this lease. The heartbeat renews it every
``ttl / 4`` seconds (etcd's LeaseKeepAlive, https://etcd.io/docs/v3.4/learning/api/#lease-api)
whatever the registrator's rounds are waiting for, so a slow probe, a slow Docker call or a
store write stuck on a name lookup cannot let the node's records expire while its
registrator lives. Two ways the records still go, both on purpose:

* the process dies or its node is cut off: nobody renews, the lease expires after ``ttl``;
* the owner stops calling :meth:`LeaseKeeper.alive` for ``stall`` seconds (its rounds are
  stuck, its records would be stale): the heartbeat lets the lease expire.

A lease found expired (renewal answered TTL 0: the store was unreachable longer than
``ttl``) is replaced by a new one at the next :meth:`LeaseKeeper.current`; the owner sees
a new lease ID and writes its records again.
"""

from __future__ import annotations

import logging
import threading
import time

from oxswarm.config.store import KVStore
from oxswarm.errors import OxSwarmError

log = logging.getLogger(__name__)

MIN_STALL = 30.0


class LeaseKeeper:
    """The lease of one owner in ``store``: granted on first use, renewed by a thread."""

    def __init__(self, store: KVStore, ttl: int, *, stall: float | None = None,
                 name: str = "lease") -> None:  # fmt: skip
        self.store = store
        self.ttl = ttl
        self.stall = max(MIN_STALL, 3.0 * ttl) if stall is None else stall
        self.name = name
        self._lease: int | None = None
        self._lost = False
        self._alive_at = time.monotonic()
        self._closing = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> LeaseKeeper:
        self._thread = threading.Thread(target=self._beat, name=f"{self.name}-heartbeat",
                                        daemon=True)  # fmt: skip
        self._thread.start()
        return self

    def current(self) -> int:
        """The lease to write with: granted now if there is none or it was lost."""
        if self._lease is None or self._lost:
            self._lease = self.store.grant_lease(self.ttl)
            self._lost = False
        return self._lease

    def lost(self) -> None:
        """The owner found the lease gone (a write refused it): the next :meth:`current`
        grants a new one."""
        self._lost = True

    def alive(self) -> None:
        """The owner's rounds go on: keep renewing (see ``stall``)."""
        self._alive_at = time.monotonic()

    def _beat(self) -> None:
        while not self._closing.wait(self.ttl / 4):
            lease = self._lease
            if lease is None or self._lost:
                continue
            stalled = time.monotonic() - self._alive_at
            if stalled > self.stall:
                log.error("%s: its owner made no progress for %.0fs; letting it expire",
                          self.name, stalled)  # fmt: skip
                self._lost = True  # the owner starts on a new lease when it resumes
                continue
            try:
                if self.store.keepalive(lease) <= 0 and lease == self._lease:
                    log.warning("%s: expired; its records are written again", self.name)
                    self._lost = True
            except OxSwarmError as exc:
                log.warning("%s: cannot renew it: %s", self.name, exc)

    def close(self, revoke: bool) -> None:
        """Stop renewing; with ``revoke``, end the lease now (its keys go with it)."""
        self._closing.set()
        if self._thread is not None:
            self._thread.join(timeout=2)
        lease, self._lease = self._lease, None
        if revoke and lease is not None:
            try:
                self.store.revoke_lease(lease)
            except OxSwarmError as exc:
                log.warning("%s: cannot revoke it now (it expires within %ss): %s", self.name,
                            self.ttl, exc)  # fmt: skip
