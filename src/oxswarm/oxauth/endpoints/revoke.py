"""``POST /oxauth/restv1/revoke`` (RFC 7009): 200 with an empty body on success."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from oxswarm.oauth.rfc6749.errors import NO_STORE
from oxswarm.oxauth.endpoints._http import oauth_request, provider


async def revoke(request: Request) -> Response:
    prov = provider(request)
    req = await oauth_request(request, "revoke")
    client = await prov.authenticator.authenticate(req)
    await prov.revocation.handle(req, client)
    return Response(status_code=200, headers=NO_STORE)


def routes() -> list[BaseRoute]:
    return [Route("/oxauth/restv1/revoke", revoke, methods=["POST"])]
