"""The front channel on a real stack: real ``oxswarm run oxauth`` processes (two per module,
one issuer), a browser with one cookie jar for both, people and clients in the real
directory, counters and sessions in the real cache, and a real HTTP receiver for
back-channel logout.

The browser sends ``X-Forwarded-For`` with an address of its own (127.0.0.1 is a trusted
proxy in the test stack), so each test's per-address counter is its own. The processes run
with ``--dev`` (the logout receivers are on loopback).
"""

from __future__ import annotations

import asyncio
import html as html_mod
import re
import secrets
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import KeySet
from tests.oxauth.conftest import DirectoryTools, Server

from oxswarm.cache.aio import AsyncCache
from oxswarm.config import keys as K
from oxswarm.directory.models import Client, Person
from oxswarm.local.process import free_port
from oxswarm.local.stack import Stack
from oxswarm.oauth.oidc.backchannel_logout import EVENT

ISSUER = "http://id.oxswarm.test"
CB = "https://rp.example/cb"
BYE = "https://rp.example/bye"
PASSWORD = "correct horse battery"
TOKEN = "/oxauth/restv1/token"
ALL_TYPES = [
    "code",
    "token",
    "id_token",
    "id_token token",
    "code id_token",
    "code token",
    "code id_token token",
]


def hidden_fields(html: str) -> dict[str, str]:
    found = re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', html)
    return {name: html_mod.unescape(value) for name, value in found}


def page_code(response: httpx.Response) -> str:
    """The error code shown on an error page."""
    match = re.search(r'<code id="error-code">([^<]+)</code>', response.text)
    assert match, response.text
    return match.group(1)


def query(response: httpx.Response) -> dict[str, list[str]]:
    return parse_qs(urlsplit(response.headers["location"]).query)


def fragment(response: httpx.Response) -> dict[str, list[str]]:
    return parse_qs(urlsplit(response.headers["location"]).fragment)


USER_LIMIT = 3  # the lockout thresholds these processes read from the config store
ADDRESS_LIMIT = 8
ADDRESS_DELAY_MS = 300  # the longest wait per attempt from an address past its limit


@pytest.fixture(scope="module")
def servers(oxauth_servers: Callable[..., Server], stack: Stack) -> Iterator[list[Server]]:
    """Two oxAuth processes serving the same issuer on the same stack, started after the
    lockout thresholds were set in the store (back to the defaults afterwards)."""
    manager = stack.manager()
    try:
        manager.set(K.OXAUTH_LOCKOUT_USER_FAILURES, str(USER_LIMIT))
        manager.set(K.OXAUTH_LOCKOUT_ADDRESS_FAILURES, str(ADDRESS_LIMIT))
        manager.set(K.OXAUTH_LOCKOUT_ADDRESS_DELAY_MS, str(ADDRESS_DELAY_MS))
        yield [oxauth_servers(issuer=ISSUER, dev=True), oxauth_servers(issuer=ISSUER, dev=True)]
    finally:
        manager.set(K.OXAUTH_LOCKOUT_USER_FAILURES, "5")
        manager.set(K.OXAUTH_LOCKOUT_ADDRESS_FAILURES, "20")
        manager.set(K.OXAUTH_LOCKOUT_ADDRESS_DELAY_MS, "3000")
        manager.store.close()


def random_address() -> str:
    """A private IPv4 address of this browser's own (its lockout counter is its own)."""
    return "10." + ".".join(str(secrets.randbelow(250) + 1) for _ in range(3))


@dataclass
class Browser:
    """A user agent: one cookie jar, requests to process ``at`` (0 or 1) of ``servers``."""

    servers: list[Server]
    address: str = field(default_factory=random_address)
    http: httpx.Client = field(init=False)

    def __post_init__(self) -> None:
        self.http = httpx.Client(
            timeout=20.0, trust_env=False, headers={"X-Forwarded-For": self.address}
        )

    def url(self, path: str, at: int = 0) -> str:
        return self.servers[at].url + path

    def get(self, path: str, at: int = 0, **kw: Any) -> httpx.Response:
        return self.http.get(self.url(path, at), **kw)

    def post(self, path: str, at: int = 0, **kw: Any) -> httpx.Response:
        return self.http.post(self.url(path, at), **kw)

    def authorize(self, client: Client, at: int = 0, **kw: str) -> httpx.Response:
        params = {
            "client_id": client.client_id,
            "redirect_uri": CB,
            "response_type": "code",
            "scope": "openid",
            "state": "st1",
        }
        params.update(kw)
        params = {k: v for k, v in params.items() if v != ""}
        return self.get("/oxauth/restv1/authorize", at, params=params)

    def login(
        self,
        page: httpx.Response,
        person: Person | str,
        password: str = PASSWORD,
        at: int = 0,
        **kw: str,
    ) -> httpx.Response:
        form = hidden_fields(page.text)
        username = person if isinstance(person, str) else person.uid
        form.update(username=username, password=password, **kw)
        return self.post("/oxauth/login", at, data=form)

    def consent(
        self, page: httpx.Response, decision: str = "allow", at: int = 0, **kw: str
    ) -> httpx.Response:
        form = hidden_fields(page.text)
        form.update(decision=decision, **kw)
        return self.post("/oxauth/consent", at, data=form)

    def signed_in(self, client: Client, person: Person, at: int = 0, **kw: str) -> httpx.Response:
        """Authorize, sign in and consent (when asked): the final response."""
        after = self.authorize(client, at, **kw)
        if after.status_code == 200 and 'name="password"' in after.text:
            after = self.login(after, person, at=at)
        if after.status_code == 200 and 'name="decision"' in after.text:
            after = self.consent(after, at=at)
        return after

    def close(self) -> None:
        self.http.close()


@pytest.fixture
def browser(servers: list[Server]) -> Iterator[Browser]:
    agent = Browser(servers)
    try:
        yield agent
    finally:
        agent.close()


@pytest.fixture
def new_browser(servers: list[Server]) -> Iterator[Callable[[], Browser]]:
    made: list[Browser] = []

    def make() -> Browser:
        made.append(Browser(servers))
        return made[-1]

    try:
        yield make
    finally:
        for agent in made:
            agent.close()


@dataclass
class World:
    """Clients and people in the real directory; tokens from the real token endpoint."""

    tools: DirectoryTools
    stack: Stack
    servers: list[Server]

    def client(self, **kw: Any) -> Client:
        fields: dict[str, Any] = {
            "name": "Example RP",
            "redirect_uris": [CB],
            "post_logout_redirect_uris": [BYE],
            "response_types": ALL_TYPES,
            "grant_types": ["authorization_code", "implicit", "refresh_token"],
            "scopes": ["openid", "profile", "email"],
        }
        fields.update(kw)
        return self.tools.add_client(**fields)

    def person(self) -> Person:
        return self.tools.add_person(PASSWORD, uid=f"alice{uuid.uuid4().hex[:8]}")

    def redeem(self, client: Client, code: str, at: int = 0) -> dict[str, Any]:
        with self.servers[at].client() as http:
            r = http.post(
                TOKEN,
                auth=(client.client_id, client.client_secret or ""),
                data={"grant_type": "authorization_code", "code": code, "redirect_uri": CB},
            )
        assert r.status_code == 200, r.text
        body: dict[str, Any] = r.json()
        return body

    def jwks(self) -> KeySet:
        with self.servers[0].client() as http:
            return KeySet.import_key_set(http.get("/oxauth/restv1/jwks").json())

    def id_token(self, token: str) -> dict[str, Any]:
        """The claims of an ID token whose signature checks against the provider's JWKS."""
        claims: dict[str, Any] = jwt.decode(token, self.jwks(), algorithms=["RS256"]).claims
        return claims

    def counter(self, kind: str, ident: str) -> int:
        async def read() -> int:
            host, port = self.stack.cache_address.rsplit(":", 1)
            cache = AsyncCache(host, int(port), namespace=f"{self.stack.cluster}.oxauth")
            try:
                raw = await cache.get(kind, ident)
            finally:
                await cache.close()
            return int(raw) if raw is not None else 0

        return asyncio.run(read())


@pytest.fixture(scope="module")
def world(directory_tools: DirectoryTools, stack: Stack, servers: list[Server]) -> World:
    return World(directory_tools, stack, servers)


@dataclass
class Received:
    path: str
    form: dict[str, list[str]]
    verified: dict[str, Any] | None
    problem: str | None


class LogoutReceiver:
    """A relying party's back-channel logout endpoint (OpenID Back-Channel Logout 1.0
    section 2.6) on a free loopback port: it validates each Logout Token against the
    provider's JWKS (signature, ``typ``, ``iss``, ``aud``, ``iat``, ``events``, ``sid``,
    no ``nonce``) and answers 200, or 400 naming the problem."""

    def __init__(self, jwks_url: str, issuer: str) -> None:
        self.jwks_url = jwks_url
        self.issuer = issuer
        self.audiences: set[str] = set()
        self.received: list[Received] = []
        self.lock = threading.Lock()
        self.arrived = threading.Condition(self.lock)
        self.port = free_port()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                form = parse_qs(self.rfile.read(length).decode())
                verified, problem = receiver.validate(form)
                self.send_response(200 if problem is None else 400)
                self.send_header("content-length", "0")
                self.end_headers()
                with receiver.arrived:
                    receiver.received.append(Received(self.path, form, verified, problem))
                    receiver.arrived.notify_all()

            def log_message(self, format: str, *args: Any) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def uri(self, path: str = "/backchannel") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def validate(self, form: dict[str, list[str]]) -> tuple[dict[str, Any] | None, str | None]:
        tokens = form.get("logout_token") or []
        if len(tokens) != 1:
            return None, "exactly one logout_token expected"
        keys = KeySet.import_key_set(httpx.get(self.jwks_url, timeout=5.0).json())
        try:
            token = jwt.decode(tokens[0], keys, algorithms=["RS256"])
        except ValueError as exc:
            return None, f"signature: {exc}"
        claims = dict(token.claims)
        if token.header.get("typ") != "logout+jwt":
            return None, "typ"
        if claims.get("iss") != self.issuer:
            return None, "iss"
        if claims.get("aud") not in self.audiences:
            return None, "aud"
        if not isinstance(claims.get("iat"), int) or "jti" not in claims:
            return None, "iat/jti"
        if claims.get("events") != {EVENT: {}}:
            return None, "events"
        if not claims.get("sid") or "nonce" in claims:
            return None, "sid/nonce"
        claims["_header"] = dict(token.header)
        return claims, None

    def wait(self, count: int, timeout: float = 20.0) -> list[Received]:
        with self.arrived:
            self.arrived.wait_for(lambda: len(self.received) >= count, timeout)
            return list(self.received)

    def __enter__(self) -> LogoutReceiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


@pytest.fixture
def receiver(servers: list[Server]) -> Iterator[LogoutReceiver]:
    with LogoutReceiver(servers[0].url + "/oxauth/restv1/jwks", ISSUER) as running:
        yield running
