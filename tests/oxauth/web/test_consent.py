"""/oxauth/consent on real processes: CSRF bound to the session, denial, and consent
remembered in the directory across two processes and a restart."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import httpx
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

from oxswarm.directory.models import Person
from oxswarm.directory.tree import Tree
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


def consent_race(world: World, agents: list[Browser], person: Person) -> list[httpx.Response]:
    """Every browser signs in (half at each process) and reaches the consent page of a new
    client, with alternating scopes; then all of them allow at the same moment."""
    client = world.client(scopes=["openid", "profile", "email"])
    scopes = ["openid profile", "openid email"]
    pages = []
    for i, agent in enumerate(agents):
        page = agent.authorize(client, at=i % 2, scope=scopes[i % 2])
        if 'name="password"' in page.text:
            page = agent.login(page, person, at=i % 2)
        assert 'name="decision"' in page.text
        pages.append(page)
    barrier = threading.Barrier(len(agents))

    def consent(i: int) -> httpx.Response:
        barrier.wait()
        return agents[i].consent(pages[i], at=i % 2)

    with ThreadPoolExecutor(len(agents)) as pool:
        answers = list(pool.map(consent, range(len(agents))))
    assert [r.status_code for r in answers] == [303] * len(agents), [r.text for r in answers]
    assert all("code" in query(r) for r in answers)
    assert granted(world, person.inum, client.client_id) == {"openid", "profile", "email"}
    return answers


def test_concurrent_consents_all_succeed_with_the_union(
    world: World, new_browser: Callable[[], Browser]
) -> None:
    """Issue 8.7: eight browsers of one person consent for one client at the same moment:
    every one redirects with a code, the directory holds one consent record per client
    with the union of the scopes (three clients, three races)."""
    person = world.person()
    agents = [new_browser() for _ in range(8)]
    for _ in range(3):
        consent_race(world, agents, person)
    with world.stack.directory() as directory:
        found = directory.search(
            Tree().ou("authorizations"), f"(oxUserInum={person.inum})", attributes=["oxScope"]
        )
    assert len(found) == 3


def test_concurrent_grants_in_the_directory_merge(world: World) -> None:
    """The store alone, sixteen threads at once on the real directory, each granting its
    own scope for the same (user, client): no error, no scope lost."""
    scopes = [f"s{i}" for i in range(16)]
    with world.stack.directory() as directory:
        store = DirectoryConsentStore(directory)
        barrier = threading.Barrier(len(scopes))

        def grant(scope: str) -> None:
            barrier.wait()
            asyncio.run(store.grant("u-race", "c-race", frozenset({"openid", scope})))

        try:
            with ThreadPoolExecutor(len(scopes)) as pool:
                list(pool.map(grant, scopes))
            assert asyncio.run(store.granted("u-race", "c-race")) == {"openid", *scopes}
        finally:
            asyncio.run(store.revoke("u-race", "c-race"))
