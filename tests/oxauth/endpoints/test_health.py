"""The load balancers' health endpoint: 200 when every store answers, 503 naming the rest."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import httpx
from tests.oauth.memory import World

from oxswarm.errors import StoreUnavailable
from oxswarm.oxauth.app import create_app
from oxswarm.oxauth.model import OxAuthDeps
from oxswarm.oxauth.wiring import cached_check


def deps_with(checks: dict[str, Any]) -> OxAuthDeps:
    world = World()
    return OxAuthDeps(
        config=world.config, clients=world.clients, users=world.users, codes=world.codes,
        tokens=world.tokens, grants=world.grants, replay=world.replay, keys=world.keys,
        sessions=None,  # type: ignore[arg-type]
        issuer=None,  # type: ignore[arg-type]
        extras={"health_checks": checks},
    )


async def up() -> bool:
    return True


async def down() -> bool:
    return False


async def call(deps: OxAuthDeps, method: str, path: str, **kwargs: Any) -> httpx.Response:
    app = create_app(deps=deps)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://oxauth") as client:
            return await client.request(method, path, **kwargs)


def test_healthy_and_unhealthy() -> None:
    ok = asyncio.run(call(deps_with({"cache": up, "directory": up}), "GET", "/oxauth/health"))
    assert (ok.status_code, ok.json()) == (200, {"status": "ok"})
    bad = asyncio.run(call(deps_with({"cache": down, "directory": up}), "GET", "/oxauth/health"))
    assert bad.status_code == 503
    assert bad.json() == {"status": "unavailable", "failed": ["cache"]}


def test_token_fast_path_renders_oauth_errors() -> None:
    resp = asyncio.run(call(deps_with({}), "POST", "/oxauth/restv1/token",
                            data={"grant_type": "client_credentials"}, auth=("nobody", "x")))
    assert resp.status_code == 401 and resp.json()["error"] == "invalid_client"
    assert resp.headers["www-authenticate"] == 'Basic realm="oxauth"'
    assert resp.headers["cache-control"] == "no-store"
    wrong_method = asyncio.run(call(deps_with({}), "GET", "/oxauth/restv1/token"))
    assert wrong_method.status_code == 405


def test_a_slow_check_answers_with_its_last_result_within_the_wait() -> None:
    """A store read failing over from a member being replaced takes seconds: the answer
    keeps the last result meanwhile (the registrator's probe gives up after 1 s)."""
    delay = {"s": 0.0}

    def ping() -> int:
        time.sleep(delay["s"])
        return 7

    async def scenario() -> list[tuple[bool, float]]:
        check = cached_check(ping, every=0.0, wait=0.2, hung_after=3.0)
        seen = [(await check(), 0.0)]
        delay["s"] = 0.8
        for _ in range(3):
            started = time.monotonic()
            seen.append((await check(), time.monotonic() - started))
        await asyncio.sleep(0.8)
        seen.append((await check(), 0.0))
        return seen

    seen = asyncio.run(scenario())
    assert [ok for ok, _ in seen] == [True] * 5
    assert max(took for _, took in seen) < 0.4, seen


def test_a_failing_check_is_unhealthy() -> None:
    def broken() -> None:
        raise StoreUnavailable("config store: no member answers")

    def buggy() -> None:
        raise KeyError("bug")

    async def scenario() -> tuple[bool, bool, bool]:
        return (await cached_check(lambda: False)(), await cached_check(broken)(),
                await cached_check(buggy)())

    assert asyncio.run(scenario()) == (False, False, False)


def test_the_first_check_is_waited_for() -> None:
    """A new instance has no earlier result: its first answer is the check's (answering
    "unhealthy" meanwhile would keep it out of the catalogue one probe longer)."""
    def slow() -> int:
        time.sleep(0.7)
        return 1

    async def scenario() -> tuple[bool, float]:
        started = time.monotonic()
        ok = await cached_check(slow, wait=0.1)()
        return ok, time.monotonic() - started

    ok, took = asyncio.run(scenario())
    assert ok and took >= 0.7


def test_a_check_hung_after_passing_turns_unhealthy() -> None:
    hang = threading.Event()
    release = threading.Event()

    def ping() -> None:
        if hang.is_set():
            release.wait(10)

    async def scenario() -> list[bool]:
        check = cached_check(ping, every=0.0, wait=0.1, hung_after=0.4)
        states = [await check()]
        hang.set()
        for _ in range(8):
            states.append(await check())
            await asyncio.sleep(0.1)
        release.set()
        return states

    states = asyncio.run(scenario())
    assert states[:3] == [True, True, True]  # the last result while the read runs
    assert states[-1] is False  # running longer than hung_after
