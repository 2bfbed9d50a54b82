"""The Docker event source: the containers of this node that carry ``oxswarm.service``.

What gliderlabs/registrator did for Gluu's Consul: list the labelled containers at start
(``GET /containers/json``), then follow ``GET /events`` for their ``start`` and
``die``/``stop``/``destroy`` (Docker Engine API, "System events"). A container is
listed with its address on the overlay network ``network`` (``gluu``; a stack-scoped
``<stack>_gluu`` matches too) and the labels:

* ``oxswarm.service``: the service name (``oxauth``, ``oxtrust`` ...);
* ``oxswarm.port``: the port it serves on (inside the container);
* ``oxswarm.health``: a path for an HTTP GET (``/oxauth/health``), ``tcp`` or a URL;
* ``oxswarm.tags``: optional, comma separated.

In a stack file these are the service's ``labels:`` (container labels), not
``deploy.labels`` (service labels, which containers do not carry).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from typing import Any

import docker
import docker.errors
import urllib3.exceptions
from docker.models.containers import Container

from oxswarm.catalogue.records import Instance, health_url
from oxswarm.catalogue.source import (
    LABEL_HEALTH,
    LABEL_PORT,
    LABEL_SERVICE,
    LABEL_TAGS,
    SourceEvent,
)
from oxswarm.errors import InvalidInput, Unavailable

log = logging.getLogger(__name__)

STOP_ACTIONS = frozenset({"die", "stop", "kill", "destroy"})
SINCE_SLACK = 2.0  # seconds of events replayed before a listing (clock granularity: 1 s)


def _network_address(attrs: dict[str, Any], network: str) -> str | None:
    networks = (attrs.get("NetworkSettings") or {}).get("Networks") or {}
    for name, info in networks.items():
        if name == network or name.endswith(f"_{network}"):
            address = (info or {}).get("IPAddress")
            if address:
                return str(address)
    return None


def instance_from_container(
    container_id: str, labels: dict[str, str], attrs: dict[str, Any], node: str, network: str
) -> Instance | None:
    """The catalogue instance for one container, or None (not labelled, no address yet)."""
    service = labels.get(LABEL_SERVICE)
    if not service:
        return None
    address = _network_address(attrs, network)
    if address is None:
        log.warning("docker source: %s (%s) has no address on %s", container_id[:12],
                    service, network)  # fmt: skip
        return None
    try:
        port = int(labels.get(LABEL_PORT, ""))
        tags = tuple(t.strip() for t in labels.get(LABEL_TAGS, "").split(",") if t.strip())
        return Instance(
            service=service,
            id=container_id[:12],
            node=node,
            address=address,
            port=port,
            health_url=health_url(address, port, labels.get(LABEL_HEALTH, "")),
            tags=tags,
        )
    except (ValueError, InvalidInput) as exc:
        log.warning("docker source: %s (%s) has bad oxswarm labels: %s", container_id[:12],
                    service, exc)  # fmt: skip
        return None


class DockerSource:
    """:class:`~oxswarm.catalogue.source.EventSource` on one Docker daemon.

    ``base_url`` is the daemon (``unix:///var/run/docker.sock``; None: the environment,
    ``docker.from_env()``); ``node`` names this node in the records (default: the
    daemon's host name, ``docker info`` ``Name``).
    """

    def __init__(
        self, base_url: str | None = None, *, node: str | None = None, network: str = "gluu"
    ) -> None:
        try:
            self.client = docker.DockerClient(base_url=base_url) if base_url else docker.from_env()
            self.node = node or str(self.client.info().get("Name", "unknown"))
        except docker.errors.DockerException as exc:
            raise Unavailable(
                f"docker: cannot reach the daemon ({base_url or 'env'}): {exc}"
            ) from exc
        self.network = network
        self._stream: Any = None
        self._closed = False
        self.reconnect_delay = 1.0

    def _instance(self, container: Container) -> Instance | None:
        return instance_from_container(
            str(container.id), dict(container.labels), container.attrs, self.node, self.network
        )

    def running(self) -> list[Instance]:
        try:
            containers = self.client.containers.list(filters={"label": LABEL_SERVICE})
        except docker.errors.DockerException as exc:
            raise Unavailable(f"docker: cannot list containers: {exc}") from exc
        return [i for c in containers if (i := self._instance(c)) is not None]

    def events(self) -> Iterator[SourceEvent]:
        """Follow the event stream; when it breaks (dockerd restarted), list the
        containers again, announce what changed meanwhile, and follow it anew.

        The stream starts from a moment before the listing (``since``): a container
        that starts between the two is announced by the replayed event, and the
        listing itself is announced too (a repeated start is harmless).
        """
        since = time.time() - SINCE_SLACK
        listed = self.running()
        known = {i.id for i in listed}
        for instance in listed:
            yield SourceEvent("start", instance.id, instance)
        while not self._closed:
            try:
                yield from self._follow(known, since)
            except (docker.errors.DockerException, OSError, urllib3.exceptions.HTTPError) as exc:
                if self._closed:
                    return
                log.warning("docker source: event stream broke (%s); reconnecting", exc)
            if self._closed:
                return
            time.sleep(self.reconnect_delay)
            since = time.time() - SINCE_SLACK
            try:
                current = {i.id: i for i in self.running()}
            except Unavailable as exc:
                log.warning("docker source: %s", exc)
                continue
            for gone in known - current.keys():
                yield SourceEvent("stop", gone)
            for instance in current.values():
                yield SourceEvent("start", instance.id, instance)
            known = set(current)

    def _follow(self, known: set[str], since: float) -> Iterator[SourceEvent]:
        filters = {"type": "container", "label": LABEL_SERVICE}
        self._stream = self.client.events(decode=True, filters=filters, since=int(since))
        for event in self._stream:
            action = str(event.get("Action") or event.get("status") or "")
            container_id = str(event.get("id") or event.get("Actor", {}).get("ID", ""))
            if action == "start":
                found = self._get(container_id)
                if found is not None:
                    known.add(found.id)
                    yield SourceEvent("start", found.id, found)
            elif action in STOP_ACTIONS:
                known.discard(container_id[:12])
                yield SourceEvent("stop", container_id[:12])

    def _get(self, container_id: str) -> Instance | None:
        try:
            return self._instance(self.client.containers.get(container_id))
        except docker.errors.NotFound:
            return None
        except docker.errors.DockerException as exc:
            log.warning("docker source: cannot inspect %s: %s", container_id[:12], exc)
            return None

    def close(self) -> None:
        self._closed = True
        if self._stream is not None:
            self._stream.close()
        self.client.close()
