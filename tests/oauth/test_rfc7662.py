"""Introspection over in-memory stores: who may learn a token's data, and when
``username`` is returned (RFC 7662 2.2 and 4; OIDC Core 8.1 pairwise subjects)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from tests.oauth.memory import ISSUER, World

from oxswarm.oauth.models import ClientMetadata, User
from oxswarm.oauth.rfc6749.requests import OAuthRequest
from oxswarm.oauth.rfc7662 import IntrospectionEndpoint

CB = "https://rp.example/cb"
OWNER = ClientMetadata(client_id="owner", redirect_uris=(CB,), scopes=("openid",))
PAIRWISE = ClientMetadata(
    client_id="pw", redirect_uris=(CB,), scopes=("openid",), subject_type="pairwise"
)
OTHER = ClientMetadata(client_id="other", scopes=("openid",))
RS = ClientMetadata(client_id="rs", resource_server=True)


def tokens_for(world: World, client: ClientMetadata) -> tuple[str, str]:
    """An access token and a refresh token of ``client`` for user ``u-1``."""

    async def make() -> tuple[str, str]:
        grant = world.factory.new_grant(client, grant_id=f"g-{client.client_id}",
                                        scope=("openid",), authn=None)  # fmt: skip
        grant = type(grant).from_dict({**grant.to_dict(), "sub": "u-1"})
        refresh, _ = await world.factory.refresh_token(grant)
        access, _ = await world.factory.access_token(
            client, grant_id=grant.grant_id, scope=("openid",), sub="u-1"
        )
        return access, refresh

    return asyncio.run(make())


@pytest.fixture
def world() -> World:
    w = World()
    for client in (OWNER, PAIRWISE, OTHER, RS):
        w.clients.add(client)
    w.users.add(User(sub="u-1", username="jane"), "pw")
    return w


def introspect(world: World, caller: ClientMetadata, token: str) -> dict[str, Any]:
    endpoint = IntrospectionEndpoint(world.factory, world.clients)
    request = OAuthRequest("POST", ISSUER + "/introspection", {}, {"token": token})
    return asyncio.run(endpoint.handle(request, caller))


def test_another_client_gets_inactive(world: World) -> None:
    for token in tokens_for(world, OWNER):
        assert introspect(world, OTHER, token) == {"active": False}
        own = introspect(world, OWNER, token)
        assert own["active"] and own["sub"] == "u-1" and "username" not in own


def test_resource_server_gets_username_of_public_subjects_only(world: World) -> None:
    for token in tokens_for(world, OWNER):
        body = introspect(world, RS, token)
        assert body["sub"] == "u-1" and body["username"] == "jane"
    for token in tokens_for(world, PAIRWISE):
        body = introspect(world, RS, token)
        assert body["active"] and body["sub"] != "u-1" and "username" not in body


def test_unknown_token_is_inactive_for_everyone(world: World) -> None:
    assert introspect(world, RS, "nope") == {"active": False}
    assert introspect(world, OWNER, "g-owner.wrong") == {"active": False}
