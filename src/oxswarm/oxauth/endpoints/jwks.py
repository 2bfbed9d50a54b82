"""``GET /oxauth/restv1/jwks``: the public keys, current and announced (RFC 7517)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from oxswarm.oxauth.endpoints._http import provider

MAX_AGE = 60  # relying parties re-read within the rotation's propagation delay


async def jwks(request: Request) -> Response:
    keys = provider(request).deps.keys.public_jwks()
    return JSONResponse(dict(keys), headers={"Cache-Control": f"public, max-age={MAX_AGE}"})


def routes() -> list[BaseRoute]:
    return [Route("/oxauth/restv1/jwks", jwks, methods=["GET"])]
