"""Where the registrator learns which instances run on its node: an event source.

Registrator (gliderlabs/registrator) listened to Docker's event stream; ours reads any
:class:`EventSource`: :class:`~oxswarm.catalogue.docker_source.DockerSource` on a Swarm
node, :class:`StaticSource` for local processes (tests and ``oxswarm dev``), where the
caller declares each instance and announces its start and stop.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

from oxswarm.catalogue.records import Instance

Action = Literal["start", "stop"]

# Labels a container carries to be listed (as registrator's SERVICE_NAME / SERVICE_PORT /
# SERVICE_CHECK_HTTP): the service name, the port it serves on, and its health check.
LABEL_SERVICE = "oxswarm.service"
LABEL_PORT = "oxswarm.port"
LABEL_HEALTH = "oxswarm.health"
LABEL_TAGS = "oxswarm.tags"


@dataclass(frozen=True)
class SourceEvent:
    """An instance started (``instance`` set) or stopped/died (only ``instance_id``)."""

    action: Action
    instance_id: str
    instance: Instance | None = None


class EventSource(Protocol):
    """The instances of one node and the changes to them."""

    def running(self) -> list[Instance]:
        """The instances running now (read once at the registrator's start)."""
        ...

    def events(self) -> Iterator[SourceEvent]:
        """Block and yield changes until :meth:`close` is called."""
        ...

    def close(self) -> None: ...


class StaticSource:
    """:class:`EventSource` over instances the caller declares (local processes).

    ``start`` and ``stop`` announce changes, as Docker's ``start`` and ``die`` events
    would; ``events`` wakes every ``poll`` seconds to notice :meth:`close`.
    """

    def __init__(self, instances: Sequence[Instance] = (), poll: float = 0.2) -> None:
        self._lock = threading.Lock()
        self._running = {i.id: i for i in instances}
        self._queue: queue.Queue[SourceEvent] = queue.Queue()
        self._closed = threading.Event()
        self.poll = poll

    def running(self) -> list[Instance]:
        with self._lock:
            return list(self._running.values())

    def start(self, instance: Instance) -> None:
        with self._lock:
            self._running[instance.id] = instance
        self._queue.put(SourceEvent("start", instance.id, instance))

    def stop(self, instance_id: str) -> None:
        with self._lock:
            self._running.pop(instance_id, None)
        self._queue.put(SourceEvent("stop", instance_id))

    def events(self) -> Iterator[SourceEvent]:
        while not self._closed.is_set():
            try:
                yield self._queue.get(timeout=self.poll)
            except queue.Empty:
                continue

    def close(self) -> None:
        self._closed.set()
