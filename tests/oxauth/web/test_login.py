"""/oxauth/login on two real processes: CSRF, wrong passwords, the lockout per user (by
inum, atomic) and the slow-down per address (thresholds read from the config store,
counters in the real cache, shared by both processes), the address through the trusted
proxy, the same cost for a made-up name, a new session per sign-in.
"""

from __future__ import annotations

import asyncio
import hashlib
import statistics
import time

import httpx
import pytest
from tests.oxauth.web.conftest import (
    ADDRESS_DELAY_MS,
    ADDRESS_LIMIT,
    USER_LIMIT,
    Browser,
    World,
    hidden_fields,
    page_code,
    query,
    random_address,
)

from oxswarm.config import keys as K
from oxswarm.oxauth.web.lockout import ADDRESS_KIND, NAME_KIND, USER_KIND

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
    assert world.counter(USER_KIND, person.inum) == 1  # counted under the inum


def test_unknown_user(browser: Browser, world: World) -> None:
    client = world.client()
    name = "nobody-" + browser.address
    page = browser.authorize(client)
    for _ in range(USER_LIMIT):
        assert browser.login(page, name).status_code == 401
    # a made-up name locks like a user (no way to tell them apart), under its own key
    assert browser.login(page, name).status_code == 429
    assert world.counter(NAME_KIND, ident(name)) == USER_LIMIT + 1


def test_lockout_per_user_shared_by_both_processes(browser: Browser, world: World) -> None:
    client, person, other = world.client(), world.person(), world.person()
    page = browser.authorize(client)
    for i in range(USER_LIMIT):  # alternating between the two processes
        assert browser.login(page, person, password="wrong", at=i % 2).status_code == 401
    for at in (0, 1):
        r = browser.login(page, person, at=at)  # the right password, but locked
        assert r.status_code == 429, r.text
        assert "Too many failed sign-in attempts" in r.text
    assert world.counter(USER_KIND, person.inum) == USER_LIMIT + 2  # every attempt counts
    # another user from the same address signs in
    assert browser.login(page, other).status_code == 200  # the consent page


def test_locked_until_the_window_ends(browser: Browser, world: World) -> None:
    manager = world.stack.manager()
    try:
        manager.set(K.OXAUTH_LOCKOUT_WINDOW, "3")
        time.sleep(1.0)  # the store watch applies it to both processes
        client, person = world.client(), world.person()
        page = browser.authorize(client)
        for i in range(USER_LIMIT):
            assert browser.login(page, person, password="wrong", at=i % 2).status_code == 401
        assert browser.login(page, person).status_code == 429
        time.sleep(3.5)
        assert browser.login(page, person, at=1).status_code == 200
    finally:
        manager.set(K.OXAUTH_LOCKOUT_WINDOW, "900")
        manager.store.close()
        time.sleep(1.0)


def test_made_up_names_never_lock_a_real_user(browser: Browser, world: World) -> None:
    """25 failures of made-up names from one address (a NAT, a proxy, loopback in dev):
    the address is slowed down, never refused, and a real user signs in from it."""
    client, person = world.client(), world.person()
    page = browser.authorize(client)
    for i in range(25):
        r = browser.login(page, f"nobody{i}-{browser.address}", password="wrong", at=i % 2)
        assert r.status_code == 401
    assert world.counter(ADDRESS_KIND, ident(browser.address)) == 25
    started = time.monotonic()
    r = browser.login(page, person, at=1)
    assert r.status_code == 200, r.text  # the consent page
    assert time.monotonic() - started >= ADDRESS_DELAY_MS / 1000  # slowed down
    assert world.counter(USER_KIND, person.inum) == 0


def test_address_slow_down_grows_to_its_cap(browser: Browser, world: World) -> None:
    client = world.client()
    page = browser.authorize(client)
    times = []
    for i in range(ADDRESS_LIMIT + 3):
        started = time.monotonic()
        assert browser.login(page, f"ghost{i}-{browser.address}", password="x").status_code == 401
        times.append(time.monotonic() - started)
    # 100 ms, 200 ms, then the cap (300 ms) for the attempts past the limit
    assert times[ADDRESS_LIMIT] >= 0.1 and times[ADDRESS_LIMIT + 2] >= 0.3
    assert min(times[:ADDRESS_LIMIT]) < 0.3


def test_forged_leftmost_forwarded_for_does_not_change_the_address(
    browser: Browser, world: World
) -> None:
    client = world.client()
    form = hidden_fields(browser.authorize(client).text)
    forged = random_address()
    form.update(username="nobody-" + forged, password="wrong")
    headers = {"X-Forwarded-For": f"{forged}, {browser.address}"}
    assert browser.post("/oxauth/login", data=form, headers=headers).status_code == 401
    assert world.counter(ADDRESS_KIND, ident(browser.address)) == 1
    assert world.counter(ADDRESS_KIND, ident(forged)) == 0


def test_parallel_failures_check_exactly_the_limit(browser: Browser, world: World) -> None:
    """20 wrong passwords at once: exactly USER_LIMIT are checked, the rest refused."""
    client, person = world.client(), world.person()
    form = hidden_fields(browser.authorize(client).text)
    form.update(username=person.uid, password="wrong")

    async def attempt(i: int) -> int:
        async with httpx.AsyncClient(
            timeout=30.0, trust_env=False, cookies=dict(browser.http.cookies),
            headers={"X-Forwarded-For": browser.address},
        ) as http:
            r = await http.post(browser.url("/oxauth/login", i % 2), data=form)
            return r.status_code

    async def all_at_once() -> list[int]:
        return list(await asyncio.gather(*(attempt(i) for i in range(20))))

    statuses = asyncio.run(all_at_once())
    assert sorted(statuses) == [401] * USER_LIMIT + [429] * (20 - USER_LIMIT)
    assert world.counter(USER_KIND, person.inum) == 20
    assert world.counter(ADDRESS_KIND, ident(browser.address)) == USER_LIMIT


def test_success_resets_the_user_counter(browser: Browser, world: World) -> None:
    client, person = world.client(), world.person()
    page = browser.authorize(client)
    for i in range(USER_LIMIT - 1):
        browser.login(page, person, password="wrong", at=i % 2)
    assert world.counter(USER_KIND, person.inum) == USER_LIMIT - 1
    assert browser.login(page, person, at=1).status_code == 200  # the consent page
    assert world.counter(USER_KIND, person.inum) == 0
    assert world.counter(ADDRESS_KIND, ident(browser.address)) == USER_LIMIT - 1  # kept


def test_unknown_user_costs_what_a_user_costs(browser: Browser, world: World) -> None:
    """Median of 10 sign-ins: a made-up name against a real user's wrong password (each
    from an address and under a name of its own: no lockout, no slow-down)."""
    client = world.client()
    people = [world.person() for _ in range(10)]
    form = hidden_fields(browser.authorize(client).text)

    def timed(username: str) -> float:
        data = {**form, "username": username, "password": "wrong"}
        started = time.monotonic()
        r = browser.post("/oxauth/login", data=data, headers={"X-Forwarded-For": random_address()})
        assert r.status_code == 401
        return time.monotonic() - started

    known, unknown = [], []
    for person in people:  # interleaved, so that load on the machine hits both alike
        known.append(timed(person.uid))
        unknown.append(timed(f"nobody-{random_address()}"))
    k, u = statistics.median(known), statistics.median(unknown)
    assert max(k, u) / min(k, u) <= 1.5, (k, u)


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
