"""``POST /oxauth/restv1/token`` (RFC 6749 section 3.2), the hot path.

Async from end to end: client records come from the in-process cache, tokens go to
Redis through :mod:`redis.asyncio`; no thread hop, no LDAP round trip per request.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from oxswarm.oxauth.endpoints._http import json_response, oauth_request, provider


async def token(request: Request) -> Response:
    body = await provider(request).token_endpoint.handle(await oauth_request(request, "token"))
    return json_response(body)


def routes() -> list[BaseRoute]:
    return [Route("/oxauth/restv1/token", token, methods=["POST"])]
