"""``POST /oxauth/restv1/introspection`` (RFC 7662): for authenticated clients only; a
token's data only for a resource server or the token's own client
(:mod:`oxswarm.oauth.rfc7662`)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from oxswarm.oxauth.endpoints._http import json_response, oauth_request, provider


async def introspect(request: Request) -> Response:
    prov = provider(request)
    req = await oauth_request(request, "introspection")
    caller = await prov.authenticator.authenticate(req, allowed=lambda method: method != "none")
    return json_response(await prov.introspection.handle(req, caller))


def routes() -> list[BaseRoute]:
    return [Route("/oxauth/restv1/introspection", introspect, methods=["POST"])]
