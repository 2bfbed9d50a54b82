"""The password grant on real ``oxswarm run oxauth`` processes shares the sign-in form's
lockout: the same counters in the real cache, per user (refused) and per client address
(slowed down, never refused)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import KeySet
from tests.oxauth.conftest import DirectoryTools, Server
from tests.oxauth.web.conftest import PASSWORD, Browser, random_address

from oxswarm.cache.aio import AsyncCache
from oxswarm.config import keys as K
from oxswarm.directory.models import Client, Person
from oxswarm.local.stack import Stack
from oxswarm.oxauth.web.lockout import ADDRESS_KIND
from oxswarm.oxauth.web.lockout import ident as lockout_ident

pytestmark = pytest.mark.integration

TOKEN = "/oxauth/restv1/token"
CB = "https://rp.example/cb"


@pytest.fixture(scope="module")
def pair(oxauth_servers: Callable[..., Server]) -> list[Server]:
    return [oxauth_servers(), oxauth_servers()]


@pytest.fixture(scope="module")
def client(directory_tools: DirectoryTools) -> Client:
    return directory_tools.add_client(
        grant_types=["password", "authorization_code", "refresh_token"],
        allow_password_grant=True,
        response_types=["code"],
    )


@pytest.fixture
def person(directory_tools: DirectoryTools) -> Person:
    return directory_tools.add_person(PASSWORD)


@pytest.fixture
def address() -> str:
    return random_address()


@pytest.fixture
def https(pair: list[Server], address: str) -> Iterator[list[httpx.Client]]:
    clients = [
        httpx.Client(
            base_url=s.url, timeout=20.0, trust_env=False, headers={"X-Forwarded-For": address}
        )
        for s in pair
    ]
    yield clients
    for c in clients:
        c.close()


def grant(http: httpx.Client, client: Client, username: str, password: str) -> httpx.Response:
    return http.post(
        TOKEN,
        auth=(client.client_id, client.client_secret or ""),
        data={
            "grant_type": "password",
            "username": username,
            "password": password,
            "scope": "openid",
        },
    )


def assert_invalid_grant(r: httpx.Response, words: str) -> None:
    assert r.status_code == 400, r.text
    assert r.json()["error"] == "invalid_grant"
    assert words in r.json()["error_description"]


def test_success_with_acr(https: list[httpx.Client], client: Client, person: Person) -> None:
    r = grant(https[0], client, person.uid, PASSWORD)
    assert r.status_code == 200, r.text
    assert r.json()["access_token"] and r.json()["refresh_token"]
    keys = KeySet.import_key_set(https[0].get("/oxauth/restv1/jwks").json())
    claims = jwt.decode(r.json()["id_token"], keys, algorithms=["RS256"]).claims
    assert (claims["acr"], claims["amr"]) == ("simple_password_auth", ["pwd"])
    assert claims["sub"] == person.inum


def test_lockout_per_user_shared_with_the_login_form(
    https: list[httpx.Client], client: Client, person: Person, pair: list[Server], address: str
) -> None:
    for i in range(3):  # three failures at the token endpoint of both processes
        assert_invalid_grant(grant(https[i % 2], client, person.uid, "wrong"), "invalid username")
    browser = Browser(pair, address=address)
    try:
        page = browser.authorize(client)
        for _ in range(2):  # two more at the sign-in form: five, the default limit
            assert browser.login(page, person, password="wrong").status_code == 401
        assert browser.login(page, person).status_code == 429  # the form is locked
    finally:
        browser.close()
    for http in https:  # and so is the grant, even with the right password
        assert_invalid_grant(grant(http, client, person.uid, PASSWORD), "too many failed")


def test_failures_of_made_up_names_never_refuse_a_real_user(
    https: list[httpx.Client], client: Client, person: Person, stack: Stack
) -> None:
    manager = stack.manager()
    try:
        manager.set(K.OXAUTH_LOCKOUT_ADDRESS_DELAY_MS, "200")
        time.sleep(1.0)  # the store watch applies it
        for i in range(25):  # past the 20 per address: slowed down
            r = grant(https[i % 2], client, f"nobody{i}-{id(https)}", "wrong")
            assert_invalid_grant(r, "invalid username")
        started = time.monotonic()
        assert grant(https[0], client, person.uid, PASSWORD).status_code == 200
        assert time.monotonic() - started >= 0.2
    finally:
        manager.set(K.OXAUTH_LOCKOUT_ADDRESS_DELAY_MS, "3000")
        manager.store.close()


def counter(stack: Stack, kind: str, ident: str) -> int:
    async def read() -> int:
        host, port = stack.cache_address.rsplit(":", 1)
        cache = AsyncCache(host, int(port), namespace=f"{stack.cluster}.oxauth")
        try:
            raw = await cache.get(kind, ident)
        finally:
            await cache.close()
        return int(raw) if raw is not None else 0

    return asyncio.run(read())


def test_forged_leftmost_forwarded_for_is_not_the_address(
    pair: list[Server], client: Client, address: str, stack: Stack
) -> None:
    forged = [random_address() for _ in range(4)]
    for i, fake in enumerate(forged):  # each failure claims another address on the left
        with httpx.Client(
            base_url=pair[i % 2].url, trust_env=False, timeout=20.0,
            headers={"X-Forwarded-For": f"{fake}, {address}"},
        ) as forging:
            r = grant(forging, client, f"nobody-{fake}", "wrong")
            assert_invalid_grant(r, "invalid username")
    assert counter(stack, ADDRESS_KIND, lockout_ident(address)) == 4
    assert all(counter(stack, ADDRESS_KIND, lockout_ident(fake)) == 0 for fake in forged)


def test_success_resets_the_user_counter(
    https: list[httpx.Client], client: Client, person: Person
) -> None:
    for i in range(4):
        assert_invalid_grant(grant(https[i % 2], client, person.uid, "wrong"), "invalid username")
    assert grant(https[0], client, person.uid, PASSWORD).status_code == 200
    for i in range(4):  # four more failures: still below the limit of five
        assert_invalid_grant(grant(https[i % 2], client, person.uid, "wrong"), "invalid username")
    assert grant(https[1], client, person.uid, PASSWORD).status_code == 200
