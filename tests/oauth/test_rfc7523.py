"""client_secret_jwt and private_key_jwt (RFC 7523, OIDC Core 9)."""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import pytest
from joserfc import jwt
from joserfc.jwk import OctKey, RSAKey
from tests.oauth.memory import ISSUER, World

from oxswarm.oauth.models import ClientMetadata
from oxswarm.oauth.rfc6749.client_auth import JWT_BEARER_ASSERTION
from oxswarm.oauth.rfc6749.errors import InvalidClient
from oxswarm.oauth.rfc6749.requests import OAuthRequest

TOKEN_URL = ISSUER + "/oxauth/restv1/token"
SECRET = "a-long-shared-secret-of-at-least-32-bytes!"
CLIENT_KEY = RSAKey.generate_key(2048, parameters={"kid": "c1", "alg": "RS256", "use": "sig"})


def assertion(client_id: str, key: Any, alg: str, **claims: Any) -> str:
    now = int(time.time())
    payload = {"iss": client_id, "sub": client_id, "aud": TOKEN_URL, "exp": now + 60,
               "iat": now, "jti": str(uuid.uuid4())}
    payload.update(claims)
    return jwt.encode({"alg": alg}, payload, key, algorithms=[alg])


def authenticate(world: World, token: str) -> ClientMetadata:
    form = {"client_assertion_type": JWT_BEARER_ASSERTION, "client_assertion": token,
            "grant_type": "client_credentials"}
    return asyncio.run(world.auth.authenticate(OAuthRequest("POST", TOKEN_URL, {}, form)))


@pytest.fixture
def world() -> World:
    w = World()
    w.clients.add(ClientMetadata(client_id="hs", client_secret=SECRET,
                                 token_endpoint_auth_method="client_secret_jwt"))
    w.clients.add(ClientMetadata(client_id="pk", token_endpoint_auth_method="private_key_jwt",
                                 jwks={"keys": [CLIENT_KEY.as_dict(private=False)]}))
    return w


def test_client_secret_jwt(world: World) -> None:
    key = OctKey.import_key(SECRET)
    assert authenticate(world, assertion("hs", key, "HS256")).client_id == "hs"


def test_private_key_jwt_and_jti_replay(world: World) -> None:
    token = assertion("pk", CLIENT_KEY, "RS256")
    assert authenticate(world, token).client_id == "pk"
    with pytest.raises(InvalidClient, match="jti"):
        authenticate(world, token)


@pytest.mark.parametrize(
    "claims",
    [
        {"aud": "https://elsewhere.example/token"},
        {"exp": int(time.time()) - 3600},
        {"iss": "someone-else"},
        {"jti": ""},
    ],
)
def test_bad_claims_are_invalid_client(world: World, claims: dict[str, Any]) -> None:
    with pytest.raises(InvalidClient) as caught:
        authenticate(world, assertion("pk", CLIENT_KEY, "RS256", **claims))
    assert caught.value.status_code == 401


def test_wrong_key_and_wrong_method(world: World) -> None:
    other = RSAKey.generate_key(2048, parameters={"kid": "c1", "alg": "RS256"})
    with pytest.raises(InvalidClient):
        authenticate(world, assertion("pk", other, "RS256"))
    with pytest.raises(InvalidClient):  # an HMAC assertion for a private_key_jwt client
        authenticate(world, assertion("pk", OctKey.import_key(SECRET), "HS256"))
