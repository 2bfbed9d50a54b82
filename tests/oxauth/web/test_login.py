"""/oxauth/login on two real processes: CSRF, wrong passwords, the lockout per user and per
address (thresholds read from the config store, counters in the real cache, shared by both
processes), a new session per sign-in.
"""

from __future__ import annotations

import hashlib

import pytest
from tests.oxauth.web.conftest import (
    ADDRESS_LIMIT,
    USER_LIMIT,
    Browser,
    World,
    page_code,
    query,
)

from oxswarm.oxauth.web.lockout import ADDRESS_KIND, USER_KIND

pytestmark = pytest.mark.integration


def ident(value: str) -> str:
    return hashlib.sha256(value.strip().lower().encode()).hexdigest()


def test_success_sets_a_session_and_continues(browser: Browser, world: World) -> None:
    client, person = world.client(), world.person()
    page = browser.authorize(client)
    assert page.status_code == 200
    consent = browser.login(page, person)
    assert consent.status_code == 200 and 'name="decision"' in consent.text
    cookie = consent.headers["set-cookie"]
    assert "oxauth_session=" in cookie and "HttpOnly" in cookie
    assert "samesite=lax" in cookie.lower() and "Secure" not in cookie


def test_bad_csrf_token(browser: Browser, world: World) -> None:
    client, person = world.client(), world.person()
    r = browser.login(browser.authorize(client), person, csrf_token="x" * 43)
    assert r.status_code == 403
    assert page_code(r) == "invalid_csrf_token"
    assert "oxauth_session" not in r.headers.get("set-cookie", "")


def test_csrf_token_bound_to_browser_cookie(browser: Browser, world: World) -> None:
    client, person = world.client(), world.person()
    page = browser.authorize(client)
    browser.http.cookies.clear()
    r = browser.login(page, person)
    assert r.status_code == 403
    assert page_code(r) == "invalid_csrf_token"


def test_csrf_token_from_another_browser(browser: Browser, world: World, new_browser) -> None:  # type: ignore[no-untyped-def]
    client, person = world.client(), world.person()
    page = browser.authorize(client)
    other = new_browser()
    other.authorize(client)  # has its own browser cookie
    r = other.login(page, person)
    assert r.status_code == 403
    assert page_code(r) == "invalid_csrf_token"


def test_tampered_request(browser: Browser, world: World) -> None:
    client, person = world.client(), world.person()
    page = browser.authorize(client)
    from tests.oxauth.web.conftest import hidden_fields

    data, mac = hidden_fields(page.text)["authz"].rsplit(".", 1)
    r = browser.login(page, person, authz=data[:-2] + "AA." + mac)
    assert r.status_code == 400
    assert page_code(r) == "invalid_request"


def test_missing_fields(browser: Browser, world: World) -> None:
    client, person = world.client(), world.person()
    r = browser.login(browser.authorize(client), person, password="")
    assert r.status_code == 400
    assert 'role="alert"' in r.text and 'aria-describedby="login-error"' in r.text


def test_wrong_password(browser: Browser, world: World) -> None:
    client, person = world.client(), world.person()
    r = browser.login(browser.authorize(client), person, password="wrong")
    assert r.status_code == 401
    assert "The username or password is wrong." in r.text
    assert 'aria-invalid="true"' in r.text
    assert f'value="{person.uid}"' in r.text
    assert "oxauth_session" not in r.headers.get("set-cookie", "")
    assert world.counter(USER_KIND, ident(person.uid)) == 1


def test_unknown_user(browser: Browser, world: World) -> None:
    client = world.client()
    r = browser.login(browser.authorize(client), "nobody-" + browser.address)
    assert r.status_code == 401


def test_lockout_per_user_shared_by_both_processes(browser: Browser, world: World) -> None:
    client, person = world.client(), world.person()
    page = browser.authorize(client)
    for i in range(USER_LIMIT):  # alternating between the two processes
        assert browser.login(page, person, password="wrong", at=i % 2).status_code == 401
    assert world.counter(USER_KIND, ident(person.uid)) == USER_LIMIT
    for at in (0, 1):
        r = browser.login(page, person, at=at)  # the right password, but locked
        assert r.status_code == 429, r.text
        assert "Too many failed sign-in attempts" in r.text
    assert world.counter(USER_KIND, ident(person.uid)) == USER_LIMIT  # no count while locked


def test_lockout_per_address_shared_by_both_processes(
    browser: Browser,
    world: World,
    new_browser,  # type: ignore[no-untyped-def]
) -> None:
    client, person = world.client(), world.person()
    page = browser.authorize(client)
    for i in range(ADDRESS_LIMIT):
        r = browser.login(page, f"nobody{i}-{browser.address}", password="wrong", at=i % 2)
        assert r.status_code == 401
    assert world.counter(ADDRESS_KIND, ident(browser.address)) == ADDRESS_LIMIT
    for at in (0, 1):
        assert browser.login(page, person, at=at).status_code == 429
    # the same user from another address is not locked out
    other = new_browser()
    assert other.login(other.authorize(client), person).status_code == 200


def test_success_resets_the_user_counter(browser: Browser, world: World) -> None:
    client, person = world.client(), world.person()
    page = browser.authorize(client)
    for i in range(USER_LIMIT - 1):
        browser.login(page, person, password="wrong", at=i % 2)
    assert world.counter(USER_KIND, ident(person.uid)) == USER_LIMIT - 1
    assert browser.login(page, person, at=1).status_code == 200  # the consent page
    assert world.counter(USER_KIND, ident(person.uid)) == 0
    assert world.counter(ADDRESS_KIND, ident(browser.address)) == USER_LIMIT - 1  # kept


def test_new_session_on_each_sign_in(browser: Browser, world: World) -> None:
    client, person = world.client(), world.person()
    first = world.id_token(
        world.redeem(client, query(browser.signed_in(client, person))["code"][0])["id_token"]
    )
    again = browser.login(browser.authorize(client, prompt="login"), person, at=1)
    assert again.status_code == 303  # consent remembered
    second = world.id_token(world.redeem(client, query(again)["code"][0])["id_token"])
    assert second["sid"] != first["sid"]
    assert second["sub"] == first["sub"]


def test_client_removed_between_pages(browser: Browser, world: World) -> None:
    client, person = world.client(), world.person()
    page = browser.authorize(client)
    with world.stack.directory() as directory:
        from oxswarm.directory.clients import ClientRepository

        ClientRepository(directory, world.stack.box()).remove(client.client_id)
    import time

    time.sleep(5.5)  # the processes cache client records for 5 s
    r = browser.login(page, person)
    assert r.status_code == 400
    assert page_code(r) == "invalid_client"
