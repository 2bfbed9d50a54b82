"""Health probes for catalogue instances: an HTTP GET or a TCP connect, with short timeouts.

The probe answers one question for the registrator: may this instance receive traffic
now? HTTP: a 2xx answer within the timeout (redirects are not followed: a 3xx is a
failure, as Consul's HTTP check counts only 2xx as passing,
https://developer.hashicorp.com/consul/docs/services/usage/checks#http-checks).
TCP: the port accepts a connection.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import urlsplit

import httpx


@dataclass(frozen=True)
class Probe:
    """The outcome of one check; ``detail`` says why it failed (for the log)."""

    ok: bool
    detail: str = ""


class HealthChecker(Protocol):
    """What the registrator needs: probe one health URL (thread-safe)."""

    def check(self, url: str) -> Probe: ...


class ProbeChecker:
    """:class:`HealthChecker` for ``http://``, ``https://`` and ``tcp://`` URLs.

    ``verify`` is passed to httpx (a CA bundle path, or False for instances with a
    certificate from the cluster CA that the registrator does not hold).
    """

    def __init__(
        self,
        timeout: float = 1.0,
        *,
        verify: bool | str = True,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.timeout = timeout
        self._client = httpx.Client(
            timeout=httpx.Timeout(timeout),
            verify=verify,
            trust_env=False,
            follow_redirects=False,
            transport=transport,
            limits=httpx.Limits(max_keepalive_connections=0),
        )

    def close(self) -> None:
        self._client.close()

    def check(self, url: str) -> Probe:
        parts = urlsplit(url)
        if parts.scheme == "tcp":
            return self._tcp(parts.hostname or "", parts.port or 0)
        if parts.scheme in ("http", "https"):
            return self._http(url)
        return Probe(False, f"unsupported health URL scheme {parts.scheme!r}")

    def _tcp(self, host: str, port: int) -> Probe:
        try:
            with socket.create_connection((host, port), timeout=self.timeout):
                return Probe(True)
        except OSError as exc:
            return Probe(False, f"tcp {host}:{port}: {exc.strerror or exc}")

    def _http(self, url: str) -> Probe:
        try:
            resp = self._client.get(url)
        except httpx.HTTPError as exc:
            return Probe(False, f"GET {url}: {type(exc).__name__}: {exc}")
        if 200 <= resp.status_code < 300:
            return Probe(True)
        return Probe(False, f"GET {url}: HTTP {resp.status_code}")
