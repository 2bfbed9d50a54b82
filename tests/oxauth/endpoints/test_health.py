"""The load balancers' health endpoint: 200 when every store answers, 503 naming the rest."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from tests.oauth.memory import World

from oxswarm.oxauth.app import create_app
from oxswarm.oxauth.model import OxAuthDeps


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
