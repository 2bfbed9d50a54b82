"""``GET|POST /oxauth/restv1/userinfo`` (OIDC Core 5.3) and Gluu's ``/clientinfo``."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from oxswarm.oauth import rfc6750
from oxswarm.oauth.jose import sign_with
from oxswarm.oauth.oidc.core.userinfo import userinfo_claims
from oxswarm.oauth.rfc6749.errors import NO_STORE, InvalidToken
from oxswarm.oxauth.endpoints._http import json_response, oauth_request, provider


async def userinfo(request: Request) -> Response:
    prov = provider(request)
    req = await oauth_request(request, "userinfo")
    record = await rfc6750.validate(rfc6750.bearer_token(req), prov.deps.tokens, prov.deps.grants)
    client = await prov.deps.clients.get(record.client_id)
    if client is None:
        raise InvalidToken("the client of this access token no longer exists")
    subject = prov.factory.subject(client, record.sub) if record.sub else ""
    claims = await userinfo_claims(record, client, prov.deps.users, subject)
    alg = client.userinfo_signed_response_alg
    if alg:
        claims.update(iss=prov.deps.config.issuer, aud=client.client_id)
        signed = sign_with(prov.deps.keys, claims, alg)
        return Response(signed, headers=NO_STORE, media_type="application/jwt")
    return json_response(claims)


async def clientinfo(request: Request) -> Response:
    """Gluu's clientinfo: what the access token's client is (name, id, scopes)."""
    prov = provider(request)
    req = await oauth_request(request, "clientinfo")
    record = await rfc6750.validate(rfc6750.bearer_token(req), prov.deps.tokens, prov.deps.grants)
    client = await prov.deps.clients.get(record.client_id)
    if client is None:
        raise InvalidToken("the client of this access token no longer exists")
    body = {
        "client_id": client.client_id,
        "name": client.client_name,
        "scope": list(client.scopes),
        "inum": client.client_id,
    }
    return json_response(body)


def routes() -> list[BaseRoute]:
    return [
        Route("/oxauth/restv1/userinfo", userinfo, methods=["GET", "POST"]),
        Route("/oxauth/restv1/clientinfo", clientinfo, methods=["GET", "POST"]),
    ]
