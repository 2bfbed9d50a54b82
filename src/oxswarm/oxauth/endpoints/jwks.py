"""``GET /oxauth/restv1/jwks``: the public keys, current and announced (RFC 7517), as bytes
made once per key change (:mod:`~oxswarm.oxauth.endpoints.documents`)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from oxswarm.oxauth.endpoints import documents

MAX_AGE = documents.JWKS_MAX_AGE


async def jwks(request: Request) -> Response:
    return documents.respond(request, documents.JWKS)


def routes() -> list[BaseRoute]:
    return [Route("/oxauth/restv1/jwks", jwks, methods=["GET", "HEAD"])]
