"""Bounded, logged waits for what a role needs (the original's containers crashed or
looped when they started before Consul was ready: gluu-docker #33, #39, #65, #92)."""

from __future__ import annotations

import logging
import socket
import time
from collections.abc import Callable
from typing import TypeVar

from oxswarm.errors import OxSwarmError, Unavailable

log = logging.getLogger("oxswarm.roles")

T = TypeVar("T")
DEFAULT_TIMEOUT = 300.0


def resolve(name: str) -> list[str]:
    """IPv4 addresses of ``name`` (Swarm's DNS lists a dnsrr service's running tasks)."""
    try:
        infos = socket.getaddrinfo(name, None, socket.AF_INET, socket.SOCK_STREAM)
    except socket.gaierror:
        return []
    return sorted({str(info[4][0]) for info in infos})


def wait_for(what: str, probe: Callable[[], T | None], timeout: float = DEFAULT_TIMEOUT,
             interval: float = 1.0) -> T:
    """Call ``probe`` until it returns a value; log every 10 s; raise after ``timeout``."""
    start = time.monotonic()
    last_log = start
    last_error = ""
    while True:
        try:
            value = probe()
            if value is not None:
                log.info("ready: %s (after %.1fs)", what, time.monotonic() - start)
                return value
        except OxSwarmError as exc:
            last_error = str(exc)
        now = time.monotonic()
        if now - start > timeout:
            raise Unavailable(f"gave up waiting for {what} after {timeout:.0f}s {last_error}")
        if now - last_log >= 10:
            log.info("waiting for %s (%.0fs) %s", what, now - start, last_error)
            last_log = now
        time.sleep(interval)


def wait_dns(names: list[str], timeout: float = DEFAULT_TIMEOUT) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for name in names:
        found[name] = wait_for(f"DNS {name}", lambda n=name: resolve(n) or None, timeout)  # type: ignore[misc]
    return found
