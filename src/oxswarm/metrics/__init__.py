"""Prometheus metrics of OxSwarm's Python services (``prometheus_client``), one place.

Every name, label and bucket is defined here (docs/operations.md lists them, the Grafana
dashboard docs/grafana-oxswarm.json reads them). Labels are bounded: ``endpoint`` is a
route's template (``/identity/restv1/scim/v2/Users/{id}``), never a raw path, and every
path no route matches counts as ``unmatched``; ``grant_type`` is one of RFC 6749's and
the extensions oxAuth serves, anything else ``other``; backend ``operation`` names come
from code, never from a request.

Sign-ins count under ``result``: ``success``, ``bad_credentials`` (a wrong password,
a disabled account and a name that is no user alike: the sign-in page does not tell them
apart and neither do the metrics, so reading ``/metrics`` never tells which users exist),
``locked`` (the lockout refused the attempt before checking the password).

Several worker processes (``oxswarm run oxauth --workers N``): when
``PROMETHEUS_MULTIPROC_DIR`` is set before the workers start (``run oxauth`` does it),
``prometheus_client`` keeps each worker's values in files there and :func:`exposition`
sums them (:mod:`prometheus_client.multiprocess`).
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Final

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    start_http_server,
)
from prometheus_client import generate_latest as _generate
from prometheus_client import multiprocess as _multiprocess
from prometheus_client.registry import REGISTRY

log = logging.getLogger(__name__)

MULTIPROC_ENV: Final = "PROMETHEUS_MULTIPROC_DIR"
CONTENT_TYPE: Final = CONTENT_TYPE_LATEST
PATH: Final = "/metrics"
UNMATCHED: Final = "unmatched"

# seconds: a token answer takes ~1 ms, a sign-in (a bind on a fresh TLS connection) ~50 ms
LATENCY_BUCKETS: Final = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                          0.5, 1.0, 2.5, 5.0, 10.0)

REQUESTS = Counter("oxswarm_http_requests", "HTTP requests answered, by route template "
                   "and status", ["endpoint", "method", "status"])
REQUEST_SECONDS = Histogram("oxswarm_http_request_duration_seconds", "Time to answer an HTTP "
                            "request, by route template", ["endpoint", "method"],
                            buckets=LATENCY_BUCKETS)
SIGNINS = Counter("oxswarm_signins", "Sign-in attempts (form and password grant) by result: "
                  "success, bad_credentials (wrong password, disabled or unknown user alike), "
                  "locked", ["result"])
TOKENS = Counter("oxswarm_tokens_issued", "Token responses issued at the token endpoint, by "
                 "grant type", ["grant_type"])
TOKEN_ERRORS = Counter("oxswarm_token_errors", "Token endpoint error answers, by grant type "
                       "and OAuth error code", ["grant_type", "error"])
BACKEND_SECONDS = Histogram("oxswarm_backend_request_duration_seconds", "Time of one call to "
                            "a backend (store: etcd, cache: Twemproxy/Redis, directory: LDAP), "
                            "retries included", ["backend", "operation"],
                            buckets=LATENCY_BUCKETS)
BACKEND_ERRORS = Counter("oxswarm_backend_errors", "Backend calls that failed (the backend "
                         "unreachable or refusing), by backend and operation",
                         ["backend", "operation"])

# the long-running roles without a web server of their own (registrator, nginx, csync2):
# served by serve_metrics on ROLE_PORT; every one labelled, so that none shows (as a 0)
# in the /metrics of a service that does not use it
CATALOGUE = Gauge("oxswarm_catalogue_instances", "Healthy instances per service in the "
                  "catalogue, as this node's edge sees it", ["service"])
EDGE_CONFIGS = Counter("oxswarm_edge_configs", "New NGINX configs rendered from the catalogue "
                       "by result: reloaded, rejected (nginx -t refused it; the last good "
                       "one kept serving)", ["result"])
REGISTERED = Gauge("oxswarm_registrator_instances", "This node's labelled containers by "
                   "service and health (passing: in the catalogue)", ["service", "health"])
SYNC_RUNS = Counter("oxswarm_sync_runs", "csync2 runs of the shared folder by result: "
                    "complete, incomplete (a peer missed it), failed", ["result"])
SYNC_SECONDS = Histogram("oxswarm_sync_duration_seconds", "Time of one csync2 run that ran "
                         "to its end, by result (complete, incomplete)", ["result"],
                         buckets=(0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0))
ROLE_PORT_ENV: Final = "OXS_METRICS_PORT"
ROLE_PORT: Final = 9102

STORE: Final = "store"
CACHE: Final = "cache"
DIRECTORY: Final = "directory"

GRANT_TYPES: Final = frozenset({
    "authorization_code", "client_credentials", "refresh_token", "password", "implicit",
    "urn:ietf:params:oauth:grant-type:jwt-bearer",
    "urn:ietf:params:oauth:grant-type:device_code",
    "urn:ietf:params:oauth:grant-type:token-exchange",
    "urn:ietf:params:oauth:grant-type:uma-ticket",
    "urn:openid:params:grant-type:ciba",
})
_OAUTH_ERRORS: Final = frozenset({
    "invalid_request", "invalid_client", "invalid_grant", "unauthorized_client",
    "unsupported_grant_type", "invalid_scope", "invalid_target", "invalid_dpop_proof",
    "temporarily_unavailable", "server_error", "access_denied", "slow_down",
    "authorization_pending", "expired_token",
})


def grant_label(grant_type: str | None) -> str:
    """``grant_type`` as a bounded label value: a known grant, else ``other``."""
    return grant_type if grant_type in GRANT_TYPES else "other"


def error_label(error: str) -> str:
    return error if error in _OAUTH_ERRORS else "other"


class Backend:
    """Latency and error counts of one backend; children bound once per operation (the
    label lookup costs more than the observation on the token path)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._children: dict[str, tuple[Histogram, Counter]] = {}

    def _child(self, operation: str) -> tuple[Histogram, Counter]:
        found = self._children.get(operation)
        if found is None:
            found = (BACKEND_SECONDS.labels(self.name, operation),
                     BACKEND_ERRORS.labels(self.name, operation))
            self._children[operation] = found
        return found

    def observe(self, operation: str, seconds: float, failed: bool = False) -> None:
        seconds_child, errors_child = self._child(operation)
        seconds_child.observe(seconds)
        if failed:
            errors_child.inc()

    @contextmanager
    def timed(self, operation: str, errors: tuple[type[BaseException], ...]) -> Iterator[None]:
        """Time the block; an exception of ``errors`` counts as a failed call."""
        began = time.perf_counter()
        failed = False
        try:
            yield
        except errors:
            failed = True
            raise
        finally:
            self.observe(operation, time.perf_counter() - began, failed)


STORE_METRICS: Final = Backend(STORE)
CACHE_METRICS: Final = Backend(CACHE)
DIRECTORY_METRICS: Final = Backend(DIRECTORY)


def serve_metrics(address: str = "0.0.0.0", port: int | None = None) -> int | None:  # noqa: S104
    """``/metrics`` of a role without a web server (a thread of ``prometheus_client``) on
    ``port``, else ``$OXS_METRICS_PORT``, else :data:`ROLE_PORT`; 0 turns it off. The
    overlay reaches it; the stack publishes no such port. Returns the port served (None:
    off, or the port is taken: logged, and the role goes on without)."""
    if port is None:
        raw = os.environ.get(ROLE_PORT_ENV, "").strip()
        port = int(raw) if raw.isdigit() else ROLE_PORT
    if port == 0:
        return None
    try:
        start_http_server(port, addr=address)
    except OSError as exc:  # the role's work matters more than its metrics
        log.warning("metrics: cannot serve /metrics on %s:%d: %s", address, port, exc.strerror)
        return None
    return port


def set_catalogue(counts: dict[str, int], known: tuple[str, ...] = ()) -> None:
    """The catalogue's size per service (``known`` services absent from it count 0)."""
    for service in {*known, *counts}:
        CATALOGUE.labels(service).set(counts.get(service, 0))


def multiprocess_dir() -> str | None:
    return os.environ.get(MULTIPROC_ENV) or None


def exposition() -> bytes:
    """The text format of every metric: this process's, or with several workers the sum
    of every worker's (each a file in ``PROMETHEUS_MULTIPROC_DIR``)."""
    if multiprocess_dir() is None:
        return _generate(REGISTRY)
    registry = CollectorRegistry()
    _multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    return _generate(registry)


_issued: dict[str, Counter] = {}


def token_issued(grant_type: str | None) -> None:
    """One token response of ``grant_type`` (its child bound once: the token path is hot)."""
    label = grant_label(grant_type)
    child = _issued.get(label)
    if child is None:
        child = _issued[label] = TOKENS.labels(label)
    child.inc()


def token_error(grant_type: str | None, error: str) -> None:
    TOKEN_ERRORS.labels(grant_label(grant_type), error_label(error)).inc()


SIGNIN_RESULTS: Final = ("success", "bad_credentials", "locked")


def signin(result: str) -> None:
    """One sign-in attempt's ``result`` (one of :data:`SIGNIN_RESULTS`)."""
    if result not in SIGNIN_RESULTS:
        raise ValueError(f"sign-in result {result!r} is not one of {SIGNIN_RESULTS}")
    SIGNINS.labels(result).inc()
