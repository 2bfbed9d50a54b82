"""The dashboard: what ``oxswarm status`` knows that an oxtrust process can read itself.

Without Docker: the services and their nodes from the catalogue in the store
(:class:`~oxswarm.catalogue.reader.Catalogue`), the store's members (etcd's own status
over its JSON gateway), the directory's replication (each server's ``contextCSN``,
:func:`~oxswarm.deploy.nodestate.replication_state`), the counts of people and clients,
the keys' last rotation and this process's version. Best effort: the parts are read at
once, within :data:`BUDGET_S`; a part that cannot be read (or not in time: a lost node's
member) says so, the page still renders; it refreshes itself every 30 s.
"""

from __future__ import annotations

import asyncio
import logging
import time
from concurrent.futures import ThreadPoolExecutor, wait
from typing import Any, Final

import httpx
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from oxswarm import __version__
from oxswarm.catalogue.reader import Catalogue
from oxswarm.config import keys as K
from oxswarm.config.etcd import EtcdStore
from oxswarm.deploy.nodestate import context_csn, replication_state
from oxswarm.directory.clients import ClientRepository
from oxswarm.directory.people import PeopleRepository
from oxswarm.errors import OxSwarmError
from oxswarm.oxtrust.ui.deps import UiDeps
from oxswarm.oxtrust.ui.render import Ctx, admin

log = logging.getLogger(__name__)
BUDGET_S: Final = 4.0  # the page waits this long for its slowest part


def store_members(deps: UiDeps) -> dict[str, str]:
    """Every etcd member (from the cluster's member list) with its status."""
    store = deps.manager.store
    if not isinstance(store, EtcdStore):
        return {}
    endpoints = list(store.endpoints)
    # a closed store (TLS, client certificates): this process's own credentials
    https = any(url.startswith("https://") for url in endpoints)
    verify = store.credentials.ssl_context() if https else True
    out: dict[str, str] = {}
    with httpx.Client(timeout=2.0, trust_env=False, verify=verify) as http:
        for url in endpoints:  # the first that answers tells the members
            try:
                listed = http.post(f"{url}/v3/cluster/member/list", json={}).json()
            except (httpx.HTTPError, ValueError):
                continue
            endpoints = [m["clientURLs"][0] for m in listed.get("members", [])
                         if m.get("clientURLs")] or endpoints
            break
        for url in endpoints:
            try:
                body = http.post(f"{url}/v3/maintenance/status", json={}).json()
            except (httpx.HTTPError, ValueError):
                out[url] = "unreachable"
                continue
            leader = body.get("leader") == body.get("header", {}).get("member_id")
            out[url] = (f"up, version {body.get('version')}, raft index {body.get('raftIndex')}"
                        + (" (leader)" if leader else ""))
    return out


def directory_replication(deps: UiDeps) -> dict[str, str]:
    config = deps.directory.config
    ca_pem = config.ca_file.read_text() if config.ca_file is not None else None
    csns = {url: context_csn(url, config.bind_dn, config.password, deps.tree.suffix,
                             ca_pem=ca_pem)
            for url in config.urls}
    return replication_state(csns)


def facts(deps: UiDeps) -> dict[str, Any]:
    out: dict[str, Any] = {"version": __version__, "hostname": deps.manager.get(K.HOSTNAME)}
    parts = (
        ("people", lambda: len(PeopleRepository(deps.directory, deps.tree).list())),
        ("clients", lambda: len(ClientRepository(deps.directory, deps.cipher,
                                                 deps.tree).list())),
        ("rotated", lambda: deps.manager.get(K.OXAUTH_KEY_ROTATED_AT) or "-"),
        ("catalogue", lambda: {
            service: [f"{i.node} {i.endpoint} {' '.join(i.tags)}".strip() for i in items]
            for service, items in Catalogue(deps.manager.store, deps.manager.prefix)
            .snapshot().items()}),
        ("store", lambda: store_members(deps)),
        ("directory", lambda: directory_replication(deps)),
    )
    # every part at once, within one budget: a lost node's store member or directory
    # server (no answer until a timeout) must not hold the page for the sum of them
    pool = ThreadPoolExecutor(max_workers=len(parts), thread_name_prefix="dashboard")
    began = time.monotonic()
    futures = {name: pool.submit(read) for name, read in parts}
    wait(futures.values(), timeout=BUDGET_S)
    pool.shutdown(wait=False, cancel_futures=True)
    for name, future in futures.items():
        if not future.done():
            log.warning("dashboard: %s gave no answer within %.0f s", name, BUDGET_S)
            out[name] = f"unavailable: no answer within {BUDGET_S:.0f} s"
            continue
        try:
            out[name] = future.result()
        except OxSwarmError as exc:
            out[name] = f"unavailable: {exc}"
    if (took := time.monotonic() - began) > 1.0:
        log.warning("dashboard: its parts took %.1f s", took)
    nodes: dict[str, list[str]] = {}
    if isinstance(out.get("catalogue"), dict):
        for service, items in out["catalogue"].items():
            for item in items:
                nodes.setdefault(item.split(" ", 1)[0], []).append(service)
    out["nodes"] = nodes
    return out


def dashboard_routes(deps: UiDeps) -> list[Route]:
    @admin(deps)
    async def dashboard(_request: Request, ctx: Ctx) -> Response:
        found = await asyncio.to_thread(facts, deps)
        return ctx.page("dashboard.html", title="Dashboard", section="dashboard",
                        facts=found, oxauth=deps.settings.oxauth_url)

    return [Route("/identity", dashboard, methods=["GET"])]
