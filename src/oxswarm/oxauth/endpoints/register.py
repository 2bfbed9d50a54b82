"""``/oxauth/restv1/register``: Dynamic Client Registration (RFC 7591) and management.

``POST`` registers (open, restricted by an initial access token, or switched off by
the provider config); ``GET``/``PUT``/``DELETE`` with ``?client_id=`` and the client's
registration access token read, replace and delete it (RFC 7592), as Gluu does.
"""

from __future__ import annotations

from typing import Any, cast
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from oxswarm.oauth import jsonbounds, rfc7591, rfc7592
from oxswarm.oauth.rfc6749.errors import (
    NO_STORE,
    AccessDenied,
    InvalidClientMetadata,
    InvalidToken,
)
from oxswarm.oauth.rfc6749.requests import OAuthRequest
from oxswarm.oauth.rfc6750 import bearer_token
from oxswarm.oxauth.endpoints._http import json_response, provider


async def _json_body(request: Request) -> dict[str, Any]:
    return jsonbounds.loads_object(await request.body(), "the request body", InvalidClientMetadata)


def _bearer(request: Request) -> str:
    return bearer_token(OAuthRequest(method=request.method, url="", headers=request.headers))


def _client_uri(request: Request, client_id: str) -> str:
    return f"{provider(request).endpoint_url('register')}?client_id={quote(client_id)}"


def _sector_fetcher(request: Request) -> rfc7591.SectorFetcher:
    fetcher = provider(request).deps.extras.get("sector_fetcher")
    if fetcher is None:
        raise RuntimeError("oxAuth deps lack extras['sector_fetcher']")
    return cast(rfc7591.SectorFetcher, fetcher)


async def register(request: Request) -> Response:
    prov = provider(request)
    config = prov.deps.config
    if not config.registration_enabled:
        raise AccessDenied("dynamic client registration is switched off")
    if config.registration_token_hash is not None:
        presented = request.headers.get("authorization", "")
        token = presented[7:].strip() if presented[:7].lower() == "bearer " else None
        if not rfc7591.initial_token_ok(token, config.registration_token_hash):
            raise InvalidToken("a valid initial access token is required to register")
    metadata = rfc7591.parse_metadata(await _json_body(request), prov.registration_policy())
    await rfc7591.check_sector_identifier(metadata, _sector_fetcher(request))
    client, access_token = rfc7591.with_credentials(metadata)
    await prov.deps.clients.create(client)
    body = rfc7591.client_response(client, _client_uri(request, client.client_id))
    body["registration_access_token"] = access_token
    return json_response(body, status=201)


async def manage(request: Request) -> Response:
    if request.method == "POST":
        return await register(request)
    prov = provider(request)
    client_id = request.query_params.get("client_id")
    client = await rfc7592.authorize(prov.deps.clients, client_id, _bearer(request))
    if request.method == "GET":
        return json_response(rfc7591.client_response(client, _client_uri(request, client_id or "")))
    if request.method == "DELETE":
        await prov.deps.clients.delete(client.client_id)
        return Response(status_code=204, headers=NO_STORE)
    fresh = rfc7592.updated(client, await _json_body(request), prov.registration_policy())
    await rfc7591.check_sector_identifier(fresh, _sector_fetcher(request))
    await prov.deps.clients.update(fresh)
    return json_response(rfc7591.client_response(fresh, _client_uri(request, client.client_id)))


def routes() -> list[BaseRoute]:
    return [
        Route("/oxauth/restv1/register", manage, methods=["POST", "GET", "PUT", "DELETE"]),
    ]
