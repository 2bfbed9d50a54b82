"""``/metrics`` and the request metrics of a Starlette service, as one ASGI middleware.

:class:`RequestMetrics` answers ``GET /metrics`` itself (the Prometheus text format,
never counted) and counts every other request under its route's *template*
(``scope["route"]``, which Starlette's router sets, joined to the paths of the mounts it
went through): ``/identity/restv1/scim/v2/Users/{id}``, never the raw path, so the
number of series stays bounded. A request that no route took counts as ``unmatched``,
except a path equal to a route's fixed path, answered before routing. The method is one
of HTTP's, else ``other``. oxAuth's token endpoint fast path
(:class:`~oxswarm.oxauth.endpoints.token.TokenFastPath`) sits in front of it and counts its
own requests in the same series (:class:`FixedRoute`): no wrapping on the hot path. An
exception counts as status 500 (the app's last resort answers it).

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
    """ASGI middleware: ``/metrics``, and requests by template, method, status."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._templates: dict[int, str] | None = None
        self._fixed: frozenset[str] = frozenset()
        # (id(route) or a fixed path or UNMATCHED, method, status) -> the bound children
        self._children: dict[tuple[object, str, int], tuple[Counter, Histogram]] = {}

    def _learn(self, scope: Scope) -> dict[int, str]:
        app: Any = scope.get("app")
        routes = getattr(app, "routes", None) or ()
        templates = route_templates(routes)
        self._fixed = frozenset(t for t in templates.values() if "{" not in t)
        self._templates = templates
        return templates

    def endpoint(self, scope: Scope) -> str:
        """The template label of a request this middleware saw through."""
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
        if self._templates is None:
            self._learn(scope)
        method = scope["method"] if scope["method"] in METHODS else "other"
        route = scope.get("route")
        where: object = id(route) if route is not None else scope.get("path", "")
        if route is None and where not in self._fixed:
            where = UNMATCHED  # never a raw path as a key: the dict stays bounded too
        children = self._children.get((where, method, status))
        if children is None:
            endpoint = self.endpoint(scope)
            children = self._children[(where, method, status)] = (
                REQUESTS.labels(endpoint, method, str(status)),
                REQUEST_SECONDS.labels(endpoint, method))
        children[0].inc()
        children[1].observe(seconds)


class FixedRoute:
    """The request metrics of one route served before routing (oxAuth's token endpoint
    fast path): the same series as :class:`RequestMetrics` would count, without its
    wrapping (the fast path knows its status); children bound once per status."""

    def __init__(self, endpoint: str, method: str) -> None:
        self.endpoint = endpoint
        self.method = method
        self._counts: dict[int, Counter] = {}
        self._time = REQUEST_SECONDS.labels(endpoint, method)

    def record(self, status: int, seconds: float) -> None:
        count = self._counts.get(status)
        if count is None:
            count = self._counts[status] = REQUESTS.labels(self.endpoint, self.method,
                                                           str(status))
        count.inc()
        self._time.observe(seconds)


async def _answer_metrics(scope: Scope, send: Send) -> None:
    body = exposition()
    await send({"type": "http.response.start", "status": 200, "headers": [
        (b"content-type", CONTENT_TYPE.encode()),
        (b"content-length", str(len(body)).encode()),
        (b"cache-control", b"no-store"),
    ]})
    await send({"type": "http.response.body",
                "body": b"" if scope["method"] == "HEAD" else body})
