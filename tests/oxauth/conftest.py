"""Real daemons for oxAuth's integration tests: one stack per session, servers per module.

``stack``: etcd + slapd + Redis/Twemproxy, initialised (:func:`oxswarm.local.stack.start_stack`),
with 127.0.0.1 as a trusted proxy (the tests send their own ``X-Forwarded-For`` from it).
``oxauth_servers``: starts ``oxswarm run oxauth`` processes on free ports against it.
``directory_tools``: adds clients and people straight into the directory.
"""

from __future__ import annotations

import asyncio
import sys
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from oxswarm.config import keys as K
from oxswarm.directory.clients import ClientRepository
from oxswarm.directory.models import Client, Person
from oxswarm.directory.people import PeopleRepository
from oxswarm.local.process import Daemon, free_port
from oxswarm.local.stack import Stack, start_stack


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    # registration open, as ``oxswarm dev up`` (a cluster's default, token, is tested by
    # starting a server with ``registration="token"``)
    running = start_stack(tmp_path_factory.mktemp("stack"), registration="open")
    manager = running.manager()
    try:
        manager.set(K.OXAUTH_TRUSTED_PROXIES, "127.0.0.1/32")
        # every test registers from loopback: the rate limit is tested on its own
        # (tests/oxauth/endpoints/test_register_trust.py sets a low one and puts this back)
        manager.set(K.OXAUTH_REGISTRATION_RATE_LIMIT, "100000")
    finally:
        manager.store.close()
    try:
        yield running
    finally:
        running.stop()


@dataclass
class Server:
    daemon: Daemon
    url: str

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=10.0, trust_env=False)


def start_server(
    stack: Stack, workdir: Path, *, issuer: str | None = None, **extra: str | bool
) -> Server:
    """``oxswarm run oxauth``; ``extra`` are its options (True: a flag, e.g. ``dev``)."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    argv = [
        sys.executable, "-m", "oxswarm", "run", "oxauth",
        "--store", stack.store_url, "--cluster", stack.cluster,
        "--master-key-file", str(stack.master_key_file),
        "--bind", f"127.0.0.1:{port}", "--issuer", issuer or url,
        "--cache", stack.cache_address, "--ldap-url", stack.ldap_urls[0],
    ]
    for name, value in extra.items():
        if value is True:
            argv.append(f"--{name.replace('_', '-')}")
        elif value is not False:
            argv += [f"--{name.replace('_', '-')}", value]
    daemon = Daemon(f"oxauth-{port}", argv, workdir, env={"PYTHONUNBUFFERED": "1"}).start()
    daemon.wait_tcp("127.0.0.1", port, timeout=60)
    return Server(daemon, url)


@pytest.fixture(scope="module")
def oxauth_servers(
    stack: Stack, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Callable[..., Server]]:
    """A factory of oxAuth processes; every one started is stopped after the module."""
    started: list[Server] = []
    workdir = tmp_path_factory.mktemp("oxauth")

    def start(**kwargs: Any) -> Server:
        server = start_server(stack, workdir, **kwargs)
        started.append(server)
        return server

    try:
        yield start
    finally:
        for server in started:
            server.daemon.stop()


@pytest.fixture(scope="module")
def server(oxauth_servers: Callable[..., Server]) -> Server:
    return oxauth_servers()


@pytest.fixture(scope="module")
def http(server: Server) -> Iterator[httpx.Client]:
    with server.client() as client:
        yield client


@dataclass
class DirectoryTools:
    stack: Stack

    def add_client(self, **fields: Any) -> Client:
        data: dict[str, Any] = {
            "client_id": f"test.{uuid.uuid4()}",
            "client_secret": "s3cret-" + uuid.uuid4().hex,
            "redirect_uris": ["https://rp.example/cb"],
            "grant_types": ["authorization_code", "refresh_token", "client_credentials"],
            "scopes": ["openid", "profile", "email", "address", "phone", "read", "write"],
        }
        data.update(fields)
        client = Client(**data)
        with self.stack.directory() as directory:
            ClientRepository(directory, self.stack.box()).add(client)
        return client

    def add_person(self, password: str = "Pass-word-1", **fields: Any) -> Person:  # noqa: S107
        uid = fields.pop("uid", f"user{uuid.uuid4().hex[:8]}")
        person = Person(
            inum=str(uuid.uuid4()),
            uid=uid,
            family_name=fields.pop("family_name", "Doe"),
            given_name=fields.pop("given_name", "Jane"),
            email=fields.pop("email", f"{uid}@example.org"),
            **fields,
        )
        with self.stack.directory() as directory:
            PeopleRepository(directory).add(person, password)
        return person


@pytest.fixture(scope="session")
def directory_tools(stack: Stack) -> DirectoryTools:
    return DirectoryTools(stack)




def issue_code(stack: Stack, client_id: str, sub: str, **fields: Any) -> str:
    """Store an authorization code as the authorize endpoint would (through its interface)."""
    import secrets
    import time

    from oxswarm.cache.aio import AsyncCache
    from oxswarm.oauth.models import AuthorizationCode
    from oxswarm.oxauth.adapters.cache import CacheCodeStore

    now = int(time.time())
    data: dict[str, Any] = {
        "code": secrets.token_urlsafe(32), "client_id": client_id,
        "redirect_uri": "https://rp.example/cb", "scope": ("openid", "profile", "email"),
        "sub": sub, "auth_time": now - 3, "grant_id": secrets.token_urlsafe(16),
        "issued_at": now, "expires_at": now + 60, "nonce": "nonce-1", "sid": "sid-1",
        "amr": ("pwd",),
    }
    data.update(fields)
    code = AuthorizationCode(**data)

    async def save() -> None:
        host, port = stack.cache_address.rsplit(":", 1)
        cache = AsyncCache(host, int(port), namespace=f"{stack.cluster}.oxauth")
        try:
            await CacheCodeStore(cache).save(code)
        finally:
            await cache.close()

    asyncio.run(save())
    return code.code


Issue = Callable[..., str]


@pytest.fixture(scope="session")
def issue(stack: Stack) -> Issue:
    """``issue(client, person, **fields)``: a code for ``client`` and ``person``."""

    def make(client: Client, person: Person, **fields: Any) -> str:
        return issue_code(stack, client.client_id, person.inum, **fields)

    return make
