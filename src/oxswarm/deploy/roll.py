"""Rolling a new image through the stateful services one node at a time.

``docker stack deploy`` with a new image updates every service at once: all etcd members
(quorum lost), all slapd and all Redis shards would restart together. So when the image
changes under a running stack: first the stack is deployed with the stateful services
(``etcd-*``, ``ldap-*``, ``redis-*``) kept on the image they run (the stateless global
services roll by their own ``update_config``: one node at a time, stop-first); then each
stateful service is updated alone (``docker service update --image``, which waits until
its task runs) and checked healthy (its etcd member answers ``/health``, its slapd
accepts connections) before the next one; last, the full new stack is deployed, which
then changes nothing. New credentials (Swarm secrets named after their content) go
through the pinned services the same way: :func:`held_secrets` keeps them as they run
in :func:`interim_stack`, and each takes its new definition alone.
"""

from __future__ import annotations

import json
import logging
import ssl
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from oxswarm.deploy.docker import Docker
from oxswarm.deploy.render.stack import ETCD_CLIENT_PORT, LDAP_PORT, member
from oxswarm.deploy.spec import ClusterSpec
from oxswarm.errors import Unavailable
from oxswarm.local.process import tcp_open
from oxswarm.roles.wait import wait_for

log = logging.getLogger(__name__)

STATEFUL = ("etcd", "ldap", "redis")
Step = Callable[[str], None]


def stateful_services(spec: ClusterSpec) -> list[tuple[str, str]]:
    """(service, node) of every stateful service, node by node (etcd, ldap, redis each)."""
    return [(member(kind, n.name), n.name) for n in spec.nodes for kind in STATEFUL]


def bare(image: str) -> str:
    """``repo:tag`` of an image reference that may carry ``@sha256:...``."""
    return image.split("@", 1)[0]


def running_images(manager: Docker, stack: str) -> dict[str, str]:
    """Service (without the stack prefix) -> the image its spec names (digest dropped)."""
    res = manager.run("service", "ls", "--filter", f"label=com.docker.stack.namespace={stack}",
                      "--format", "{{.Name}} {{.Image}}", check=False)
    out: dict[str, str] = {}
    for line in res.stdout.splitlines():
        name, _, image = line.partition(" ")
        if name.startswith(f"{stack}_") and image:
            out[name[len(stack) + 1:]] = bare(image.strip())
    return out


def pinned_images(spec: ClusterSpec, running: Mapping[str, str]) -> dict[str, str]:
    """The stateful services to keep on their running image while the rest rolls."""
    return {svc: running[svc] for svc, _ in stateful_services(spec)
            if svc in running and running[svc] != spec.image}


@dataclass
class Roller:
    """Updates the pinned stateful services, one at a time, to ``spec.image``."""

    spec: ClusterSpec
    manager: Docker
    step: Step
    timeout: float = 300.0
    store_tls: ssl.SSLContext | None = None  # the operator's, for a closed store

    def healthy(self, service: str, node: str) -> bool | None:
        address = self.spec.node(node).address
        if service.startswith("etcd-"):
            scheme = "https" if self.store_tls else "http"
            try:
                res = httpx.get(f"{scheme}://{address}:{ETCD_CLIENT_PORT}/health", timeout=2.0,
                                trust_env=False, verify=self.store_tls or True)
                body: Any = res.json()
            except (httpx.HTTPError, ValueError) as exc:
                raise Unavailable(f"etcd on {node}: {exc}") from exc
            return True if str(body.get("health")) == "true" else None
        if service.startswith("ldap-"):
            return tcp_open(address, LDAP_PORT, timeout=1.0) or None
        return True  # redis: its task running (service update waited for it) is the check

    def roll(self, services: list[str]) -> list[str]:
        done: list[str] = []
        for service, node in stateful_services(self.spec):
            if service not in services:
                continue
            self.step(f"roll {service} to the new image")
            self.manager.run("service", "update", "--with-registry-auth", "--detach=true",
                             "--image", self.spec.image, f"{self.spec.stack}_{service}",
                             timeout=120)
            wait_for(f"{service} running the new image", lambda s=service: self._converged(s),  # type: ignore[misc]
                     timeout=self.timeout, interval=2.0)
            wait_for(f"{service} healthy", lambda s=service, n=node: self.healthy(s, n),  # type: ignore[misc]
                     timeout=self.timeout, interval=2.0)
            done.append(f"{service} rolled")
        return done

    def _converged(self, service: str) -> bool | None:
        """True when the service's one running task runs ``spec.image``."""
        res = self.manager.run("service", "ps", f"{self.spec.stack}_{service}", "--filter",
                               "desired-state=running", "--format",
                               "{{.Image}} {{.CurrentState}}", check=False)
        lines = [line for line in res.stdout.splitlines() if line.strip()]
        ok = len(lines) == 1 and bare(lines[0].split()[0]) == self.spec.image \
            and lines[0].split()[1] == "Running"
        return True if ok else None


# -- new secrets (rotated credentials) through the pinned services, one at a time --------


def held_secrets(old: Mapping[str, Any], new: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Pinned services (one per node) whose secrets change between two stack files ->
    their old definition: they keep it while the rest rolls, then take the new one one
    node at a time (all ldap or csync2 members at once would stop together). The whole
    definition is kept, not only the secrets: when an open store is closed, the new
    secrets come with a new image and new variables that must go together."""
    held: dict[str, dict[str, Any]] = {}
    for name, svc in new["services"].items():
        before = old["services"].get(name)
        pinned = svc.get("deploy", {}).get("mode") == "replicated"
        if pinned and before is not None and before.get("secrets") != svc.get("secrets"):
            held[name] = before
    return held


def interim_stack(new: Mapping[str, Any], held: Mapping[str, dict[str, Any]],
                  stack: str) -> dict[str, Any]:
    """``new`` with the ``held`` services as they run (their secrets existing Swarm
    secrets, declared external under the names ``docker stack deploy`` gave them)."""
    out: dict[str, Any] = json.loads(json.dumps(new))
    for name, before in held.items():
        out["services"][name] = json.loads(json.dumps(before))
        for entry in before.get("secrets") or []:
            if entry["source"] not in out["secrets"]:
                out["secrets"][entry["source"]] = {"external": True,
                                                   "name": f"{stack}_{entry['source']}"}
    return out


def running_task(manager: Docker, service: str) -> str | None:
    """The ID of the service's one running task (None while there is not exactly one)."""
    res = manager.run("service", "ps", service, "--filter", "desired-state=running",
                      "--format", "{{.ID}} {{.CurrentState}}", check=False)
    lines = [line.split() for line in res.stdout.splitlines() if line.strip()]
    if len(lines) == 1 and len(lines[0]) > 1 and lines[0][1] == "Running":
        return lines[0][0]
    return None


def new_task(manager: Docker, service: str, before: str | None) -> str | None:
    """The service's one running task when it is not ``before`` (it was replaced)."""
    task = running_task(manager, service)
    return task if task and task != before else None
