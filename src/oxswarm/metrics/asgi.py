"""``/metrics`` and the request metrics of a Starlette service, as one ASGI middleware.

:class:`RequestMetrics` answers ``GET /metrics`` itself (the Prometheus text format,
never counted) and counts every other request under its route's *template*
(``scope["route"]``, which Starlette's router sets, joined to the paths of the mounts it
went through): ``/identity/restv1/scim/v2/Users/{id}``, never the raw path, so the
number of series stays bounded. A request that no route took counts as ``unmatched``,
except a path equal to a route's fixed path, answered before routing (oxAuth's token
endpoint fast path, :class:`~oxswarm.oxauth.endpoints.token.TokenFastPath`). The
method is one of HTTP's, else ``other``. An exception counts as status 500 (the app's
last resort answers it).

``/metrics`` is for the overlay network only: the edge's NGINX answers 404 for it
(:mod:`oxswarm.edge.render`).
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any, Final

from prometheus_client import Counter, Histogram
from starlette.routing import BaseRoute, Mount, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from oxswarm.metrics import CONTENT_TYPE, PATH, REQUEST_SECONDS, REQUESTS, UNMATCHED, exposition

METHODS: Final = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def route_templates(routes: Iterable[BaseRoute], prefix: str = "") -> dict[int, str]:
    """``id(route)`` to its full template for every route and mount, mounts walked."""
    found: dict[int, str] = {}
    for route in routes:
        if isinstance(route, Mount):
            path = prefix + route.path
            found[id(route)] = path + "/{path}"
            found.update(route_templates(route.routes or (), path))
        elif isinstance(route, Route):
            found[id(route)] = prefix + route.path
    return found


class RequestMetrics:
    """Outer ASGI middleware: ``/metrics``, and requests by template, method, status."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._templates: dict[int, str] | None = None
        self._fixed: frozenset[str] = frozenset()
        self._counts: dict[tuple[str, str, int], Counter] = {}
        self._times: dict[tuple[str, str], Histogram] = {}

    def _learn(self, scope: Scope) -> dict[int, str]:
        app: Any = scope.get("app")
        routes = getattr(app, "routes", None) or ()
        templates = route_templates(routes)
        self._fixed = frozenset(t for t in templates.values() if "{" not in t)
        self._templates = templates
        return templates

    def endpoint(self, scope: Scope) -> str:
        templates = self._templates if self._templates is not None else self._learn(scope)
        route = scope.get("route")
        if route is not None:
            return templates.get(id(route), UNMATCHED)
        path = scope.get("path", "")
        return path if path in self._fixed else UNMATCHED

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope["path"] == PATH and scope["method"] in ("GET", "HEAD"):
            await _answer_metrics(scope, send)
            return
        began = time.perf_counter()
        status = 500

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            self.record(scope, status, time.perf_counter() - began)

    def record(self, scope: Scope, status: int, seconds: float) -> None:
        endpoint = self.endpoint(scope)
        method = scope["method"] if scope["method"] in METHODS else "other"
        key = (endpoint, method, status)
        count = self._counts.get(key)
        if count is None:
            count = self._counts[key] = REQUESTS.labels(endpoint, method, str(status))
        count.inc()
        timed = self._times.get(key[:2])
        if timed is None:
            timed = self._times[key[:2]] = REQUEST_SECONDS.labels(endpoint, method)
        timed.observe(seconds)


async def _answer_metrics(scope: Scope, send: Send) -> None:
    body = exposition()
    await send({"type": "http.response.start", "status": 200, "headers": [
        (b"content-type", CONTENT_TYPE.encode()),
        (b"content-length", str(len(body)).encode()),
        (b"cache-control", b"no-store"),
    ]})
    await send({"type": "http.response.body",
                "body": b"" if scope["method"] == "HEAD" else body})
