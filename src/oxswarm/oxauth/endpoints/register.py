"""``/oxauth/restv1/register``: Dynamic Client Registration (RFC 7591) and management.

``POST`` registers: switched off (403 ``access_denied``), open, or (``token`` mode)
with an initial access token (RFC 7591 3) that is unknown, expired or used up -> 401
``invalid_token``; a token's use is taken only once the metadata is valid, so a refused
registration does not spend it. ``GET``/``PUT``/``DELETE`` with ``?client_id=`` and the
client's registration access token read, replace and delete it (RFC 7592), as Gluu does.

Limits: a body is read streamed up to :data:`~oxswarm.oauth.rfc7591.MAX_BODY` bytes
(more: 413, whatever ``Content-Length`` says); registrations per client address are
counted in the shared cache, ``registration_rate_limit`` per
``registration_rate_window`` seconds (more: 429 with ``Retry-After``).
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any, cast
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from oxswarm.directory.registration_tokens import RegistrationTokenRepository
from oxswarm.directory.tree import Tree
from oxswarm.oauth import jsonbounds, rfc7591, rfc7592
from oxswarm.oauth.rfc6749.errors import (
    NO_STORE,
    AccessDenied,
    InvalidClientMetadata,
    InvalidToken,
)
from oxswarm.oauth.rfc6749.requests import OAuthRequest
from oxswarm.oauth.rfc6750 import bearer_token
from oxswarm.oauth.tokens import token_hash
from oxswarm.oxauth.adapters.registration_tokens import DirectoryInitialTokens
from oxswarm.oxauth.endpoints._http import json_response, provider
from oxswarm.oxauth.provider import Provider
from oxswarm.oxauth.web.deps import web_deps

RATE_KIND = "register-addr"


async def _json_body(request: Request) -> dict[str, Any]:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > rfc7591.MAX_BODY:
        raise rfc7591.BodyTooLarge(f"the request body is larger than {rfc7591.MAX_BODY} bytes")
    raw = bytearray()
    async for chunk in request.stream():
        raw += chunk
        if len(raw) > rfc7591.MAX_BODY:
            raise rfc7591.BodyTooLarge(
                f"the request body is larger than {rfc7591.MAX_BODY} bytes")
    return jsonbounds.loads_object(
        bytes(raw), "the request body", InvalidClientMetadata, max_bytes=rfc7591.MAX_BODY
    )


def _bearer(request: Request) -> str:
    return bearer_token(OAuthRequest(method=request.method, url="", headers=request.headers))


def _client_uri(request: Request, client_id: str) -> str:
    return f"{provider(request).endpoint_url('register')}?client_id={quote(client_id)}"


def _sector_fetcher(request: Request) -> rfc7591.SectorFetcher:
    fetcher = provider(request).deps.extras.get("sector_fetcher")
    if fetcher is None:
        raise RuntimeError("oxAuth deps lack extras['sector_fetcher']")
    return cast(rfc7591.SectorFetcher, fetcher)


def _initial_tokens(prov: Provider) -> rfc7591.InitialAccessTokens:
    extras = prov.deps.extras
    found = extras.get("initial_tokens")
    if found is None:
        tree = extras.get("tree")
        found = DirectoryInitialTokens(RegistrationTokenRepository(
            extras["directory"], tree if isinstance(tree, Tree) else None))
        extras["initial_tokens"] = found
    return cast(rfc7591.InitialAccessTokens, found)


async def _rate_limit(request: Request, prov: Provider) -> None:
    """One more registration from this client address; 429 past the limit."""
    if "cache" not in prov.deps.extras:
        return
    config = prov.deps.config
    address = prov.client_address(
        request.client.host if request.client else None, request.headers.get("x-forwarded-for")
    ) or "unknown"
    ident = hashlib.sha256(address.encode()).hexdigest()
    count = await web_deps(prov.deps).counters.incr(
        RATE_KIND, ident, config.registration_rate_window)
    if count > config.registration_rate_limit:
        raise rfc7591.TooManyRegistrations(
            f"more than {config.registration_rate_limit} registrations from this address in "
            f"{config.registration_rate_window} seconds; try again later",
            headers={"Retry-After": str(config.registration_rate_window)},
        )


async def _initial_token(request: Request, prov: Provider) -> str | None:
    """In ``token`` mode, the presented token's hash when it is usable (None: the old
    single secret matched, nothing to spend); 401 ``invalid_token`` otherwise."""
    presented = request.headers.get("authorization", "")
    token = presented[7:].strip() if presented[:7].lower() == "bearer " else ""
    if not token:
        raise InvalidToken("an initial access token is required to register")
    digest = token_hash(token)
    legacy = prov.deps.config.registration_token_hash
    if legacy is not None and hmac.compare_digest(digest.encode(), legacy.encode()):
        return None
    if not await _initial_tokens(prov).valid(digest):
        raise InvalidToken("the initial access token is unknown, expired or used up")
    return digest


async def register(request: Request) -> Response:
    prov = provider(request)
    config = prov.deps.config
    if not config.registration_enabled:
        raise AccessDenied("dynamic client registration is switched off")
    await _rate_limit(request, prov)
    spend = await _initial_token(request, prov) if config.registration_token_required else None
    metadata = rfc7591.parse_metadata(await _json_body(request), prov.registration_policy())
    await rfc7591.check_sector_identifier(metadata, _sector_fetcher(request))
    if spend is not None and not await _initial_tokens(prov).use(spend):
        raise InvalidToken("the initial access token is unknown, expired or used up")
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
