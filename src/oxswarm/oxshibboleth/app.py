"""The SAML 2.0 identity provider's ASGI app (oxShibboleth's role, routed at ``/idp``).

:func:`create_app` takes opened resources; :func:`app_from_settings` opens them from the
config store (read-only role ``oxshibboleth``): the IdP's key pairs (config-init's
``idp_signing_*``, ``idp_encryption_*``), its client at oxAuth (``idp_client_id``), the
directory (trust relationships, people) and the shared cache (SAML request state).
Stateless: any process on any node continues any sign-in. With ``trust_folder`` (the
stack's: ``<shared>/idp/trusts``) the trusts are served from the node's trust files,
reconciled from the directory at start and every few seconds
(:mod:`oxswarm.oxshibboleth.trustfiles`).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from oxswarm.config import keys as K
from oxswarm.config.etcd import EtcdStore
from oxswarm.config.manager import ConfigManager
from oxswarm.config.secrets import SecretBox
from oxswarm.directory.connection import Directory, DirectoryConfig
from oxswarm.directory.tree import Tree
from oxswarm.directory.trust_relationships import TrustRepository
from oxswarm.errors import MasterKeyError, OxSwarmError, StoreUnavailable
from oxswarm.metrics.asgi import RequestMetrics
from oxswarm.oxauth.relying_party import RelyingParty
from oxswarm.oxauth.wiring import (
    DEFAULT_CACHE,
    cache_check,
    cached_check,
    ldap_urls,
    open_cache,
    required,
)
from oxswarm.oxshibboleth.engine import Engine
from oxswarm.oxshibboleth.idp import IdpKeys, KeyFiles
from oxswarm.oxshibboleth.logout import logout_routes
from oxswarm.oxshibboleth.release import nameid_key
from oxswarm.oxshibboleth.slo import slo_routes
from oxswarm.oxshibboleth.sso import CALLBACK_PATH, IdpDeps, sso_routes
from oxswarm.oxshibboleth.trustfiles import RECONCILE, TrustFiles, TrustSource
from oxswarm.roles.wait import wait_for
from oxswarm.settings import Settings

Check = Callable[[], Awaitable[bool]]
log = logging.getLogger(__name__)
START_WAIT = 300.0


@dataclass(frozen=True)
class IdpOptions:
    """Per-process choices of ``oxswarm run oxshibboleth`` (everything else is in the store)."""

    cache: str = DEFAULT_CACHE
    ldap_urls: tuple[str, ...] = ()
    public_url: str | None = None  # the base the browser sees [default https://<hostname>]
    oxauth_url: str | None = None  # oxAuth for the back channel [default: the public URL]
    trust_folder: Path | None = None  # serve the trusts from files here (the shared folder)


def create_app(deps: IdpDeps, *, checks: dict[str, Check] | None = None,
               on_close: Callable[[], Awaitable[None]] | None = None,
               background: Callable[[], Coroutine[None, None, None]] | None = None
               ) -> Starlette:
    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        task: asyncio.Task[None] | None = None
        if background is not None:
            task = asyncio.create_task(background())
        try:
            yield
        finally:
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            if on_close is not None:
                await on_close()

    async def health(_request: Request) -> JSONResponse:
        failed = [name for name, check in (checks or {}).items() if not await check()]
        if failed:
            return JSONResponse({"status": "unavailable", "failed": failed}, status_code=503)
        return JSONResponse({"status": "ok"})

    routes = [Route("/idp/health", health, methods=["GET", "HEAD"]), *sso_routes(deps),
              *slo_routes(deps), *logout_routes(deps)]
    # /metrics and the request metrics (oxswarm.metrics.asgi), as on oxAuth and oxTrust
    return Starlette(routes=routes, lifespan=lifespan, middleware=[Middleware(RequestMetrics)])


def app_from_settings(settings: Settings, options: IdpOptions) -> Starlette:
    if settings.master_key_file is None:
        raise MasterKeyError("no master key: give --master-key-file or set OXSWARM_MASTER_KEY_FILE")
    box = SecretBox.from_file(settings.master_key_file)
    store = EtcdStore.from_settings(settings)
    # a new cluster's IdP starts before its store user and config-init: wait (one process,
    # polling) rather than exit and be restarted every few seconds (each start imports
    # pysaml2 again, on nodes busy starting everything else). Without --ldap-url, until
    # the cluster's ldap_peers, which `up` writes once config-init is complete (waiting
    # for one generated key instead read the directory's URLs before they were there).
    store.wait_ready(timeout=START_WAIT, interval=3.0)  # each try a login (bcrypt at etcd)
    manager = ConfigManager(store, settings.prefix, box)
    if not options.ldap_urls:  # config-init writes "[]"; up the cluster's list after it
        wait_for("the cluster's ldap_peers in the store",
                 lambda: manager.get(K.LDAP_PEERS) if json.loads(
                     manager.get(K.LDAP_PEERS) or "[]") else None,
                 timeout=START_WAIT, interval=2.0)
    tmp = tempfile.TemporaryDirectory(prefix="oxshibboleth-ca-")
    ca_file = None
    if ca := manager.get(K.CA_CERT):
        ca_file = Path(tmp.name) / "ca.pem"
        ca_file.write_text(ca)
    urls = ldap_urls(manager, options.ldap_urls)
    directory = Directory(DirectoryConfig(
        urls=urls, bind_dn=required(manager.get(K.LDAP_BIND_DN), K.LDAP_BIND_DN),
        password=required(manager.get_secret(K.LDAP_ADMIN_PW), K.LDAP_ADMIN_PW), ca_file=ca_file,
    ))
    tree = Tree(manager.get(K.LDAP_BASE_DN) or "o=gluu")
    hostname = manager.get(K.HOSTNAME)
    base = (options.public_url or (f"https://{hostname}" if hostname else "")).rstrip("/")
    if not base:
        raise StoreUnavailable(f"config store has no {K.HOSTNAME}: give --public-url")
    files = KeyFiles(IdpKeys(
        signing_cert=required(manager.get(K.IDP_SIGNING_CERT), K.IDP_SIGNING_CERT),
        signing_key=required(manager.get_secret(K.IDP_SIGNING_KEY), K.IDP_SIGNING_KEY),
        encryption_cert=required(manager.get(K.IDP_ENCRYPTION_CERT), K.IDP_ENCRYPTION_CERT),
        encryption_key=required(manager.get_secret(K.IDP_ENCRYPTION_KEY), K.IDP_ENCRYPTION_KEY),
    ))
    cache, passwords = open_cache(manager, options.cache, settings.cluster)
    password_watcher, password_store = passwords.follow(settings, box)
    repo = TrustRepository(directory, tree)
    rp = RelyingParty(
        oxauth_url=(options.oxauth_url or base).rstrip("/"),
        client_id=required(manager.get(K.IDP_CLIENT_ID), K.IDP_CLIENT_ID),
        client_secret=required(manager.get_secret(K.IDP_CLIENT_SECRET), K.IDP_CLIENT_SECRET),
        redirect_uri=base + CALLBACK_PATH,
    )
    engine, source = trust_engine(base, files, repo, options.trust_folder)
    deps = IdpDeps(
        engine=engine, rp=rp, directory=directory, tree=tree,
        cache=cache,
        nameid_key=nameid_key(required(manager.get_secret(K.PAIRWISE_KEY), K.PAIRWISE_KEY)),
        secure=base.startswith("https://"),
    )
    store.close()

    async def close() -> None:
        password_watcher.stop()
        password_store.close()
        await cache.close()
        directory.close()
        files.close()
        tmp.cleanup()

    async def reconciling() -> None:
        while source is not None:
            await asyncio.sleep(RECONCILE)
            await asyncio.to_thread(reconcile, source)

    checks = {"cache": cache_check(cache),
              "directory": cached_check(lambda: directory.exists(tree.ou("trustRelationships")))}
    return create_app(deps, checks=checks,
                      on_close=close, background=reconciling)


def trust_engine(base: str, files: KeyFiles, repo: TrustRepository,
                 folder: Path | None) -> tuple[Engine, TrustSource | None]:
    """The engine over the directory, or over the trust files in ``folder`` (reconciled
    once now: a node that was down catches up before it serves)."""
    if folder is None:
        return Engine(base, files, repo.list), None
    source = TrustSource(TrustFiles(folder), repo.list, repo.by_entity_id)
    reconcile(source)
    return Engine(base, files, source.load, on_miss=source.fetch), source


def reconcile(source: TrustSource) -> None:
    """One pass directory -> files; a directory or disk failure leaves the files served."""
    try:
        source.reconcile()
    except (OxSwarmError, OSError) as exc:
        log.warning("trust files not reconciled (the files stay served): %s", exc)
