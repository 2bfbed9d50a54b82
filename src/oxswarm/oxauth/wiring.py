"""Opens every shared resource of an oxAuth process (the app's lifespan).

From the config store (through the master key): the issuer (``https://<hostname>``
unless overridden), the signing keys (then watched), the pairwise and session secrets,
the directory's bind credentials, the registration policy. From :class:`RunOptions`:
where the cache (Twemproxy) and the directory servers are, when not taken from the store.

The policy (registration mode, lockout thresholds, ``X-Forwarded-For`` trust) is read,
typed, by :func:`oxswarm.oxauth.policy.read_policy`; ``--registration`` overrides the
store's mode. Mode ``token`` takes initial access tokens from the directory (and the old
secret ``oxauth_registration_token`` when set).
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import json
import logging
import os
import socket
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from oxswarm.cache.aio import AsyncCache
from oxswarm.cache.ring import Ring
from oxswarm.cache.rotation import POLL_SECONDS, accepted
from oxswarm.cache.spec import TwemproxyPool
from oxswarm.config import keys as K
from oxswarm.config.etcd import EtcdStore
from oxswarm.config.manager import ConfigManager
from oxswarm.config.secrets import SecretBox
from oxswarm.config.watcher import StoreWatcher
from oxswarm.directory.clients import ClientRepository
from oxswarm.directory.connection import Directory, DirectoryConfig
from oxswarm.directory.people import PeopleRepository
from oxswarm.directory.scopes import ScopeRepository
from oxswarm.directory.sectors import SectorRepository
from oxswarm.directory.slapdconf import best_password_scheme
from oxswarm.directory.tree import Tree
from oxswarm.errors import InvalidInput, MasterKeyError, OxSwarmError, StoreUnavailable
from oxswarm.oauth.client_metadata import DEFAULT_SCOPES
from oxswarm.oauth.config import ProviderConfig
from oxswarm.oauth.oidc.core.claims import STANDARD_SCOPES
from oxswarm.oxauth.adapters.cache import (
    CacheCodeStore,
    CacheReplayGuard,
    CacheRevocations,
    CacheSessionStore,
    CacheTokenStore,
)
from oxswarm.oxauth.adapters.directory import (
    DirectoryClientStore,
    DirectoryGrantStore,
    DirectoryUserStore,
)
from oxswarm.oxauth.adapters.http import HttpJwksFetcher, HttpSectorFetcher
from oxswarm.oxauth.adapters.outbound import Outbound
from oxswarm.oxauth.addressing import Network
from oxswarm.oxauth.endpoints.sector import HostedSectors
from oxswarm.oxauth.issuer import TokenService
from oxswarm.oxauth.keys import KeyRing, KeyWatcher
from oxswarm.oxauth.live_policy import LivePolicy
from oxswarm.oxauth.model import OxAuthDeps
from oxswarm.oxauth.policy import fixed_mode, read_policy, registration_access
from oxswarm.oxauth.sweeper import sweep_forever
from oxswarm.oxauth.web.deps import WebSettings
from oxswarm.settings import Settings

log = logging.getLogger(__name__)
REGISTRATION: str = K.OXAUTH_REGISTRATION
DEFAULT_CACHE = "127.0.0.1:22121"
REPLICA_ENV = "OXSWARM_CACHE_REPLICA"


@dataclass(frozen=True)
class RunOptions:
    """Per-process choices of ``oxswarm run oxauth`` (everything else is in the store)."""

    issuer: str | None = None
    cache: str = DEFAULT_CACHE
    ldap_urls: tuple[str, ...] = ()
    registration: str | None = None  # open | token | off; None: from the store
    client_cache_seconds: float = 5.0
    dev: bool = False  # a developer's machine: server-side fetches may reach loopback, http
    extras: dict[str, Any] = field(default_factory=dict)


def parse_hostport(value: str, what: str) -> tuple[str, int]:
    host, sep, port = value.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise InvalidInput(f"{what}: {value!r} is not HOST:PORT", field=what)
    return host, int(port)


def ldap_urls(manager: ConfigManager, given: tuple[str, ...] = ()) -> tuple[str, ...]:
    """The directory's URLs: those given, else the store's ``ldap_peers``, else this host's
    (the services of a node: oxAuth, oxTrust, the SAML IdP)."""
    if given:
        return given
    peers = manager.get(K.LDAP_PEERS)
    if peers:
        urls = json.loads(peers)
        if isinstance(urls, list) and urls:
            return tuple(str(u) for u in urls)
    return (f"ldaps://127.0.0.1:{manager.get(K.LDAP_PORT) or 1636}",)


def required(value: str | None, name: str) -> str:
    """A store value a service cannot run without, or :class:`StoreUnavailable` naming it."""
    if not value:
        raise StoreUnavailable(f"config store has no {name}: run config-init first")
    return value


@dataclass
class _Opened:
    store: EtcdStore
    watch_store: EtcdStore
    directory: Directory
    cache: AsyncCache
    watcher: KeyWatcher
    tmp: tempfile.TemporaryDirectory[str]


def _open_sync(settings: Settings, options: RunOptions) -> tuple[_Opened, dict[str, Any]]:
    if settings.master_key_file is None:
        raise MasterKeyError("no master key: give --master-key-file or set OXSWARM_MASTER_KEY_FILE")
    box = SecretBox.from_file(settings.master_key_file)
    store = EtcdStore.from_settings(settings)
    store.wait_ready(timeout=30.0)
    manager = ConfigManager(store, settings.prefix, box)
    hostname = manager.get(K.HOSTNAME)
    issuer = options.issuer or f"https://{required(hostname, K.HOSTNAME)}"
    jwks = json.loads(required(manager.get_secret(K.OXAUTH_JWKS), K.OXAUTH_JWKS))
    ring = KeyRing(jwks)
    watch_store = EtcdStore.from_settings(settings)
    watch_manager = ConfigManager(watch_store, settings.prefix, box)
    secret_key = manager.secret_key(K.OXAUTH_JWKS)
    watcher = KeyWatcher(
        ring,
        read=lambda: watch_manager.get_secret(K.OXAUTH_JWKS),
        watch=lambda timeout, start: watch_store.watch_prefix(
            secret_key, start_revision=start, timeout=timeout),
    ).start()
    tmp = tempfile.TemporaryDirectory(prefix="oxauth-")
    ca_file = None
    if ca := manager.get(K.CA_CERT):
        ca_file = Path(tmp.name) / "ca.pem"
        ca_file.write_text(ca)
    directory = Directory(
        DirectoryConfig(
            urls=ldap_urls(manager, options.ldap_urls),
            bind_dn=required(manager.get(K.LDAP_BIND_DN), K.LDAP_BIND_DN),
            password=required(manager.get_secret(K.LDAP_ADMIN_PW), K.LDAP_ADMIN_PW),
            ca_file=ca_file,
        )
    )
    tree = Tree(manager.get(K.LDAP_BASE_DN) or "o=gluu")
    try:
        known = ScopeRepository(directory, tree).list()
    except OxSwarmError:
        known = []
    scopes = [s.name for s in known] or list(STANDARD_SCOPES)
    default_scopes = [s.name for s in known if s.default] or list(DEFAULT_SCOPES)
    policy = read_policy(manager.get)
    mode, registration_hash = registration_access(
        policy.registration, fixed_mode(options.registration), manager.get_secret)
    config = ProviderConfig(
        issuer=issuer.rstrip("/"),
        client_cache_seconds=options.client_cache_seconds,
        registration_enabled=mode != "off",
        registration_token_required=mode == "token",
        registration_token_hash=registration_hash,
        registration_rate_limit=policy.registration_limit.requests,
        registration_rate_window=policy.registration_limit.window,
        pairwise_key=manager.get_secret(K.PAIRWISE_KEY) or "",
        pairwise_salt=manager.get_secret(K.PAIRWISE_SALT) or "",
        session_secret=manager.get_secret(K.SESSION_SECRET) or "",
    )
    cache, passwords = open_cache(manager, options.cache, settings.cluster)
    parts = {
        "config": config,
        "ring": ring,
        "tree": tree,
        "scopes": scopes,
        "default_scopes": default_scopes,
        "box": box,
        "manager": manager,
        "cache_passwords": passwords,
        "web_settings": WebSettings(
            lockout=policy.lockout, trusted_proxies=policy.trusted_proxies
        ),
        "own_addresses": [] if options.dev else own_addresses(config.issuer),
    }
    return _Opened(store, watch_store, directory, cache, watcher, tmp), parts


def own_addresses(issuer: str) -> list[Network]:
    """The addresses the issuer's host name resolves to (server-side fetches never go
    there); none when it does not resolve from here."""
    host = urlsplit(issuer).hostname
    if not host:
        return []
    try:
        infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        return []
    found = {ipaddress.ip_network(str(info[4][0]).split("%", 1)[0]) for info in infos}
    return sorted(found, key=str)


def cached_check(check: Callable[[], object], every: float = 2.0, *, wait: float = 0.5,
                 hung_after: float = 5.0) -> Callable[[], Awaitable[bool]]:
    """A health check run in a thread at most every ``every`` seconds: healthy unless it
    raises (:class:`OxSwarmError` or anything else: logged) or answers ``False`` (e.g.
    ``directory.exists(dn)``).

    Once a check has completed, the answer never waits more than ``wait`` seconds for the
    next: one still running then answers with the last result, until it has run
    ``hung_after`` seconds (then: unhealthy). The first check is waited for, as a new
    instance has no result to give yet (answering "unhealthy" would keep it out of the
    catalogue one probe longer, while Swarm already stops the instance it replaces).
    A store read that fails over from a member being replaced takes seconds (its name does
    not resolve meanwhile); the registrator's probe gives up after 1 s, and every instance
    reading through that member would have left the catalogue at once (measured: 10
    requests in 2 s answered 503 cluster-wide, docs/security.md "Upgrading")."""
    state: dict[str, Any] = {"at": 0.0, "ok": False, "running": None, "since": 0.0}

    async def refresh() -> None:
        try:
            state["ok"] = await asyncio.to_thread(check) is not False
        except OxSwarmError:
            state["ok"] = False
        except Exception:  # a bug in a check must not end the health endpoint
            log.exception("health check failed unexpectedly")
            state["ok"] = False
        state["at"] = time.monotonic()
        state["running"] = None

    async def run() -> bool:
        now = time.monotonic()
        task = state["running"]
        if task is None:
            if now - state["at"] < every:
                return bool(state["ok"])
            task = state["running"] = asyncio.create_task(refresh())
            state["since"] = now
        with contextlib.suppress(TimeoutError):  # the first one has no result to give yet
            await asyncio.wait_for(asyncio.shield(task), None if state["at"] == 0.0 else wait)
        if state["running"] is None:
            return bool(state["ok"])
        return bool(state["ok"]) and time.monotonic() - state["since"] < hung_after

    return run


def cache_check(cache: AsyncCache) -> Callable[[], Awaitable[bool]]:
    """A health check: the cache (Twemproxy) answers ``PING``."""

    async def run() -> bool:
        try:
            await cache.ping()
        except OxSwarmError:
            return False
        return True

    return run


def build_deps(
    config: ProviderConfig,
    *,
    cache: AsyncCache,
    directory: Directory,
    box: SecretBox,
    ring: KeyRing,
    tree: Tree | None = None,
    scopes: list[str] | None = None,
) -> OxAuthDeps:
    """The deps from opened resources (used by :func:`open_deps`, tests and benchmarks)."""
    tree = tree or Tree()
    outbound = Outbound()
    clients = DirectoryClientStore(
        ClientRepository(directory, box, tree), ttl=config.client_cache_seconds
    )
    users = DirectoryUserStore(PeopleRepository(directory, tree), best_password_scheme())
    codes = CacheCodeStore(cache)
    tokens = CacheTokenStore(cache)
    grants = DirectoryGrantStore(directory, CacheRevocations(cache), tree)
    sectors = SectorRepository(directory, tree)
    issuer = TokenService(
        config=config, codes=codes, tokens=tokens, grants=grants, keys=ring, users=users
    )

    return OxAuthDeps(
        config=config,
        clients=clients,
        users=users,
        codes=codes,
        tokens=tokens,
        grants=grants,
        replay=CacheReplayGuard(cache),
        keys=ring,
        sessions=CacheSessionStore(cache),
        issuer=issuer,
        extras={
            "cache": cache,
            "directory": directory,
            "box": box,
            "tree": tree,
            "scopes": scopes or list(STANDARD_SCOPES),
            "outbound": outbound,
            "fetcher": HttpJwksFetcher(outbound),
            "sector_fetcher": HostedSectors(config.issuer, sectors, HttpSectorFetcher(outbound)),
            "sectors": sectors,
            "health_checks": {
                "cache": cache_check(cache),
                "directory": cached_check(lambda: directory.exists(tree.suffix)),
            },
        },
    )


def _watch_policy(deps: OxAuthDeps, settings: Settings, box: SecretBox,
                  options: RunOptions) -> tuple[StoreWatcher, EtcdStore]:
    """Follow the policy in the store (a store connection of its own for the watch)."""
    store = EtcdStore.from_settings(settings)
    manager = ConfigManager(store, settings.prefix, box)
    live = LivePolicy(deps, manager.get, manager.get_secret, fixed_mode(options.registration))
    live.reload()  # the policy the process started with
    prefix = f"{settings.prefix}/config/oxauth_"
    watcher = StoreWatcher(
        live.reload,
        lambda timeout, start: store.watch_prefix(prefix, start_revision=start, timeout=timeout),
        name="oxauth-policy").start()
    return watcher, store


def open_cache(manager: ConfigManager, address: str,
               cluster: str) -> tuple[AsyncCache, CachePasswords]:
    """oxAuth's cache (Twemproxy at ``address``) with the store's password candidates
    (follow a rotation with :meth:`CachePasswords.follow`); oxTrust reads the same."""
    host, port = parse_hostport(address, "cache")
    passwords = CachePasswords(accepted(manager.get_secret))
    if not passwords.values:
        raise StoreUnavailable("config store has no redis_pw: run config-init first")
    cache = AsyncCache(host, port, namespace=f"{cluster}.oxauth", passwords=passwords.get,
                       ring=cache_ring(manager))
    return cache, passwords


def cache_ring(manager: ConfigManager) -> Ring | None:
    """Twemproxy's shards (the store's ``cache_shards``, with the pool's hash and
    distribution): the cache then keeps two copies of every entry (docs/cache.md).
    ``None`` (one copy) without two shards, or with ``OXSWARM_CACHE_REPLICA=0``."""
    if os.environ.get(REPLICA_ENV, "1").strip().lower() in {"0", "off", "false", "no"}:
        return None
    raw = manager.get(K.CACHE_SHARDS)
    try:
        names = json.loads(raw) if raw else []
    except ValueError:
        names = None
    if not isinstance(names, list) or not all(isinstance(n, str) and n for n in names):
        raise InvalidInput(f"{K.CACHE_SHARDS}: {raw!r} is not a JSON list of shard names",
                           field=K.CACHE_SHARDS)
    if len(names) < 2:
        return None
    defaults = TwemproxyPool.model_fields
    return Ring(tuple(names), hash=str(defaults["hash"].default),
                distribution=str(defaults["distribution"].default))


class CachePasswords:
    """The cache password candidates, kept equal to the store's (a rotation changes them)."""

    def __init__(self, values: tuple[str, ...]) -> None:
        self.values = values

    def get(self) -> tuple[str, ...]:
        return self.values

    def follow(self, settings: Settings, box: SecretBox) -> tuple[StoreWatcher, EtcdStore]:
        store = EtcdStore.from_settings(settings)
        manager = ConfigManager(store, settings.prefix, box)

        def reload() -> bool:
            latest = accepted(manager.get_secret)
            changed = bool(latest) and latest != self.values
            if changed:
                self.values = latest
            return changed

        prefix = manager.secret_key(K.REDIS_PW)  # also matches redis_pw_other
        watcher = StoreWatcher(
            reload,
            lambda timeout, start: store.watch_prefix(prefix, start_revision=start,
                                                      timeout=timeout),
            name="cache-password", refresh=POLL_SECONDS).start()
        return watcher, store


@contextlib.asynccontextmanager
async def open_deps(
    settings: Settings, options: RunOptions | None = None
) -> AsyncIterator[OxAuthDeps]:
    """Connect to the store, directory and cache; yield the deps; close them afterwards."""
    opened, parts = await asyncio.to_thread(_open_sync, settings, options or RunOptions())
    deps = build_deps(
        parts["config"],
        cache=opened.cache,
        directory=opened.directory,
        box=parts["box"],
        ring=parts["ring"],
        tree=parts["tree"],
        scopes=parts["scopes"],
    )
    deps.extras["manager"] = parts["manager"]
    deps.extras["default_scopes"] = parts["default_scopes"]
    deps.extras["web_settings"] = parts["web_settings"]
    deps.extras["fetch_base"] = ((options or RunOptions()).dev, tuple(parts["own_addresses"]))
    deps.extras["key_watcher"] = opened.watcher
    deps.extras["health_checks"]["store"] = cached_check(opened.store.ping)
    grants = deps.grants
    assert isinstance(grants, DirectoryGrantStore)  # build_deps made it
    sweeper = asyncio.create_task(sweep_forever(grants.purge_expired), name="grant-sweep")
    policy_watcher, policy_store = await asyncio.to_thread(
        _watch_policy, deps, settings, parts["box"], options or RunOptions())
    password_watcher, password_store = await asyncio.to_thread(
        parts["cache_passwords"].follow, settings, parts["box"])
    try:
        yield deps
    finally:
        policy_watcher.stop()
        policy_store.close()
        password_watcher.stop()
        password_store.close()
        sweeper.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await sweeper
        opened.watcher.stop()
        await deps.extras["fetcher"].close()
        await deps.extras["sector_fetcher"].close()
        await deps.extras["outbound"].close()
        await opened.cache.close()
        opened.directory.close()
        opened.store.close()
        opened.watch_store.close()
        opened.tmp.cleanup()
