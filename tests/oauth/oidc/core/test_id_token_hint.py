"""An ``id_token_hint`` is an ID token of this provider for the client (Core 3.1.2.1,
RP-Initiated Logout 1.0 section 2), not any JWT the provider signed."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from tests.oauth.memory import ISSUER, World

from oxswarm.oauth.models import ClientMetadata
from oxswarm.oauth.oidc.core.id_token import Authentication, hint_problem
from oxswarm.oxauth.issuer import TokenService

NOW = int(time.time())
ID = {"iss": ISSUER, "sub": "u-1", "aud": "rp", "exp": NOW + 60, "iat": NOW, "sid": "s"}
JWT_AT = ClientMetadata(client_id="rp", access_token_format="jwt", scopes=("openid",))


def problem(header: dict[str, Any] | None = None, client_id: str | None = "rp",
            **claims: Any) -> str | None:  # fmt: skip
    body = {k: v for k, v in {**ID, **claims}.items() if v is not None}
    return hint_problem(header or {"typ": "JWT"}, body, issuer=ISSUER, client_id=client_id)


def test_an_id_token_of_the_client_is_a_hint_even_expired() -> None:
    assert problem() is None
    assert problem(exp=NOW - 3600) is None
    assert problem(header={}, client_id=None) is None


def test_other_tokens_the_provider_signs_are_not_hints() -> None:
    assert problem(header={"typ": "at+jwt"}) is not None
    assert problem(header={"typ": "logout+jwt"}) is not None
    assert problem(client_id="rp", scope="openid") is not None  # access token claims
    assert problem(client_id="rp", events={}) is not None
    assert problem(exp=None) is not None  # a signed userinfo response has no exp / iat
    assert problem(iss="https://elsewhere") is not None


def test_audience_must_name_the_client() -> None:
    assert problem(client_id="other") == "the client is not an audience"
    assert problem(aud=["other", "rp"]) is None
    assert problem(aud=None, client_id=None) == "aud is missing"


def service(world: World) -> TokenService:
    return TokenService(config=world.config, codes=world.codes, tokens=world.tokens,
                        grants=world.grants, keys=world.keys, users=world.users)  # fmt: skip


def test_the_issuer_accepts_its_id_tokens_and_refuses_its_access_tokens() -> None:
    world = World()
    authn = Authentication(sub="u-1", auth_time=NOW, sid="s")
    id_token = asyncio.run(world.factory.id_token(JWT_AT, authn, scope=("openid",)))
    access, _ = asyncio.run(world.factory.access_token(
        JWT_AT, grant_id="g-1", scope=("openid",), sub="u-1", authn=authn
    ))  # fmt: skip
    issuer = service(world)
    assert asyncio.run(issuer.verify_id_token_hint(id_token, "rp")) is not None
    assert asyncio.run(issuer.verify_id_token_hint(id_token)) is not None
    assert asyncio.run(issuer.verify_id_token_hint(id_token, "other")) is None
    assert asyncio.run(issuer.verify_id_token_hint(access)) is None
    assert asyncio.run(issuer.verify_id_token_hint("not.a.jwt")) is None
