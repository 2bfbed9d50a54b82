"""``POST /oxauth/restv1/token`` (RFC 6749 section 3.2), the hot path.

Async from end to end: client records come from the in-process cache, tokens go to
Redis through :mod:`redis.asyncio`; no thread hop, no LDAP round trip per request.
:class:`TokenFastPath` serves this one path as a bare ASGI app in front of Starlette
(no middleware stack, routing or request/response objects); it renders errors through
the same :meth:`OAuthError.render` as every other view, and the Starlette route below
serves the same handler for anything the fast path passes on.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from oxswarm.errors import Unavailable
from oxswarm.metrics import token_error, token_issued
from oxswarm.metrics.asgi import FixedRoute
from oxswarm.oauth.rfc6749.errors import InvalidRequest, OAuthError, TemporarilyUnavailable
from oxswarm.oauth.rfc6749.requests import OAuthRequest, parse_form
from oxswarm.oxauth.endpoints._http import FORM, json_response, oauth_request, provider
from oxswarm.oxauth.provider import Provider

log = logging.getLogger(__name__)

PATH = "/oxauth/restv1/token"
MAX_BODY = 64 * 1024
_NO_STORE = [(b"cache-control", b"no-store"), (b"pragma", b"no-cache")]
_JSON = (b"content-type", b"application/json")
COUNTED = FixedRoute(PATH, "POST")  # the endpoint's metrics series, whichever path answers


async def token(request: Request) -> Response:
    return json_response(await issue(provider(request), await oauth_request(request, "token")))


async def issue(prov: Provider, request: OAuthRequest) -> dict[str, Any]:
    """The token endpoint's answer, counted by grant type (and error) for the metrics."""
    grant = request.form.get("grant_type")
    try:
        body: dict[str, Any] = await prov.token_endpoint.handle(request)
    except OAuthError as exc:
        token_error(grant, exc.error)
        raise
    except Unavailable:
        token_error(grant, TemporarilyUnavailable.error)
        raise
    token_issued(grant)
    return body


def routes() -> list[BaseRoute]:
    return [Route(PATH, token, methods=["POST"])]


async def _read_body(receive: Receive) -> bytes:
    chunks = []
    size = 0
    while True:
        message = await receive()
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY:
            raise InvalidRequest("the request body is too large")
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


Answer = tuple[int, list[tuple[bytes, bytes]], bytes]


def _json(status: int, body: Any, headers: list[tuple[bytes, bytes]]) -> Answer:
    content = json.dumps(body, separators=(",", ":")).encode()
    return status, [_JSON, (b"content-length", b"%d" % len(content)), *headers], content


def _error(exc: OAuthError) -> Answer:
    status, extra, error = exc.render()
    return _json(status, error, [(k.lower().encode(), v.encode()) for k, v in extra.items()])


async def answer(prov: Provider, raw_headers: list[tuple[bytes, bytes]],
                 read_body: Callable[[], Awaitable[bytes]],
                 peer: tuple[str, int] | None) -> Answer:
    """The token request's answer (status, headers, body): the one place the fast paths
    (:class:`TokenFastPath`, and :mod:`oxswarm.oxauth.http_protocol` from the parser) turn
    a request into a response."""
    try:
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in raw_headers}
        if headers.get("content-type", "").split(";", 1)[0].strip().lower() != FORM:
            raise InvalidRequest(f"the request body must be {FORM}")
        try:
            form = parse_form(await read_body())
        except UnicodeDecodeError as exc:
            raise InvalidRequest("the request body is not UTF-8") from exc
        request = OAuthRequest(
            method="POST",
            url=prov.endpoint_url("token"),
            headers=headers,
            form=form,
            client_address=prov.client_address(
                peer[0] if peer else None, headers.get("x-forwarded-for")
            ),
        )
        body = await issue(prov, request)
    except OAuthError as exc:
        return _error(exc)
    except Unavailable as exc:
        log.error("token endpoint: %s", exc)
        return _error(TemporarilyUnavailable("a backing store is down"))
    return _json(200, body, _NO_STORE)


class TokenFastPath:
    """ASGI middleware answering ``POST /oxauth/restv1/token`` directly."""

    def __init__(self, app: ASGIApp, state: Any) -> None:
        self.app = app
        self.state = state
        self.counted = COUNTED

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != PATH or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        began = time.perf_counter()
        status = 500  # unless answered below (an exception: the last resort's 500)
        try:
            status, headers, content = await answer(
                self.state.provider, scope["headers"], lambda: _read_body(receive),
                scope.get("client"))
            await send({"type": "http.response.start", "status": status, "headers": headers})
            await send({"type": "http.response.body", "body": content})
        finally:
            self.counted.record(status, time.perf_counter() - began)
