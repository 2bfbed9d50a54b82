"""An unhandled exception answers a 500 (HTML for the browser's pages, JSON elsewhere) and
never reaches the server (which would drop the connection), even after the response."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route
from starlette.types import Message

from oxswarm.oxauth.app import OxAuthApp
from oxswarm.oxauth.last_resort import LastResort, server_error


def boom(request: Request) -> Response:
    raise RuntimeError("a bug")


def after(request: Request) -> Response:
    def fail() -> None:
        raise RuntimeError("a bug in a background task")

    return PlainTextResponse("ok", background=BackgroundTask(fail))


def app() -> OxAuthApp:
    routes = [Route(p, boom, methods=["GET", "POST"])
              for p in ("/oxauth/consent", "/oxauth/restv1/userinfo")]  # fmt: skip
    routes.append(Route("/after", after))
    return OxAuthApp(routes=routes, exception_handlers={Exception: server_error})


def call(asgi: Any, path: str, method: str = "GET") -> list[Message]:
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        sent.append(message)

    scope = {"type": "http", "method": method, "path": path, "raw_path": path.encode(),
             "query_string": b"", "headers": [], "client": ("10.0.0.1", 5000),
             "server": ("op", 80), "scheme": "http", "http_version": "1.1", "root_path": "",
             "state": {}}  # fmt: skip
    asyncio.run(asgi(scope, receive, send))  # raising here is what drops the connection
    return sent


def start(sent: list[Message]) -> tuple[int, dict[str, str]]:
    first = sent[0]
    return first["status"], {k.decode(): v.decode() for k, v in first["headers"]}


def test_a_browser_page_gets_an_html_500() -> None:
    sent = call(app(), "/oxauth/consent", "POST")
    status, headers = start(sent)
    assert status == 500 and headers["content-type"].startswith("text/html")
    assert b"server_error" in sent[1]["body"] and b"a bug" not in sent[1]["body"]
    assert headers["cache-control"] == "no-store"


def test_an_api_gets_a_json_500() -> None:
    sent = call(app(), "/oxauth/restv1/userinfo")
    status, headers = start(sent)
    assert status == 500 and headers["cache-control"] == "no-store"
    assert json.loads(sent[1]["body"])["error"] == "server_error"


def test_an_error_after_the_response_does_not_reach_the_server() -> None:
    sent = call(app(), "/after")
    assert start(sent)[0] == 200 and sent[1]["body"] == b"ok"


def test_an_error_outside_starlette_gets_a_500() -> None:
    async def broken(scope: Any, receive: Any, send: Any) -> None:
        raise RuntimeError("a bug before any middleware")

    sent = call(LastResort(broken), "/oxauth/restv1/token", "POST")
    assert start(sent)[0] == 500
