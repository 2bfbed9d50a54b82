"""The last-resort handler: an unexpected exception (a bug) in any view, or in the token
endpoint's fast path, answers a generic JSON ``500 server_error`` with no detail and is
logged with the route; never a dropped connection or a stack trace."""

from __future__ import annotations

import asyncio
import logging
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.routing import Route

from oxswarm.oxauth.endpoints._http import EXCEPTION_HANDLERS, INTERNAL_ERROR
from oxswarm.oxauth.endpoints.token import PATH, TokenFastPath


async def broken(request: Request) -> Any:
    raise RuntimeError("secret detail")


def test_a_view_bug_is_a_generic_500(caplog: pytest.LogCaptureFixture) -> None:
    app = Starlette(routes=[Route("/x", broken)], exception_handlers=dict(EXCEPTION_HANDLERS))
    transport = httpx.ASGITransport(app, raise_app_exceptions=False)

    async def get() -> httpx.Response:
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            return await client.get("/x")

    with caplog.at_level(logging.ERROR):
        r = asyncio.run(get())
    assert r.status_code == 500 and r.json() == INTERNAL_ERROR
    assert "secret detail" not in r.text and "Traceback" not in r.text
    assert any("GET /x" in rec.getMessage() for rec in caplog.records)


def test_a_bug_in_the_token_fast_path_is_a_generic_500() -> None:
    class Endpoint:
        async def handle(self, request: Any) -> Any:
            raise KeyError("secret detail")

    provider = SimpleNamespace(
        token_endpoint=Endpoint(),
        endpoint_url=lambda name: "http://x/" + name,
        client_address=lambda peer, forwarded: peer,
    )
    app = TokenFastPath(Starlette(), SimpleNamespace(provider=provider))
    sent: list[dict[str, Any]] = []
    scope = {
        "type": "http",
        "path": PATH,
        "method": "POST",
        "client": ("127.0.0.1", 1),
        "headers": [(b"content-type", b"application/x-www-form-urlencoded")],
    }

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"grant_type=client_credentials"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    asyncio.run(app(scope, receive, send))
    assert sent[0]["status"] == 500
    assert b"server_error" in sent[1]["body"] and b"secret detail" not in sent[1]["body"]
