"""/oxauth/consent on real processes: CSRF bound to the session, denial, and consent
remembered in the directory across two processes and a restart."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest
from tests.oxauth.conftest import Server
from tests.oxauth.web.conftest import (
    ISSUER,
    Browser,
    World,
    fragment,
    hidden_fields,
    page_code,
    query,
)

from oxswarm.oxauth.web.stores import DirectoryConsentStore

pytestmark = pytest.mark.integration


def granted(world: World, sub: str, client_id: str) -> frozenset[str]:
    with world.stack.directory() as directory:
        return asyncio.run(DirectoryConsentStore(directory).granted(sub, client_id))


def test_bad_csrf(browser: Browser, world: World) -> None:
    client, person = world.client(), world.person()
    consent = browser.login(browser.authorize(client), person)
    r = browser.consent(consent, csrf_token="forged")
    assert r.status_code == 403
    assert page_code(r) == "invalid_csrf_token"
    assert granted(world, person.inum, client.client_id) == frozenset()


def test_csrf_of_another_session(browser: Browser, world: World, new_browser) -> None:  # type: ignore[no-untyped-def]
    client, person = world.client(), world.person()
    mine = browser.login(browser.authorize(client), person)
    other = new_browser()
    theirs = other.login(other.authorize(client), person)
    r = browser.consent(mine, csrf_token=hidden_fields(theirs.text)["csrf_token"])
    assert r.status_code == 403
    assert page_code(r) == "invalid_csrf_token"


def test_denied(browser: Browser, world: World) -> None:
    client, person = world.client(), world.person()
    r = browser.consent(browser.login(browser.authorize(client), person), decision="deny")
    assert r.status_code == 303
    assert query(r)["error"] == ["access_denied"] and query(r)["state"] == ["st1"]
    assert granted(world, person.inum, client.client_id) == frozenset()


def test_expired_request(browser: Browser, world: World) -> None:
    client, person = world.client(), world.person()
    r = browser.consent(browser.login(browser.authorize(client), person), authz="bogus")
    assert r.status_code == 400
    assert page_code(r) == "invalid_request"


def test_without_session_starts_over(browser: Browser, world: World) -> None:
    client, person = world.client(), world.person()
    consent = browser.login(browser.authorize(client), person)
    browser.http.cookies.delete("oxauth_session")
    r = browser.consent(consent)
    assert r.status_code == 200 and 'name="password"' in r.text


def test_remembered_across_processes_and_a_restart(
    world: World, new_browser: Callable[[], Browser], oxauth_servers: Callable[..., Server]
) -> None:
    client, person = world.client(), world.person()
    first = new_browser()
    consent = first.login(first.authorize(client, scope="openid profile"), person)
    assert "Allow access?" in consent.text
    assert first.consent(consent).status_code == 303
    assert granted(world, person.inum, client.client_id) == {"openid", "profile"}
    # another browser at the other process: sign-in only, no consent
    second = new_browser()
    done = second.login(second.authorize(client, scope="openid profile", at=1), person, at=1)
    assert done.status_code == 303 and "code" in query(done)
    # a scope not granted yet is asked for
    more = second.authorize(client, scope="openid email", at=1)
    assert "Allow access?" in more.text
    # a fresh process (a restart): the session and the consent are still there
    fresh = oxauth_servers(issuer=ISSUER)
    first.servers = [fresh]
    silent = first.authorize(client, scope="openid profile", prompt="none")
    assert silent.status_code == 302 and "code" in query(silent)
    third = new_browser()
    third.servers = [fresh]
    again = third.login(third.authorize(client, scope="openid"), person)
    assert again.status_code == 303 and "code" in query(again)


EMAIL_CLAIMS = '{"userinfo":{"email":null},"id_token":{"email":{"essential":true}}}'


def test_claims_parameter_releases_nothing_beyond_consent(browser: Browser, world: World) -> None:
    """Issue 8.3: consented for ``openid`` only, ``prompt=none&claims=...email`` must not
    release the e-mail (userinfo, ID token of the token endpoint, implicit ID token)."""
    client, person = world.client(), world.person()
    first = browser.signed_in(client, person, scope="openid")
    assert first.status_code == 303 and "code" in query(first)
    again = browser.authorize(client, scope="openid", prompt="none", claims=EMAIL_CLAIMS)
    assert again.status_code == 302, again.text
    tokens = world.redeem(client, query(again)["code"][0], at=1)
    assert "email" not in world.id_token(tokens["id_token"])
    with world.servers[1].client() as http:
        info = http.get(
            "/oxauth/restv1/userinfo",
            headers={"Authorization": f"Bearer {tokens['access_token']}"},
        )
    assert info.status_code == 200 and info.json() == {"sub": person.inum}
    implicit = browser.authorize(
        client, scope="openid", prompt="none", claims=EMAIL_CLAIMS,
        response_type="id_token", nonce="n-1",
    )  # fmt: skip
    assert implicit.status_code == 302
    assert "email" not in world.id_token(fragment(implicit)["id_token"][0])
    # once the user consents to the email scope, the claim moves where it was asked for
    browser.signed_in(client, person, scope="openid email")
    moved = browser.authorize(
        client, scope="openid email", prompt="none", claims=EMAIL_CLAIMS,
        response_type="id_token", nonce="n-2",
    )  # fmt: skip
    assert world.id_token(fragment(moved)["id_token"][0])["email"] == person.email
