"""The metrics' pure parts: route templates through mounts, bounded labels, the request
middleware on a small Starlette app, a role's ``/metrics`` server."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest
from prometheus_client import REGISTRY
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Mount, Route
from tests.metricskit import moved, parse, value

from oxswarm import metrics
from oxswarm.errors import DaemonError
from oxswarm.local.process import free_port
from oxswarm.metrics.asgi import RequestMetrics, route_templates
from oxswarm.sync.loop import SyncLoop


async def ok(_request: Request) -> Response:
    return PlainTextResponse("ok")


async def boom(_request: Request) -> Response:
    raise RuntimeError("a bug")


ROUTES = [
    Route("/a/{id}", ok),
    Route("/boom", boom),
    Mount("/m", routes=[Route("/b/{name}", ok, methods=["GET"]),
                        Mount("/n", routes=[Route("/c", ok)])]),
]


def test_templates_join_the_mounts() -> None:
    found = sorted(route_templates(ROUTES).values())
    assert found == ["/a/{id}", "/boom", "/m/b/{name}", "/m/n/c", "/m/n/{path}", "/m/{path}"]


def test_requests_count_under_templates_and_unknown_paths_under_one_label() -> None:
    app = Starlette(routes=ROUTES)
    app.add_middleware(RequestMetrics)

    async def run() -> tuple[str, str]:
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
            before = (await http.get("/metrics")).text
            for method, path, status in (
                ("GET", "/a/1", 200), ("GET", "/a/2", 200), ("GET", "/m/b/x", 200),
                ("POST", "/m/b/x", 405), ("GET", "/m/n/c", 200), ("GET", "/nope/123", 404),
                ("BREW", "/a/1", 405),  # a method of no one: one label, "other"
                ("GET", "/boom", 500),
            ):
                assert (await http.request(method, path)).status_code == status, path
            return before, (await http.get("/metrics")).text

    texts = asyncio.run(run())
    before, after = parse(texts[0]), parse(texts[1])
    changed = moved(before, after)

    def count(endpoint: str, method: str, status: str) -> float:
        key = frozenset({"endpoint": endpoint, "method": method, "status": status}.items())
        return changed.get(("oxswarm_http_requests_total", key), 0.0)

    assert count("/a/{id}", "GET", "200") == 2
    assert count("/m/b/{name}", "GET", "200") == 1
    assert count("/m/b/{name}", "POST", "405") == 1
    assert count("/m/n/c", "GET", "200") == 1
    assert count("unmatched", "GET", "404") == 1
    assert count("/boom", "GET", "500") == 1
    assert sum(v for (name, labels), v in changed.items()
               if name == "oxswarm_http_requests_total" and ("method", "other") in labels) == 1
    assert not any("123" in str(key) or "/a/1" in str(key) for key in after)
    assert value(after, "oxswarm_http_request_duration_seconds_count",
                 endpoint="/a/{id}", method="GET") - value(
        before, "oxswarm_http_request_duration_seconds_count",
        endpoint="/a/{id}", method="GET") == 2


def test_labels_are_bounded() -> None:
    assert metrics.grant_label("client_credentials") == "client_credentials"
    assert metrics.grant_label("x" * 300) == "other"
    assert metrics.grant_label(None) == "other"
    assert metrics.error_label("invalid_grant") == "invalid_grant"
    assert metrics.error_label("<script>") == "other"
    with pytest.raises(ValueError, match="sign-in result"):
        metrics.signin("unknown_user")  # one result with bad_credentials, by design


def test_a_role_serves_its_metrics_on_its_own_port(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(metrics.ROLE_PORT_ENV, "0")
    assert metrics.serve_metrics("127.0.0.1") is None  # turned off
    port = free_port()
    monkeypatch.setenv(metrics.ROLE_PORT_ENV, str(port))
    assert metrics.serve_metrics("127.0.0.1") == port
    metrics.set_catalogue({"oxauth": 3}, ("oxauth", "oxtrust"))
    samples = parse(httpx.get(f"http://127.0.0.1:{port}/metrics", trust_env=False).text)
    assert value(samples, "oxswarm_catalogue_instances", service="oxauth") == 3
    assert value(samples, "oxswarm_catalogue_instances", service="oxtrust") == 0
    # the port taken (here by the server above): logged, the role goes on without
    assert metrics.serve_metrics("127.0.0.1") is None


class _Syncer:
    """A sync that answers what it is told (the loop's accounting, not csync2's)."""

    def __init__(self, folder: Path, outcomes: list[bool | None]) -> None:
        self._folder = folder
        self.outcomes = outcomes

    @property
    def folder(self) -> Path:
        return self._folder

    def sync(self) -> bool:
        outcome = self.outcomes.pop(0)
        if outcome is None:
            raise DaemonError("csync2 -x: exit 1")
        return outcome


def test_sync_runs_count_by_result(tmp_path: Path) -> None:
    def runs(result: str) -> float:
        return REGISTRY.get_sample_value("oxswarm_sync_runs_total", {"result": result}) or 0.0

    before = {r: runs(r) for r in ("complete", "incomplete", "failed")}
    def timed() -> float:
        return sum(REGISTRY.get_sample_value("oxswarm_sync_duration_seconds_count",
                                             {"result": r}) or 0.0
                   for r in ("complete", "incomplete"))

    timed_before = timed()
    loop = SyncLoop(_Syncer(tmp_path, [True, False, None, True]))
    for why in ("start", "change", "interval", "change"):
        loop._sync(why)
    assert {r: runs(r) - before[r] for r in before} == {
        "complete": 2, "incomplete": 1, "failed": 1}
    assert timed() - timed_before == 3
