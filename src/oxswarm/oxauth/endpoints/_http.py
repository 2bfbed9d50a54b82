"""What every back-channel view shares: request translation and response rendering.

:func:`oauth_request` turns a Starlette request into the protocol's
:class:`~oxswarm.oauth.rfc6749.requests.OAuthRequest` (form bodies parsed once, strictly);
:func:`oauth_error` is the app's handler for every :class:`OAuthError`, and
:func:`unavailable` turns an unreachable store into ``503 temporarily_unavailable``
(any other exception: :mod:`oxswarm.oxauth.last_resort`).
"""

from __future__ import annotations

import json
import logging
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from oxswarm.errors import Unavailable
from oxswarm.oauth.rfc6749.errors import NO_STORE, InvalidRequest, OAuthError
from oxswarm.oauth.rfc6749.requests import OAuthRequest, parse_form
from oxswarm.oxauth.provider import Provider

log = logging.getLogger(__name__)

FORM = "application/x-www-form-urlencoded"


def provider(request: Request) -> Provider:
    found: Provider = request.app.state.provider
    return found


async def oauth_request(request: Request, endpoint: str) -> OAuthRequest:
    """The protocol view of ``request``; a POST body must be form-urlencoded."""
    form: dict[str, str] = {}
    if request.method == "POST":
        ctype = request.headers.get("content-type", "")
        if ctype.split(";", 1)[0].strip().lower() != FORM:
            raise InvalidRequest(f"the request body must be {FORM}")
        try:
            form = parse_form(await request.body())
        except UnicodeDecodeError as exc:
            raise InvalidRequest("the request body is not UTF-8") from exc
    prov = provider(request)
    return OAuthRequest(
        method=request.method,
        url=prov.endpoint_url(endpoint),
        headers=request.headers,
        form=form,
        query=dict(request.query_params),
        client_address=prov.client_address(
            request.client.host if request.client else None,
            request.headers.get("x-forwarded-for"),
        ),
    )


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """Compact JSON with ``Cache-Control: no-store`` (RFC 6749 5.1)."""
    content = json.dumps(body, separators=(",", ":")).encode()
    return Response(
        content,
        status_code=status,
        headers={**NO_STORE, **(headers or {})},
        media_type="application/json",
    )


async def oauth_error(request: Request, exc: Exception) -> Response:
    """The one place an :class:`OAuthError` becomes an HTTP response."""
    assert isinstance(exc, OAuthError)
    status, headers, body = exc.render()
    return JSONResponse(body, status_code=status, headers=headers)


async def unavailable(request: Request, exc: Exception) -> Response:
    log.error("%s %s: %s", request.method, request.url.path, exc)
    return JSONResponse(
        {"error": "temporarily_unavailable", "error_description": "a backing store is down"},
        status_code=503,
        headers={**NO_STORE, "Retry-After": "1"},
    )


EXCEPTION_HANDLERS = {OAuthError: oauth_error, Unavailable: unavailable}
