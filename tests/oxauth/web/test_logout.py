"""/oxauth/restv1/end_session on real processes: RP-initiated logout, the confirmation page
and its CSRF token, front-channel iframes, and back-channel Logout Tokens POSTed to a real
HTTP receiver that validates them with the provider's JWKS."""

from __future__ import annotations

import pytest
from tests.oxauth.web.conftest import (
    BYE,
    ISSUER,
    Browser,
    LogoutReceiver,
    World,
    hidden_fields,
    page_code,
    query,
)

from oxswarm.directory.models import Client
from oxswarm.local.process import free_port

pytestmark = pytest.mark.integration

END = "/oxauth/restv1/end_session"


def sign_in(browser: Browser, world: World, client: Client, person: object) -> dict[str, str]:
    """Signed in through ``client``: its ID token's claims and the token itself."""
    done = browser.signed_in(client, person)  # type: ignore[arg-type]
    tokens = world.redeem(client, query(done)["code"][0])
    claims = world.id_token(tokens["id_token"])
    return {"id_token": tokens["id_token"], "sid": claims["sid"], "sub": claims["sub"]}


def test_no_session_no_parameters(browser: Browser) -> None:
    r = browser.get(END)
    assert r.status_code == 200 and "You are signed out" in r.text


def test_invalid_hint_is_refused(browser: Browser) -> None:
    r = browser.get(END, params={"id_token_hint": "forged", "post_logout_redirect_uri": BYE})
    assert r.status_code == 400 and page_code(r) == "invalid_request"


def test_unregistered_post_logout_uri_is_refused(browser: Browser, world: World) -> None:
    client, person = world.client(), world.person()
    hint = sign_in(browser, world, client, person)["id_token"]
    r = browser.get(
        END, params={"id_token_hint": hint, "post_logout_redirect_uri": "https://evil.example/"}
    )
    assert r.status_code == 400 and page_code(r) == "invalid_request"
    assert "location" not in r.headers


def test_post_logout_uri_without_client_is_refused(browser: Browser) -> None:
    r = browser.get(END, params={"post_logout_redirect_uri": BYE})
    assert r.status_code == 400 and page_code(r) == "invalid_request"


def test_client_id_not_the_hint_audience(browser: Browser, world: World) -> None:
    client, other, person = world.client(), world.client(), world.person()
    hint = sign_in(browser, world, client, person)["id_token"]
    r = browser.get(END, params={"id_token_hint": hint, "client_id": other.client_id})
    assert r.status_code == 400 and page_code(r) == "invalid_request"


def test_unknown_client_id(browser: Browser) -> None:
    r = browser.get(END, params={"client_id": "nobody"})
    assert r.status_code == 400 and page_code(r) == "invalid_client"


def test_hint_for_this_session_logs_out_at_the_other_process(
    browser: Browser, world: World
) -> None:
    client, person = world.client(), world.person()
    hint = sign_in(browser, world, client, person)["id_token"]
    r = browser.get(
        END, at=1, params={"id_token_hint": hint, "post_logout_redirect_uri": BYE, "state": "s9"}
    )
    assert r.status_code == 303
    assert r.headers["location"] == BYE + "?state=s9"
    assert 'oxauth_session=""' in r.headers["set-cookie"]
    again = browser.authorize(client, prompt="none")
    assert query(again)["error"] == ["login_required"]


def test_without_hint_the_user_confirms(browser: Browser, world: World) -> None:
    client, person = world.client(), world.person()
    sign_in(browser, world, client, person)
    r = browser.get(END, params={"client_id": client.client_id, "post_logout_redirect_uri": BYE})
    assert r.status_code == 200 and "Sign out?" in r.text
    form = hidden_fields(r.text)
    bad = browser.post(END, at=1, data={**form, "csrf_token": "forged", "logout": "yes"})
    assert bad.status_code == 200 and "Sign out?" in bad.text
    assert "code" in query(browser.authorize(client, prompt="none"))  # still signed in
    ok = browser.post(END, at=1, data={**form, "logout": "yes"})
    assert ok.status_code == 303 and ok.headers["location"] == BYE
    assert query(browser.authorize(client, prompt="none"))["error"] == ["login_required"]


def test_front_channel_iframes(browser: Browser, world: World) -> None:
    client = world.client(frontchannel_logout_uri="https://rp.example/fc")
    plain = world.client()  # no front-channel URI: no iframe
    person = world.person()
    signed = sign_in(browser, world, client, person)
    browser.signed_in(plain, person)
    r = browser.get(
        END, params={"id_token_hint": signed["id_token"], "post_logout_redirect_uri": BYE}
    )
    assert r.status_code == 200
    src = f"https://rp.example/fc?iss=http%3A%2F%2Fid.oxswarm.test&amp;sid={signed['sid']}"
    assert f'<iframe src="{src}"' in r.text
    assert r.text.count("<iframe") == 1
    assert "frame-src https://rp.example" in r.headers["content-security-policy"]
    assert 'href="https://rp.example/bye"' in r.text


def test_back_channel_logout_to_every_client_of_the_session(
    browser: Browser, world: World, receiver: LogoutReceiver
) -> None:
    first = world.client(backchannel_logout_uri=receiver.uri("/bc/one"))
    second = world.client(backchannel_logout_uri=receiver.uri("/bc/two"))
    receiver.audiences |= {first.client_id, second.client_id}
    person = world.person()
    signed = sign_in(browser, world, first, person)
    assert browser.signed_in(second, person, at=1).status_code == 303  # same session (SSO)
    r = browser.get(END, at=1, params={"id_token_hint": signed["id_token"]})
    assert r.status_code == 200
    got = receiver.wait(2)
    assert len(got) == 2, got
    by_path = {g.path: g for g in got}
    assert set(by_path) == {"/bc/one", "/bc/two"}
    for path, client in (("/bc/one", first), ("/bc/two", second)):
        g = by_path[path]
        assert g.problem is None, g.problem
        assert g.verified is not None
        assert g.verified["aud"] == client.client_id
        assert g.verified["iss"] == ISSUER
        assert g.verified["sid"] == signed["sid"]
        assert g.verified["sub"] == signed["sub"] == person.inum
        assert g.verified["_header"]["typ"] == "logout+jwt"
    assert query(browser.authorize(first, prompt="none"))["error"] == ["login_required"]


def test_back_channel_failure_does_not_block_logout(
    browser: Browser, world: World, receiver: LogoutReceiver
) -> None:
    dead = world.client(backchannel_logout_uri=f"http://127.0.0.1:{free_port()}/bc")
    alive = world.client(backchannel_logout_uri=receiver.uri())
    receiver.audiences.add(alive.client_id)
    person = world.person()
    signed = sign_in(browser, world, dead, person)
    browser.signed_in(alive, person)
    r = browser.get(
        END, params={"id_token_hint": signed["id_token"], "post_logout_redirect_uri": BYE}
    )
    assert r.status_code == 303 and r.headers["location"] == BYE
    got = receiver.wait(1)
    assert [g.problem for g in got] == [None]
    assert query(browser.authorize(dead, prompt="none"))["error"] == ["login_required"]


def test_an_access_token_is_not_a_hint(browser: Browser, world: World) -> None:
    """Issue 8.8: a JWT access token (``typ: at+jwt``) the provider signed, naming the
    session's ``sid``, must not log the user out (at logout nor at authorize)."""
    client, person = world.client(access_token_format="jwt"), world.person()
    done = browser.signed_in(client, person)
    access = world.redeem(client, query(done)["code"][0])["access_token"]
    assert access.count(".") == 2  # a JWT, signed by the provider
    for params in ({}, {"client_id": client.client_id, "post_logout_redirect_uri": BYE}):
        r = browser.get(END, at=1, params={"id_token_hint": access, **params})
        assert r.status_code == 400 and page_code(r) == "invalid_request"
        assert "set-cookie" not in r.headers
    assert "code" in query(browser.authorize(client, prompt="none"))  # still signed in
    r = browser.authorize(client, prompt="none", id_token_hint=access)
    assert query(r)["error"] == ["invalid_request"]


def test_an_id_token_of_another_client_is_not_a_hint(browser: Browser, world: World) -> None:
    client, other, person = world.client(), world.client(), world.person()
    hint = sign_in(browser, world, client, person)["id_token"]
    browser.signed_in(other, person)
    r = browser.authorize(other, prompt="none", id_token_hint=hint)
    assert query(r)["error"] == ["invalid_request"]
    assert "code" in query(browser.authorize(client, prompt="none", id_token_hint=hint))
    r = browser.get(END, params={"id_token_hint": hint, "client_id": other.client_id})
    assert r.status_code == 400 and page_code(r) == "invalid_request"
    assert "code" in query(browser.authorize(client, prompt="none"))  # still signed in


def test_front_channel_uri_cannot_inject_into_the_csp(browser: Browser, world: World) -> None:
    """Issue 8.2: the registered text of ``frontchannel_logout_uri`` never reaches the
    Content-Security-Policy; an invalid one is skipped with its iframe."""
    evil = world.client(
        frontchannel_logout_uri="https://rp.example; script-src * 'unsafe-inline'/fc"
    )
    good = world.client(frontchannel_logout_uri="https://rp2.example:8443/fc")
    person = world.person()
    signed = sign_in(browser, world, evil, person)
    browser.signed_in(good, person)
    r = browser.get(END, params={"id_token_hint": signed["id_token"]})
    assert r.status_code == 200
    csp = r.headers["content-security-policy"]
    assert "*" not in csp and "unsafe-inline" not in csp
    assert [d.split()[0] for d in csp.split("; ")].count("script-src") == 1
    assert "frame-src https://rp2.example:8443;" in csp
    assert r.text.count("<iframe") == 1 and "rp2.example:8443/fc" in r.text
