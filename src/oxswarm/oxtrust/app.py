"""The oxTrust service's ASGI app (``/identity``); for now SCIM 2.0 and its discovery.

:func:`create_app` takes opened resources (tests, later the admin UI and API mount next
to SCIM); :func:`app_from_settings` opens them from the config store, like oxAuth
(:mod:`oxswarm.oxauth.wiring`): the directory's bind credentials and CA, the cache
where oxAuth keeps access tokens. Nothing else reads the environment.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Mount, Route

from oxswarm.cache.aio import AsyncCache
from oxswarm.config import keys as K
from oxswarm.config.etcd import EtcdStore
from oxswarm.config.manager import ConfigManager
from oxswarm.config.secrets import SecretBox
from oxswarm.directory.connection import Directory, DirectoryConfig
from oxswarm.directory.tree import Tree
from oxswarm.errors import MasterKeyError, OxSwarmError, StoreUnavailable
from oxswarm.oxauth.adapters.cache import CacheRevocations, CacheTokenStore
from oxswarm.oxauth.adapters.directory import DirectoryGrantStore
from oxswarm.oxauth.wiring import DEFAULT_CACHE, parse_hostport
from oxswarm.oxtrust.scim.api import ScimDeps
from oxswarm.oxtrust.scim.auth import CacheTokenLookup
from oxswarm.oxtrust.scim.routes import scim_routes, well_known_routes
from oxswarm.oxtrust.scim.store import ScimDirectory
from oxswarm.scim.schemas import Limits
from oxswarm.settings import Settings

Check = Callable[[], Awaitable[bool]]


def health_route(checks: Mapping[str, Check]) -> Route:
    """``/identity/health``: 200 when the directory and cache answer, 503 naming the failing."""

    async def health(_request: Request) -> JSONResponse:
        failed = [name for name, check in checks.items() if not await check()]
        if failed:
            return JSONResponse({"status": "unavailable", "failed": failed}, status_code=503)
        return JSONResponse({"status": "ok"})

    return Route("/identity/health", health, methods=["GET", "HEAD"])


def create_app(
    deps: ScimDeps,
    *,
    on_close: Callable[[], Awaitable[None]] | None = None,
    health_checks: Mapping[str, Check] | None = None,
) -> Starlette:
    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        try:
            yield
        finally:
            if on_close is not None:
                await on_close()

    routes = [
        health_route(health_checks or {}),
        *well_known_routes(deps),
        Mount(deps.prefix, routes=scim_routes(deps)),
    ]
    return Starlette(routes=routes, lifespan=lifespan)


def build_deps(
    directory: Directory,
    cache: AsyncCache,
    tree: Tree,
    *,
    limits: Limits | None = None,
    public_url: str | None = None,
) -> ScimDeps:
    """SCIM over opened resources; tokens are looked up as oxAuth stores them."""
    limits = limits or Limits()
    lookup = CacheTokenLookup(
        CacheTokenStore(cache), DirectoryGrantStore(directory, CacheRevocations(cache), tree)
    )
    return ScimDeps(ScimDirectory(directory, tree, limits), lookup, limits, public_url)


@dataclass(frozen=True)
class TrustOptions:
    """Per-process choices of ``oxswarm run oxtrust`` (everything else is in the store)."""

    cache: str = DEFAULT_CACHE
    ldap_urls: tuple[str, ...] = ()
    public_url: str | None = None


def _need(value: str | None, name: str) -> str:
    if not value:
        raise StoreUnavailable(f"config store has no {name}: run config-init first")
    return value


def app_from_settings(settings: Settings, options: TrustOptions) -> Starlette:
    if settings.master_key_file is None:
        raise MasterKeyError("no master key: give --master-key-file or set OXSWARM_MASTER_KEY_FILE")
    box = SecretBox.from_file(settings.master_key_file)
    store = EtcdStore.from_settings(settings)
    store.wait_ready(timeout=30.0)
    manager = ConfigManager(store, settings.prefix, box)
    tmp = tempfile.TemporaryDirectory(prefix="oxtrust-")
    ca_file = None
    if ca := manager.get(K.CA_CERT):
        ca_file = Path(tmp.name) / "ca.pem"
        ca_file.write_text(ca)
    urls = options.ldap_urls
    if not urls and (peers := manager.get(K.LDAP_PEERS)):
        urls = tuple(str(u) for u in json.loads(peers))
    urls = urls or (f"ldaps://127.0.0.1:{manager.get(K.LDAP_PORT) or 1636}",)
    directory = Directory(
        DirectoryConfig(
            urls=urls,
            bind_dn=_need(manager.get(K.LDAP_BIND_DN), K.LDAP_BIND_DN),
            password=_need(manager.get_secret(K.LDAP_ADMIN_PW), K.LDAP_ADMIN_PW),
            ca_file=ca_file,
        )
    )
    tree = Tree(manager.get(K.LDAP_BASE_DN) or "o=gluu")
    hostname = manager.get(K.HOSTNAME)
    store.close()
    host, port = parse_hostport(options.cache, "cache")
    cache = AsyncCache(host, port, namespace=f"{settings.cluster}.oxauth")
    public_url = options.public_url or (f"https://{hostname}" if hostname else None)

    async def close() -> None:
        await cache.close()
        directory.close()
        tmp.cleanup()

    async def cache_ok() -> bool:
        try:
            await cache.ping()
        except OxSwarmError:
            return False
        return True

    async def directory_ok() -> bool:
        try:
            return await asyncio.to_thread(directory.exists, tree.suffix)
        except OxSwarmError:
            return False

    deps = build_deps(directory, cache, tree, public_url=public_url)
    checks = {"cache": cache_ok, "directory": directory_ok}
    return create_app(deps, on_close=close, health_checks=checks)
