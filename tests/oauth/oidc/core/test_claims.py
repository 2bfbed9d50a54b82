"""Consent covers claims (OIDC Core 5.4, 5.5): the ``claims`` request parameter releases a
claim only within the grant's (consented) scopes, at userinfo, in the ID token of the
token endpoint and of the implicit flow."""

from __future__ import annotations

import asyncio
import base64
import time
from typing import Any

from joserfc import jwt
from tests.oauth.memory import ISSUER, World

from oxswarm.oauth.models import AccessTokenRecord, AuthorizationCode, ClientMetadata, User
from oxswarm.oauth.oidc.core import claims as oidc_claims
from oxswarm.oauth.oidc.core.id_token import Authentication
from oxswarm.oauth.oidc.core.userinfo import userinfo_claims
from oxswarm.oauth.rfc6749.requests import OAuthRequest

CB = "https://rp.example/cb"
EMAIL_ONLY = {"userinfo": {"email": None}, "id_token": {"email": {"essential": True}}}
CLIENT = ClientMetadata(
    client_id="rp", client_secret="s-1", redirect_uris=(CB,),
    grant_types=("authorization_code", "implicit"), scopes=("openid", "profile", "email"),
)  # fmt: skip
USER = User(sub="u-1", username="jane", claims={
    "email": "jane@example.org", "email_verified": True, "name": "Jane Doe", "uid": "jane",
})  # fmt: skip


def world() -> World:
    w = World()
    w.clients.add(CLIENT)
    w.users.add(USER, "pw")
    return w


def test_requested_claims_outside_the_scopes_are_not_named() -> None:
    names = oidc_claims.requested_names(("openid",), EMAIL_ONLY, "userinfo")
    assert names == set()
    names = oidc_claims.requested_names(("openid",), {"userinfo": {"uid": None}}, "userinfo")
    assert names == set()  # a directory attribute no scope covers: never


def test_requested_claims_within_the_scopes_are_named() -> None:
    names = oidc_claims.requested_names(
        ("openid", "email"), EMAIL_ONLY, "id_token", include_scope_claims=False
    )
    assert names == {"email"}  # moved into the ID token, not the whole scope
    names = oidc_claims.requested_names(("openid", "email"), None, "userinfo")
    assert names == {"email", "email_verified"}


def record(scope: tuple[str, ...], claims: dict[str, Any] | None) -> AccessTokenRecord:
    now = int(time.time())
    return AccessTokenRecord(client_id="rp", scope=scope, issued_at=now, expires_at=now + 60,
                             grant_id="g-1", sub="u-1", claims=claims)  # fmt: skip


def test_userinfo_releases_only_consented_claims() -> None:
    w = world()
    body = asyncio.run(userinfo_claims(record(("openid",), EMAIL_ONLY), CLIENT, w.users, "s"))
    assert body == {"sub": "s"}
    body = asyncio.run(
        userinfo_claims(record(("openid", "email"), EMAIL_ONLY), CLIENT, w.users, "s")
    )
    assert body["email"] == "jane@example.org"


def decode(w: World, token: str) -> dict[str, Any]:
    claims: dict[str, Any] = jwt.decode(token, w.keys.key, algorithms=["RS256"]).claims
    return claims


def test_implicit_id_token_releases_only_consented_claims() -> None:
    w = world()
    authn = Authentication(sub="u-1", auth_time=int(time.time()))
    only_openid = asyncio.run(
        w.factory.id_token(CLIENT, authn, scope=("openid",), nonce="n", requested=EMAIL_ONLY)
    )
    assert "email" not in decode(w, only_openid)
    with_email = asyncio.run(w.factory.id_token(
        CLIENT, authn, scope=("openid", "email"), nonce="n", access_token="at",
        requested=EMAIL_ONLY,
    ))  # fmt: skip
    claims = decode(w, with_email)
    assert claims["email"] == "jane@example.org" and "email_verified" not in claims


def test_token_endpoint_id_token_and_userinfo_record_release_only_consented_claims() -> None:
    w = world()
    now = int(time.time())
    w.codes.data["c-1"] = AuthorizationCode(
        code="c-1", client_id="rp", redirect_uri=CB, scope=("openid",), sub="u-1",
        auth_time=now, grant_id="g-1", issued_at=now, expires_at=now + 60, claims=EMAIL_ONLY,
    )  # fmt: skip
    form = {"grant_type": "authorization_code", "code": "c-1", "redirect_uri": CB}
    basic = {"authorization": "Basic " + base64.b64encode(b"rp:s-1").decode()}
    body = asyncio.run(
        w.endpoint.handle(OAuthRequest("POST", ISSUER + "/oxauth/restv1/token", basic, form))
    )
    assert "email" not in decode(w, body["id_token"])
    stored = w.tokens.data[body["access_token"]]
    info = asyncio.run(userinfo_claims(stored, CLIENT, w.users, "s"))
    assert "email" not in info
