"""The last resort for a bug: an unhandled exception answers a plain 500, never a dropped
connection.

Starlette's ``ServerErrorMiddleware`` renders a response for an unhandled exception and
then re-raises it "for the server to log"; uvicorn, seeing an exception after the response
started, closes the connection (a keep-alive client sees it dropped, and an exception in a
background task after a complete response does the same). :func:`server_error` is the
app's handler for ``Exception`` (an HTML error page for the browser-facing paths, RFC 6749
style JSON ``server_error`` elsewhere, ``Cache-Control: no-store``, logged with the
request's method, path and client address, never its body or credentials);
:class:`LastResort`, outermost, logs and swallows what is re-raised, and answers 500 itself
when nothing was sent yet (the token endpoint's fast path runs outside Starlette's stack).
"""

from __future__ import annotations

import logging
from typing import Final

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from oxswarm.oauth.rfc6749.errors import NO_STORE

log = logging.getLogger(__name__)

BROWSER_PATHS: Final = (
    "/oxauth/restv1/authorize",
    "/oxauth/restv1/end_session",
    "/oxauth/login",
    "/oxauth/consent",
)
DESCRIPTION: Final = "an internal error occurred; try again later"


def _context(scope: Scope) -> str:
    peer = scope.get("client")
    return f"{scope.get('method')} {scope.get('path')} from {peer[0] if peer else '-'}"


def error_response(path: str) -> Response:
    if path in BROWSER_PATHS:
        from oxswarm.oxauth.web import render

        return render.error_page("server_error", "Something went wrong. " + DESCRIPTION, 500)
    return JSONResponse(
        {"error": "server_error", "error_description": DESCRIPTION},
        status_code=500,
        headers=dict(NO_STORE),
    )


async def server_error(request: Request, exc: Exception) -> Response:
    """The app's handler for any unhandled exception (logged with the request context)."""
    log.error("unhandled error on %s", _context(request.scope), exc_info=exc)
    request.scope.setdefault("state", {})["oxswarm.logged_error"] = True
    return error_response(request.url.path)


class LastResort:
    """Outermost ASGI middleware: an exception never reaches the server."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking)
        except Exception as exc:
            if not scope.get("state", {}).get("oxswarm.logged_error"):
                log.error("unhandled error on %s", _context(scope), exc_info=exc)
            if not started:
                await error_response(scope.get("path", ""))(scope, receive, send)
