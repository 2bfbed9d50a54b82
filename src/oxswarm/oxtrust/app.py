"""The oxTrust service's ASGI app (``/identity``): SCIM 2.0 and its discovery, the admin
REST API (``/identity/restv1/api/v1``, :mod:`oxswarm.oxtrust.api`), the admin web UI
(:mod:`oxswarm.oxtrust.ui`, signed in through oxAuth).

:func:`create_app` takes opened resources (tests, later the admin UI and API mount next
to SCIM); :func:`app_from_settings` opens them from the config store, like oxAuth
(:mod:`oxswarm.oxauth.wiring`): the directory's bind credentials and CA, the cache
where oxAuth keeps access tokens. Nothing else reads the environment.
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
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
from oxswarm.errors import MasterKeyError
from oxswarm.metrics.asgi import RequestMetrics
from oxswarm.oxauth.adapters.cache import CacheRevocations, CacheTokenStore
from oxswarm.oxauth.adapters.directory import DirectoryGrantStore
from oxswarm.oxauth.policy import trusted_proxies
from oxswarm.oxauth.wiring import (
    DEFAULT_CACHE,
    cache_check,
    cached_check,
    ldap_urls,
    open_cache,
    required,
)
from oxswarm.oxtrust.api.mount import api_mount
from oxswarm.oxtrust.api.routes import http_error
from oxswarm.oxtrust.api.service import AdminService
from oxswarm.oxtrust.scim.api import ScimDeps
from oxswarm.oxtrust.scim.auth import CacheTokenLookup
from oxswarm.oxtrust.scim.routes import scim_routes, well_known_routes
from oxswarm.oxtrust.scim.store import ScimDirectory
from oxswarm.oxtrust.ui.deps import UiDeps, UiSettings, directory_audit, ui_secret
from oxswarm.oxtrust.ui.routes import ui_routes
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
    admin: AdminService | None = None,
    ui: UiDeps | None = None,
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
        *(ui_routes(ui) if ui is not None else ()),
    ]
    handlers: dict[Any, Any] = {}
    if admin is not None:  # the admin REST API (docs/oxtrust-api.md)
        routes.append(api_mount(admin, deps.tokens))
        handlers = {404: http_error, 405: http_error}
    # /metrics and the request metrics (oxswarm.metrics.asgi); one process per node
    return Starlette(routes=routes, lifespan=lifespan, exception_handlers=handlers,
                     middleware=[Middleware(RequestMetrics)])


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
    oxauth_url: str | None = None  # oxAuth for the UI's back channel [default: public URL]


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
    urls = ldap_urls(manager, options.ldap_urls)
    directory = Directory(
        DirectoryConfig(
            urls=urls,
            bind_dn=required(manager.get(K.LDAP_BIND_DN), K.LDAP_BIND_DN),
            password=required(manager.get_secret(K.LDAP_ADMIN_PW), K.LDAP_ADMIN_PW),
            ca_file=ca_file,
        )
    )
    tree = Tree(manager.get(K.LDAP_BASE_DN) or "o=gluu")
    hostname = manager.get(K.HOSTNAME)
    # the cache's password from the store, followed through a rotation (as oxAuth does)
    cache, passwords = open_cache(manager, options.cache, settings.cluster)
    password_watcher, password_store = passwords.follow(settings, box)
    public_url = options.public_url or (f"https://{hostname}" if hostname else None)

    base = (public_url or "http://127.0.0.1").rstrip("/")
    ui = UiDeps(
        UiSettings(
            public_url=base, oxauth_url=(options.oxauth_url or base).rstrip("/"),
            client_id=required(manager.get(K.OXAUTH_CLIENT_ID), K.OXAUTH_CLIENT_ID),
            client_secret=required(manager.get_secret(K.OXAUTH_CLIENT_SECRET),
                                K.OXAUTH_CLIENT_SECRET),
            secret=ui_secret(required(manager.get_secret(K.SESSION_SECRET), K.SESSION_SECRET)),
            trusted_proxies=trusted_proxies(manager.get),
        ),
        directory, tree, cache, box, manager, directory_audit(directory, tree),
    )

    async def close() -> None:
        password_watcher.stop()
        password_store.close()
        await cache.close()
        directory.close()
        store.close()
        tmp.cleanup()

    deps = build_deps(directory, cache, tree, public_url=public_url)
    checks = {"cache": cache_check(cache),
              "directory": cached_check(lambda: directory.exists(tree.suffix))}
    admin = AdminService(directory, tree, box, manager)
    return create_app(deps, on_close=close, health_checks=checks, admin=admin, ui=ui)
