"""OpenID Connect Discovery: the provider metadata (bytes made once,
:mod:`~oxswarm.oxauth.endpoints.documents`) and WebFinger issuer lookup."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from oxswarm.oauth.oidc.webfinger import JRD_MEDIA_TYPE, issuer_jrd
from oxswarm.oxauth.endpoints import documents
from oxswarm.oxauth.endpoints._http import provider


async def openid_configuration(request: Request) -> Response:
    return documents.respond(request, documents.DISCOVERY)


async def webfinger(request: Request) -> Response:
    config = provider(request).deps.config
    body = issuer_jrd(
        request.query_params.get("resource"),
        request.query_params.getlist("rel"),
        config.issuer,
    )
    return JSONResponse(body, media_type=JRD_MEDIA_TYPE)


def routes() -> list[BaseRoute]:
    return [
        Route("/oxauth/.well-known/openid-configuration", openid_configuration,
              methods=["GET", "HEAD"]),
        Route("/.well-known/openid-configuration", openid_configuration, methods=["GET", "HEAD"]),
        Route("/oxauth/.well-known/webfinger", webfinger, methods=["GET"]),
        Route("/.well-known/webfinger", webfinger, methods=["GET"]),
    ]
