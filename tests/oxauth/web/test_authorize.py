"""/oxauth/restv1/authorize on real processes: every error path with its exact code, prompt,
max_age, single sign-on across clients, the implicit and hybrid flows and form_post, with
the real tokens checked against the provider's JWKS."""

from __future__ import annotations

import base64
import hashlib
import time

import pytest
from tests.oxauth.web.conftest import (
    CB,
    ISSUER,
    Browser,
    World,
    fragment,
    hidden_fields,
    page_code,
    query,
)

pytestmark = pytest.mark.integration


def half_hash(value: str) -> str:
    """OIDC Core 3.3.2.11: left half of the SHA-256, base64url (RS256)."""
    digest = hashlib.sha256(value.encode()).digest()
    return base64.urlsafe_b64encode(digest[:16]).rstrip(b"=").decode()


def test_missing_client_id_page(browser: Browser, world: World) -> None:
    r = browser.get(
        "/oxauth/restv1/authorize", params={"redirect_uri": CB, "response_type": "code"}
    )
    assert r.status_code == 400
    assert page_code(r) == "invalid_request"


def test_unknown_client_page(browser: Browser, world: World) -> None:
    r = browser.get("/oxauth/restv1/authorize", params={"client_id": "nobody", "redirect_uri": CB})
    assert r.status_code == 400
    assert page_code(r) == "invalid_client"


def test_unregistered_redirect_uri_page(browser: Browser, world: World) -> None:
    r = browser.authorize(world.client(), redirect_uri="https://evil.example/cb")
    assert r.status_code == 400
    assert page_code(r) == "invalid_request_redirect_uri"
    assert "location" not in r.headers


def test_repeated_parameter_page(browser: Browser, world: World) -> None:
    client = world.client()
    r = browser.get(
        f"/oxauth/restv1/authorize?client_id={client.client_id}&client_id={client.client_id}"
        f"&redirect_uri={CB}"
    )
    assert r.status_code == 400
    assert page_code(r) == "invalid_request"


def test_unsupported_response_type_redirects(browser: Browser, world: World) -> None:
    r = browser.authorize(world.client(), response_type="code bogus")
    assert r.status_code == 302
    q = query(r)
    assert q["error"] == ["unsupported_response_type"]
    assert q["state"] == ["st1"]
    assert q["iss"] == [ISSUER]


def test_unauthorized_response_type(browser: Browser, world: World) -> None:
    r = browser.authorize(
        world.client(response_types=["code"]), response_type="id_token", nonce="n"
    )
    assert r.status_code == 302
    assert fragment(r)["error"] == ["unauthorized_client"]


def test_invalid_scope(browser: Browser, world: World) -> None:
    assert query(browser.authorize(world.client(), scope="openid admin"))["error"] == [
        "invalid_scope"
    ]


def test_public_client_without_pkce(browser: Browser, world: World) -> None:
    client = world.client(token_endpoint_auth_method="none", client_secret=None)
    assert query(browser.authorize(client))["error"] == ["invalid_request"]


def test_plain_pkce_refused(browser: Browser, world: World) -> None:
    r = browser.authorize(world.client(), code_challenge="a" * 43, code_challenge_method="plain")
    assert query(r)["error"] == ["invalid_request"]


def test_nonce_required_for_implicit(browser: Browser, world: World) -> None:
    r = browser.authorize(world.client(), response_type="id_token token")
    assert fragment(r)["error"] == ["invalid_request"]


def test_invalid_id_token_hint(browser: Browser, world: World) -> None:
    client, person = world.client(), world.person()
    browser.signed_in(client, person)
    assert query(browser.authorize(client, id_token_hint="forged"))["error"] == ["invalid_request"]


def test_login_page_is_accessible(browser: Browser, world: World) -> None:
    r = browser.authorize(world.client(), login_hint="alice")
    assert r.status_code == 200
    html = r.text
    assert '<html lang="en">' in html and "<h1>Sign in</h1>" in html
    assert '<label for="username">' in html and 'id="username" name="username"' in html
    assert '<label for="password">' in html and 'id="password" name="password"' in html
    assert 'value="alice"' in html
    assert r.headers["x-frame-options"] == "DENY"
    assert r.headers["cache-control"] == "no-store"
    fields = hidden_fields(html)
    assert fields["csrf_token"] and fields["authz"]
    assert "oxauth_browser" in r.headers["set-cookie"]


def test_post_to_authorize(browser: Browser, world: World) -> None:
    client = world.client()
    r = browser.post(
        "/oxauth/restv1/authorize",
        data={
            "client_id": client.client_id,
            "redirect_uri": CB,
            "response_type": "code",
            "scope": "openid",
        },
    )
    assert r.status_code == 200 and 'name="username"' in r.text


def test_code_flow_tokens(browser: Browser, world: World) -> None:
    client, person = world.client(), world.person()
    done = browser.signed_in(client, person, nonce="n-0", scope="openid email")
    assert done.status_code == 303
    q = query(done)
    assert q["state"] == ["st1"] and q["iss"] == [ISSUER]
    tokens = world.redeem(client, q["code"][0], at=1)
    claims = world.id_token(tokens["id_token"])
    assert claims["iss"] == ISSUER and claims["aud"] == client.client_id
    assert claims["sub"] == person.inum and claims["nonce"] == "n-0"
    assert claims["amr"] == ["pwd"] and claims["sid"]
    assert claims["acr"] == "simple_password_auth"
    assert abs(claims["auth_time"] - time.time()) < 600


def test_prompt_none_without_session(browser: Browser, world: World) -> None:
    r = browser.authorize(world.client(), prompt="none")
    assert r.status_code == 302
    assert query(r)["error"] == ["login_required"]
    assert query(r)["state"] == ["st1"]


def test_prompt_none_outcomes(browser: Browser, world: World) -> None:
    first, second, person = world.client(), world.client(), world.person()
    assert browser.signed_in(first, person).status_code == 303
    # signed in, consented to the first client, not to the second
    ok = browser.authorize(first, prompt="none", at=1)
    assert ok.status_code == 302 and "code" in query(ok)
    assert query(browser.authorize(second, prompt="none"))["error"] == ["consent_required"]
    assert query(browser.authorize(first, prompt="none", scope="openid email"))["error"] == [
        "consent_required"
    ]
    # prompt=none with another prompt value is invalid
    both = browser.authorize(first, prompt="none login")
    assert query(both)["error"] == ["invalid_request"]


def test_prompt_login_asks_again_once(browser: Browser, world: World) -> None:
    client, person = world.client(), world.person()
    browser.signed_in(client, person)
    page = browser.authorize(client, prompt="login", at=1)
    assert page.status_code == 200 and 'name="password"' in page.text
    done = browser.login(page, person, at=1)
    assert done.status_code == 303 and "code" in query(done)  # consent remembered, no loop


def test_prompt_consent_asks_again(browser: Browser, world: World) -> None:
    client, person = world.client(), world.person()
    browser.signed_in(client, person)
    page = browser.authorize(client, prompt="consent")
    assert page.status_code == 200 and "Allow access?" in page.text
    assert browser.consent(page).status_code == 303


def test_prompt_login_with_new_consent_does_not_loop(browser: Browser, world: World) -> None:
    client, person = world.client(), world.person()
    consent = browser.login(browser.authorize(client, prompt="login", max_age="0"), person)
    assert "Allow access?" in consent.text
    assert browser.consent(consent).status_code == 303


def test_max_age_forces_a_new_sign_in(browser: Browser, world: World) -> None:
    client, person = world.client(), world.person()
    first = browser.signed_in(client, person)
    auth_time = world.id_token(world.redeem(client, query(first)["code"][0])["id_token"])[
        "auth_time"
    ]
    time.sleep(2.2)
    assert query(browser.authorize(client, max_age="1", prompt="none"))["error"] == [
        "login_required"
    ]
    page = browser.authorize(client, max_age="1", at=1)
    assert 'name="password"' in page.text
    done = browser.login(page, person, at=1)
    assert done.status_code == 303
    claims = world.id_token(world.redeem(client, query(done)["code"][0])["id_token"])
    assert claims["auth_time"] > auth_time
    # a generous max_age is satisfied by the session
    assert "code" in query(browser.authorize(client, max_age="3600", prompt="none"))


def test_sso_across_clients(browser: Browser, world: World) -> None:
    first, second, person = world.client(), world.client(), world.person()
    a = browser.signed_in(first, person)
    page = browser.authorize(second, at=1)
    assert page.status_code == 200 and "Allow access?" in page.text  # no second sign-in
    b = browser.consent(page, at=1)
    assert b.status_code == 303
    ida = world.id_token(world.redeem(first, query(a)["code"][0])["id_token"])
    idb = world.id_token(world.redeem(second, query(b)["code"][0], at=1)["id_token"])
    assert ida["sid"] == idb["sid"] and ida["sub"] == idb["sub"] == person.inum
    assert ida["auth_time"] == idb["auth_time"]
    assert (ida["aud"], idb["aud"]) == (first.client_id, second.client_id)


def test_forged_session_cookie_is_ignored(browser: Browser, world: World) -> None:
    client, person = world.client(), world.person()
    browser.signed_in(client, person)
    value = browser.http.cookies.get("oxauth_session")
    assert value
    sid = value.rsplit(".", 1)[0]
    browser.http.cookies.clear()
    browser.http.cookies.set("oxauth_session", sid + ".forged", domain="127.0.0.1", path="/oxauth")
    assert query(browser.authorize(client, prompt="none"))["error"] == ["login_required"]


def test_implicit_fragment(browser: Browser, world: World) -> None:
    client, person = world.client(), world.person()
    r = browser.signed_in(client, person, response_type="id_token token", nonce="n-1")
    assert r.status_code == 303
    assert "?" not in r.headers["location"]
    f = fragment(r)
    assert f["token_type"] == ["Bearer"] and int(f["expires_in"][0]) > 0
    assert f["state"] == ["st1"] and f["iss"] == [ISSUER]
    claims = world.id_token(f["id_token"][0])
    assert claims["nonce"] == "n-1" and claims["aud"] == client.client_id
    assert claims["at_hash"] == half_hash(f["access_token"][0])
    assert claims["s_hash"] == half_hash("st1")
    with world.servers[1].client() as http:
        info = http.get(
            "/oxauth/restv1/userinfo", headers={"Authorization": f"Bearer {f['access_token'][0]}"}
        )
    assert info.status_code == 200 and info.json()["sub"] == person.inum


def test_implicit_id_token_only(browser: Browser, world: World) -> None:
    client, person = world.client(), world.person()
    f = fragment(browser.signed_in(client, person, response_type="id_token", nonce="n-3"))
    assert "access_token" not in f
    claims = world.id_token(f["id_token"][0])
    assert claims["nonce"] == "n-3" and "at_hash" not in claims


def test_hybrid_code_id_token(browser: Browser, world: World) -> None:
    client, person = world.client(), world.person()
    f = fragment(browser.signed_in(client, person, response_type="code id_token", nonce="n-2"))
    claims = world.id_token(f["id_token"][0])
    assert claims["c_hash"] == half_hash(f["code"][0])
    tokens = world.redeem(client, f["code"][0], at=1)
    assert world.id_token(tokens["id_token"])["sub"] == claims["sub"]


def test_form_post(browser: Browser, world: World) -> None:
    client, person = world.client(), world.person()
    r = browser.signed_in(client, person, response_mode="form_post")
    assert r.status_code == 200
    assert f'<form method="post" action="{CB}"' in r.text
    fields = hidden_fields(r.text)
    assert fields["state"] == "st1" and fields["iss"] == ISSUER
    # submitted by the pages' one script, a file loaded with the response's nonce
    nonce = r.headers["content-security-policy"].split("script-src 'nonce-")[1].split("'")[0]
    assert '<script src="/oxauth/branding/pages.js?v=' in r.text
    assert f'nonce="{nonce}" defer></script>' in r.text and "submit()" not in r.text
    assert "submit()" in browser.get("/oxauth/branding/pages.js").text
    assert world.redeem(client, fields["code"])["token_type"] == "Bearer"


def test_hybrid_form_post(browser: Browser, world: World) -> None:
    client, person = world.client(), world.person()
    r = browser.signed_in(
        client, person, response_type="code id_token", response_mode="form_post", nonce="n-4"
    )
    fields = hidden_fields(r.text)
    assert world.id_token(fields["id_token"])["c_hash"] == half_hash(fields["code"])


def test_acr_values(browser: Browser, world: World) -> None:
    with world.servers[0].client() as http:
        doc = http.get("/.well-known/openid-configuration").json()
    assert doc["acr_values_supported"] == ["simple_password_auth", "passport_social",
                                           "passport_saml"]
    client, person = world.client(), world.person()
    # acr_values is voluntary: an unknown value still signs in with the password method
    done = browser.signed_in(client, person, acr_values="urn:example:mfa simple_password_auth")
    claims = world.id_token(world.redeem(client, query(done)["code"][0])["id_token"])
    assert (claims["acr"], claims["amr"]) == ("simple_password_auth", ["pwd"])


def test_essential_acr_that_cannot_be_met(browser: Browser, world: World) -> None:
    import json

    claims = {"id_token": {"acr": {"essential": True, "values": ["urn:example:mfa"]}}}
    r = browser.authorize(world.client(), claims=json.dumps(claims))
    assert r.status_code == 302
    assert query(r)["error"] == ["unmet_authentication_requirements"]
    assert query(r)["state"] == ["st1"]
    met = {"id_token": {"acr": {"essential": True, "values": ["simple_password_auth"]}}}
    page = browser.authorize(world.client(), claims=json.dumps(met))
    assert page.status_code == 200 and 'name="password"' in page.text
