"""OpenID Connect Discovery: the provider metadata and WebFinger issuer lookup."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from oxswarm.oauth.oidc.discovery import provider_metadata
from oxswarm.oauth.oidc.webfinger import JRD_MEDIA_TYPE, issuer_jrd
from oxswarm.oxauth.endpoints._http import provider
from oxswarm.oxauth.web import i18n


async def openid_configuration(request: Request) -> Response:
    prov = provider(request)
    config = prov.deps.config
    doc = provider_metadata(
        config.issuer,
        signing_algs=prov.deps.keys.algorithms(),
        scopes=prov.scopes,
        grant_types=prov.token_endpoint.grant_types,
        auth_methods=prov.authenticator.method_names,
        registration=config.registration_enabled,
    )
    doc["ui_locales_supported"] = list(i18n.available())  # the pages' languages (web/i18n)
    return JSONResponse(doc, headers={"Cache-Control": "public, max-age=300"})


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
        Route("/oxauth/.well-known/openid-configuration", openid_configuration, methods=["GET"]),
        Route("/.well-known/openid-configuration", openid_configuration, methods=["GET"]),
        Route("/oxauth/.well-known/webfinger", webfinger, methods=["GET"]),
        Route("/.well-known/webfinger", webfinger, methods=["GET"]),
    ]
