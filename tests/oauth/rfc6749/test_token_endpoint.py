"""The token endpoint over in-memory stores: every grant and every error it returns."""

from __future__ import annotations

import asyncio
import base64
import time
from typing import Any

import pytest
from joserfc import jwt
from tests.oauth.memory import ISSUER, World

from oxswarm.oauth.models import AuthorizationCode, ClientMetadata, User
from oxswarm.oauth.rfc6749.errors import OAuthError
from oxswarm.oauth.rfc6749.requests import OAuthRequest
from oxswarm.oauth.rfc7636 import s256

CB = "https://rp.example/cb"
VERIFIER = "v" * 50


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def basic(client_id: str, secret: str) -> dict[str, str]:
    raw = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    return {"authorization": f"Basic {raw}"}


def request(form: dict[str, str], headers: dict[str, str] | None = None) -> OAuthRequest:
    return OAuthRequest("POST", ISSUER + "/oxauth/restv1/token", headers or {}, form)


def error_of(
    world: World, form: dict[str, str], headers: dict[str, str] | None = None
) -> OAuthError:
    with pytest.raises(OAuthError) as caught:
        run(world.endpoint.handle(request(form, headers)))
    return caught.value


@pytest.fixture
def world() -> World:
    w = World()
    w.clients.add(ClientMetadata(
        client_id="conf", client_secret="secret-1", redirect_uris=(CB,),
        grant_types=("authorization_code", "refresh_token", "client_credentials", "password"),
        scopes=("openid", "profile", "email", "read"), allow_password_grant=True,
    ))
    w.clients.add(ClientMetadata(
        client_id="pub", token_endpoint_auth_method="none", redirect_uris=(CB,),
        grant_types=("authorization_code", "refresh_token"), scopes=("openid", "profile"),
    ))
    w.users.add(User(sub="u-1", username="jane", claims={"email": "jane@example.org",
                                                          "name": "Jane Doe"}), "pw-1")
    return w


def code_for(world: World, client_id: str = "conf", **fields: Any) -> str:
    now = int(time.time())
    data: dict[str, Any] = {
        "code": f"code-{len(world.codes.data)}-{time.monotonic_ns()}", "client_id": client_id,
        "redirect_uri": CB, "scope": ("openid", "profile", "email"), "sub": "u-1",
        "auth_time": now - 5, "grant_id": f"g-{time.monotonic_ns()}", "issued_at": now,
        "expires_at": now + 60, "nonce": "n-1", "sid": "sid-1", "amr": ("pwd",),
    }
    data.update(fields)
    code = AuthorizationCode(**data)
    run(world.codes.save(code))
    return code.code


def redeem(world: World, code: str, **extra: str) -> dict[str, Any]:
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": CB, **extra}
    return run(world.endpoint.handle(request(form, basic("conf", "secret-1"))))


def test_code_grant_issues_access_refresh_and_id_token(world: World) -> None:
    body = redeem(world, code_for(world))
    assert body["token_type"] == "Bearer" and body["expires_in"] == 3600
    claims = jwt.decode(body["id_token"], world.keys.key).claims
    assert claims["iss"] == ISSUER and claims["aud"] == "conf" and claims["sub"] == "u-1"
    assert claims["nonce"] == "n-1" and claims["sid"] == "sid-1" and claims["amr"] == ["pwd"]
    assert "at_hash" in claims and "email" not in claims  # scope claims go to userinfo
    assert body["refresh_token"].count(".") == 1


def test_reused_code_is_invalid_grant_and_revokes_its_tokens(world: World) -> None:
    code = code_for(world)
    body = redeem(world, code)
    error = error_of(world, {"grant_type": "authorization_code", "code": code,
                             "redirect_uri": CB}, basic("conf", "secret-1"))
    assert (error.error, error.status_code) == ("invalid_grant", 400)
    record = world.tokens.data[body["access_token"]]
    assert run(world.grants.is_revoked(record.grant_id))
    refresh = {"grant_type": "refresh_token", "refresh_token": body["refresh_token"]}
    assert error_of(world, refresh, basic("conf", "secret-1")).error == "invalid_grant"


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"redirect_uri": "https://rp.example/other"}, "invalid_grant"),
        ({"code": "no-such-code"}, "invalid_grant"),
        ({"code": ""}, "invalid_request"),
    ],
)
def test_code_errors(world: World, change: dict[str, str], expected: str) -> None:
    form = {"grant_type": "authorization_code", "code": code_for(world), "redirect_uri": CB}
    form.update(change)
    if not form["code"]:
        del form["code"]
    assert error_of(world, form, basic("conf", "secret-1")).error == expected


def test_expired_code_and_code_of_another_client(world: World) -> None:
    expired = code_for(world, expires_at=int(time.time()) - 1)
    other = code_for(world, client_id="pub")
    for code in (expired, other):
        form = {"grant_type": "authorization_code", "code": code, "redirect_uri": CB}
        error = error_of(world, form, basic("conf", "secret-1"))
        assert (error.error, error.status_code) == ("invalid_grant", 400)


def test_pkce(world: World) -> None:
    code = code_for(world, client_id="pub", code_challenge=s256(VERIFIER),
                    code_challenge_method="S256")
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": CB,
            "client_id": "pub", "code_verifier": "w" * 50}
    assert error_of(world, form).error == "invalid_grant"  # wrong verifier; code now used
    code = code_for(world, client_id="pub", code_challenge=s256(VERIFIER),
                    code_challenge_method="S256")
    form.update(code=code, code_verifier=VERIFIER)
    assert "access_token" in run(world.endpoint.handle(request(form)))
    code = code_for(world, client_id="pub")  # public client without PKCE
    form.update(code=code)
    assert error_of(world, form).error == "invalid_grant"


def test_refresh_rotation_and_reuse_revokes_the_grant(world: World) -> None:
    first = redeem(world, code_for(world))
    auth = basic("conf", "secret-1")
    second = run(world.endpoint.handle(request(
        {"grant_type": "refresh_token", "refresh_token": first["refresh_token"]}, auth)))
    assert second["refresh_token"] != first["refresh_token"]
    assert "id_token" in second
    error = error_of(world, {"grant_type": "refresh_token",
                             "refresh_token": first["refresh_token"]}, auth)
    assert error.error == "invalid_grant" and "revoked" in str(error)
    error = error_of(world, {"grant_type": "refresh_token",
                             "refresh_token": second["refresh_token"]}, auth)
    assert error.error == "invalid_grant"


def test_refresh_scope_may_narrow_not_widen(world: World) -> None:
    body = redeem(world, code_for(world))
    auth = basic("conf", "secret-1")
    error = error_of(world, {"grant_type": "refresh_token", "refresh_token": body["refresh_token"],
                             "scope": "openid read"}, auth)
    assert (error.error, error.status_code) == ("invalid_scope", 400)


def test_client_credentials(world: World) -> None:
    auth = basic("conf", "secret-1")
    body = run(world.endpoint.handle(request({"grant_type": "client_credentials"}, auth)))
    assert body["scope"] == "profile email read" and "refresh_token" not in body
    error = error_of(world, {"grant_type": "client_credentials", "scope": "admin"}, auth)
    assert (error.error, error.status_code) == ("invalid_scope", 400)
    error = error_of(world, {"grant_type": "client_credentials", "scope": "openid"}, auth)
    assert error.error == "invalid_scope"


def test_password_grant(world: World) -> None:
    auth = basic("conf", "secret-1")
    form = {"grant_type": "password", "username": "jane", "password": "pw-1", "scope": "openid"}
    assert "id_token" in run(world.endpoint.handle(request(form, auth)))
    error = error_of(world, {**form, "password": "nope"}, auth)
    assert (error.error, error.status_code) == ("invalid_grant", 400)
    world.clients.add(ClientMetadata(client_id="nopw", client_secret="s",
                                     grant_types=("password",), scopes=("openid",)))
    error = error_of(world, form, basic("nopw", "s"))
    assert (error.error, error.status_code) == ("unauthorized_client", 400)


def test_grant_type_errors(world: World) -> None:
    auth = basic("conf", "secret-1")
    error = error_of(world, {}, auth)
    assert (error.error, error.status_code) == ("invalid_request", 400)
    error = error_of(world, {"grant_type": "urn:nope"}, auth)
    assert (error.error, error.status_code) == ("unsupported_grant_type", 400)
    error = error_of(world, {"grant_type": "client_credentials", "client_id": "pub"})
    assert (error.error, error.status_code) == ("unauthorized_client", 400)


def test_client_authentication_errors(world: World) -> None:
    form = {"grant_type": "client_credentials"}
    error = error_of(world, form, basic("conf", "wrong"))
    assert (error.error, error.status_code) == ("invalid_client", 401)
    assert error.render()[1]["WWW-Authenticate"].startswith("Basic")
    error = error_of(world, form, basic("nobody", "x"))
    assert (error.error, error.status_code) == ("invalid_client", 401)
    error = error_of(world, {**form, "client_id": "conf", "client_secret": "wrong"})
    assert (error.error, error.status_code) == ("invalid_client", 401)
    assert "WWW-Authenticate" not in error.render()[1]
    error = error_of(world, {**form, "client_id": "conf", "client_secret": "secret-1"},
                     basic("conf", "secret-1"))
    assert (error.error, error.status_code) == ("invalid_request", 400)  # two methods
    error = error_of(world, {**form, "client_id": "conf", "client_secret": "secret-1"})
    assert error.error == "invalid_client"  # registered for basic, used post
    error = error_of(world, form)
    assert (error.error, error.status_code) == ("invalid_client", 401)


def test_basic_credentials_are_form_urldecoded(world: World) -> None:
    world.clients.add(ClientMetadata(client_id="a:b", client_secret="p@ss word+",
                                     grant_types=("client_credentials",), scopes=("read",)))
    auth = basic("a%3Ab", "p%40ss+word%2B")
    body = run(world.endpoint.handle(request({"grant_type": "client_credentials"}, auth)))
    assert body["scope"] == "read"


def test_pairwise_subject_differs_per_sector(world: World) -> None:
    world.clients.add(ClientMetadata(
        client_id="pw", client_secret="s", redirect_uris=(CB,), subject_type="pairwise",
        grant_types=("authorization_code",), scopes=("openid",),
    ))
    code = code_for(world, client_id="pw")
    body = run(world.endpoint.handle(request(
        {"grant_type": "authorization_code", "code": code, "redirect_uri": CB}, basic("pw", "s"))))
    sub = jwt.decode(body["id_token"], world.keys.key).claims["sub"]
    assert sub != "u-1" and len(sub) == 43
    assert sub == world.factory.subject(world.clients.data["pw"], "u-1")


def test_jwt_access_token(world: World) -> None:
    world.clients.add(ClientMetadata(client_id="j", client_secret="s", access_token_format="jwt",
                                     grant_types=("client_credentials",), scopes=("read",)))
    body = run(world.endpoint.handle(request({"grant_type": "client_credentials"},
                                             basic("j", "s"))))
    token = jwt.decode(body["access_token"], world.keys.key)
    assert token.header["typ"] == "at+jwt"
    assert token.claims["client_id"] == "j" and token.claims["sub"] == "j"
    assert token.claims["scope"] == "read" and token.claims["iss"] == ISSUER
    assert body["access_token"] in world.tokens.data
