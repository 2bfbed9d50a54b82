"""Regression tests for the 5xx the fuzz test found (issue 8), one per cause, in memory:
each malformed input is refused with the spec's error naming the field (or is simply not a
valid token), never an exception of another kind."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import time
from typing import Any

import pytest
from tests.oauth.memory import ISSUER, Grants, World

from oxswarm.oauth import jose, jsonbounds
from oxswarm.oauth.compare import equal
from oxswarm.oauth.models import ClientMetadata, GrantRecord
from oxswarm.oauth.oidc.core.authorization import (
    MAX_STATE_LENGTH,
    AuthorizationRedirectError,
    validate,
)
from oxswarm.oauth.rfc6749.client_auth import JWT_BEARER_ASSERTION
from oxswarm.oauth.rfc6749.errors import (
    InvalidClient,
    InvalidClientMetadata,
    InvalidGrant,
    InvalidRequest,
    InvalidToken,
)
from oxswarm.oauth.rfc6749.requests import OAuthRequest
from oxswarm.oauth.rfc7009 import RevocationEndpoint
from oxswarm.oauth.rfc7662 import IntrospectionEndpoint
from oxswarm.oauth.tokens import split_refresh_token

TOKEN_URL = ISSUER + "/oxauth/restv1/token"
SECRET = "a-long-shared-secret-of-at-least-32-bytes!"
CB = "https://rp.example/cb"


def b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def hs256(payload: str, secret: str = SECRET) -> str:
    signing = b64(b'{"alg":"HS256"}') + "." + b64(payload.encode())
    mac = hmac.new(secret.encode(), signing.encode(), hashlib.sha256).digest()
    return f"{signing}.{b64(mac)}"


def short(value: object) -> str:
    """A short test id for a long value."""
    return repr(value)[:24]


# -- constant-time compares on bytes -------------------------------------------------------
def test_equal_is_false_for_non_ascii_instead_of_raising() -> None:
    with pytest.raises(TypeError):
        hmac.compare_digest("é", "e")  # the cause: str compares refuse non-ASCII
    assert not equal("é", "e") and equal("é", "é") and not equal("\ud800", "x")


# -- bounded JSON --------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("[" * 1000 + "]" * 1000, "nested too deeply"),
        ('{"a":' * 40 + "1" + "}" * 40, "nested too deeply"),
        ("x" * (jsonbounds.MAX_BYTES + 1), "too large"),
        ('{"exp": NaN}', "not valid JSON"),
        ('{"a": Infinity}', "not valid JSON"),
        ('"\\ud800"', "not valid JSON"),
        ("{", "not valid JSON"),
        ("9" * 5000, "not valid JSON"),
    ],
    ids=short,
)
def test_bounded_json_refuses_naming_the_field(text: str, problem: str) -> None:
    with pytest.raises(InvalidClientMetadata, match=f"the request body .*{problem}"):
        jsonbounds.loads(text, "the request body", InvalidClientMetadata)


def test_bounded_json_ignores_brackets_in_strings_and_takes_utf8() -> None:
    assert jsonbounds.loads_object('{"a": "' + "[" * 1000 + '"}', "x") == {"a": "[" * 1000}
    assert jsonbounds.loads('{"n": "é😀"}'.encode(), "x") == {"n": "é😀"}
    assert jsonbounds.depth(b'[{"a": [1]}, "]]]"]') == 3
    with pytest.raises(InvalidRequest, match="x is not valid JSON"):
        jsonbounds.loads(b'{"a": "\xff"}', "x")
    with pytest.raises(InvalidRequest, match="x must be a JSON object"):
        jsonbounds.loads_object("[]", "x")


# -- JWT shape before decoding -------------------------------------------------------------
@pytest.mark.parametrize(
    "token",
    [
        "",
        "a.b",
        "a.b.c.d.e",
        "!!!.???.***",
        "e30.e30",
        "%ff.e30.x",
        b64(b'{"alg":"RS256","x":"' + b"A" * 20_000 + b'"}') + ".e30.x",
        b64(b'{"alg":"RS256"}') + "." + b64(b"[" * 5000 + b"]" * 5000) + ".x",
        b64(b'{"alg":"RS256"}') + "." + b64(b"\xff\xfe") + ".x",
        b64(b'{"alg":"RS256"}') + "." + b64(b"[]") + ".x",
        b64(b"{}") + ".e30.x",
    ],
    ids=short,
)
def test_malformed_jwt_is_refused_before_decoding(token: str) -> None:
    with pytest.raises(InvalidClient, match="client_assertion"):
        jose.parts(token, "client_assertion", InvalidClient)


# -- client authentication -----------------------------------------------------------------
def authenticate(world: World, form: dict[str, str], headers: dict[str, str] | None = None) -> Any:
    request = OAuthRequest("POST", TOKEN_URL, headers or {}, form)
    return asyncio.run(world.auth.authenticate(request))


@pytest.fixture
def world() -> World:
    w = World()
    w.clients.add(
        ClientMetadata(
            client_id="hs", client_secret=SECRET, token_endpoint_auth_method="client_secret_jwt"
        )
    )
    w.clients.add(
        ClientMetadata(client_id="conf", client_secret="secret-1", grant_types=("refresh_token",))
    )
    return w


def assertion_form(token: str) -> dict[str, str]:
    return {"client_assertion_type": JWT_BEARER_ASSERTION, "client_assertion": token}


@pytest.mark.parametrize(
    "claims",
    [
        '{"iss":"hs","sub":"hs","aud":"%s","jti":"j","exp":NaN}',
        '{"iss":"hs","sub":"hs","aud":"%s","jti":"j","exp":1e400}',
        '{"iss":"hs","sub":"hs","aud":[["%s"]],"jti":"j","exp":%d}',
        '{"iss":"hs","sub":"hs","aud":"%s","jti":["j"],"exp":%d}',
        '{"iss":"hs","sub":"hs","aud":"%s","jti":"j","exp":true}',
        '{"iss":"hs","sub":"hs","aud":"%s","jti":"j","exp":%d,"x":' + "[" * 5000 + "]" * 5000 + "}",
    ],
    ids=short,
)
def test_signed_assertion_with_malformed_claims_is_invalid_client(
    world: World, claims: str
) -> None:
    payload = claims.replace("%s", TOKEN_URL).replace("%d", str(int(time.time()) + 60))
    with pytest.raises(InvalidClient, match="client_assertion"):
        authenticate(world, assertion_form(hs256(payload)))


@pytest.mark.parametrize(
    "header", ["Basic YWJj\xff", "Basic é", "Basic " + base64.b64encode(b"\xff:\xfe").decode()]
)
def test_basic_with_non_ascii_or_non_utf8_is_invalid_client(world: World, header: str) -> None:
    with pytest.raises(InvalidClient, match="malformed Basic credentials"):
        authenticate(world, {"grant_type": "client_credentials"}, {"authorization": header})


def test_non_ascii_client_secret_is_just_wrong(world: World) -> None:
    with pytest.raises(InvalidClient, match="authentication failed"):
        authenticate(
            world,
            {},
            {"authorization": "Basic " + base64.b64encode("conf:sécret".encode()).decode()},
        )


# -- refresh tokens: a malformed grant id never reaches a store ----------------------------
BAD_REFRESH = [
    "\x00\x01.secret-secret-secret",
    "a\r\nb.secret-secret-secret",
    "*.x" * 3,
    "A" * 600 + ".secret-secret-secret",
    "é" * 30 + ".secret-secret-secret",
    "g" * 22 + ".\x00",
    "g" * 22,
    ".",
    "g" * 22 + "." + "s" * 10,
]


class StrictGrants(Grants):
    """The in-memory grant store, failing the test on any id of a bad shape."""

    async def get(self, grant_id: str) -> GrantRecord | None:
        assert grant_id.isascii() and grant_id.replace("-", "").replace("_", "").isalnum()
        return await super().get(grant_id)


@pytest.mark.parametrize("token", BAD_REFRESH, ids=short)
def test_malformed_refresh_token_is_not_a_token(world: World, token: str) -> None:
    assert split_refresh_token(token) is None
    world.factory.grants = StrictGrants()
    form = {"grant_type": "refresh_token", "refresh_token": token}
    headers = {"authorization": "Basic " + base64.b64encode(b"conf:secret-1").decode()}
    with pytest.raises(InvalidGrant):
        asyncio.run(world.endpoint.handle(OAuthRequest("POST", TOKEN_URL, headers, form)))
    asyncio.run(
        RevocationEndpoint(world.factory).handle(
            OAuthRequest("POST", TOKEN_URL, {}, {"token": token}),
            world.clients.add(ClientMetadata(client_id="rv", client_secret="x")),
        )
    )
    body = asyncio.run(
        IntrospectionEndpoint(world.factory, world.clients).handle(
            OAuthRequest(
                "POST", TOKEN_URL, {}, {"token": token, "token_type_hint": "refresh_token"}
            ),
            ClientMetadata(client_id="rs", client_secret="x", resource_server=True),
        )
    )
    assert body == {"active": False}


def test_well_formed_refresh_token_splits() -> None:
    assert split_refresh_token("g" * 22 + "." + "s" * 43) == ("g" * 22, "s" * 43)


# -- the authorization endpoint never reflects an unbounded value --------------------------
def test_oversized_state_and_descriptions_are_not_reflected() -> None:
    client = ClientMetadata(client_id="c", redirect_uris=(CB,))
    base = {"client_id": "c", "redirect_uri": CB, "scope": "openid"}
    with pytest.raises(AuthorizationRedirectError) as caught:
        validate({**base, "response_type": "code", "state": "s" * (MAX_STATE_LENGTH + 1)}, client)
    assert caught.value.state is None and "state is too long" in str(caught.value.params())
    with pytest.raises(AuthorizationRedirectError) as caught:
        validate({**base, "response_type": "x" * 600_000, "state": "ok"}, client)
    assert len(caught.value.params()["error_description"] or "") <= 256
    assert caught.value.params()["state"] == "ok"


@pytest.mark.parametrize(
    "claims", ["[" * 100_000 + "]" * 100_000, '{"a":NaN}', "[]", "x" * 9000], ids=short
)
def test_claims_parameter_is_bounded(claims: str) -> None:
    client = ClientMetadata(client_id="c", redirect_uris=(CB,))
    params = {
        "client_id": "c",
        "redirect_uri": CB,
        "scope": "openid",
        "response_type": "code",
        "claims": claims,
    }
    with pytest.raises(AuthorizationRedirectError) as caught:
        validate(params, client)
    assert caught.value.error == "invalid_request"
    assert "claims" in (caught.value.params()["error_description"] or "")


def test_bearer_challenge_carries_only_allowed_characters() -> None:
    challenge = InvalidToken('bad "token" é\r\nX-Injected: 1').extra_headers["WWW-Authenticate"]
    value = challenge.split('error_description="', 1)[1][:-1]
    assert all(" " <= c <= "~" and c not in '"\\' for c in value), challenge
    json.dumps(challenge).encode("latin-1")
