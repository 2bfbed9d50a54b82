"""An oxAuth app with the front channel's routes over in-memory implementations of the
service interfaces (the real adapters are exercised by the end-to-end tests)."""

from __future__ import annotations

import dataclasses
import re
import secrets
import time
from collections.abc import Iterator, Sequence
from typing import Any

import httpx
import pytest
from anyio.from_thread import BlockingPortal, start_blocking_portal
from joserfc.jwk import RSAKey

from oxswarm.oauth.models import ClientMetadata, User
from oxswarm.oxauth.app import create_app
from oxswarm.oxauth.config import OxAuthConfig
from oxswarm.oxauth.model import OxAuthDeps, Session
from oxswarm.oxauth.web.deps import WebSettings, build_web_deps
from oxswarm.oxauth.web.lockout import LockoutPolicy

CB = "https://rp.example/cb"
BYE = "https://rp.example/bye"
ALL_TYPES = (
    "code",
    "token",
    "id_token",
    "id_token token",
    "code id_token",
    "code token",
    "code id_token token",
)


class Clients:
    def __init__(self) -> None:
        self.data: dict[str, ClientMetadata] = {}

    async def get(self, client_id: str) -> ClientMetadata | None:
        return self.data.get(client_id)

    async def create(self, client: ClientMetadata) -> None:
        self.data[client.client_id] = client

    async def update(self, client: ClientMetadata) -> None:
        self.data[client.client_id] = client

    async def delete(self, client_id: str) -> bool:
        return self.data.pop(client_id, None) is not None


class Users:
    def __init__(self) -> None:
        self.passwords = {"alice": "correct horse battery"}
        self.calls = 0

    async def get(self, sub: str) -> User | None:
        return User(sub=sub, username=sub.removeprefix("inum-"))

    async def authenticate(self, username: str, password: str) -> User | None:
        self.calls += 1
        if self.passwords.get(username) == password:
            return User(sub=f"inum-{username}", username=username)
        return None


class Sessions:
    def __init__(self) -> None:
        self.data: dict[str, Session] = {}

    async def save(self, session: Session) -> None:
        self.data[session.sid] = session

    async def get(self, sid: str) -> Session | None:
        return self.data.get(sid)

    async def delete(self, sid: str) -> None:
        self.data.pop(sid, None)


class Issuer:
    def __init__(self) -> None:
        self.codes: dict[str, dict[str, Any]] = {}
        self.hints: dict[str, dict[str, Any]] = {}

    async def issue_code(
        self,
        *,
        client: ClientMetadata,
        redirect_uri: str,
        scope: Sequence[str],
        session: Session,
        **kw: Any,
    ) -> str:
        code = secrets.token_urlsafe(16)
        self.codes[code] = {
            "client_id": client.client_id,
            "sub": session.sub,
            "sid": session.sid,
            "scope": tuple(scope),
            **kw,
        }
        return code

    async def issue_tokens_for_authorization(
        self,
        *,
        client: ClientMetadata,
        response_types: frozenset[str],
        scope: Sequence[str],
        session: Session,
        nonce: str | None = None,
        code: str | None = None,
        state: str | None = None,
    ) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if "token" in response_types:
            out.update(access_token="at-" + session.sid[:6], token_type="Bearer", expires_in=3600)
        if "id_token" in response_types:
            out["id_token"] = f"idt.{session.sub}.{nonce}.{bool(code)}"
        return out

    async def verify_id_token_hint(self, token: str) -> dict[str, Any] | None:
        return self.hints.get(token)


class Consents:
    def __init__(self) -> None:
        self.data: dict[tuple[str, str], frozenset[str]] = {}

    async def granted(self, sub: str, client_id: str) -> frozenset[str]:
        return self.data.get((sub, client_id), frozenset())

    async def grant(self, sub: str, client_id: str, scopes: frozenset[str]) -> None:
        self.data[(sub, client_id)] = self.granted_now(sub, client_id) | scopes

    def granted_now(self, sub: str, client_id: str) -> frozenset[str]:
        return self.data.get((sub, client_id), frozenset())

    async def revoke(self, sub: str, client_id: str) -> None:
        self.data.pop((sub, client_id), None)


class Counters:
    def __init__(self) -> None:
        self.data: dict[tuple[str, str], int] = {}

    async def incr(self, kind: str, ident: str, ttl: int) -> int:
        self.data[(kind, ident)] = self.data.get((kind, ident), 0) + 1
        return self.data[(kind, ident)]

    async def get(self, kind: str, ident: str) -> int:
        return self.data.get((kind, ident), 0)

    async def reset(self, kind: str, ident: str) -> None:
        self.data.pop((kind, ident), None)


class Keys:
    def __init__(self) -> None:
        self.key = RSAKey.generate_key(2048, parameters={"kid": "k1", "alg": "RS256"})

    def signing_key(self, alg: str) -> RSAKey:
        if alg != "RS256":
            raise KeyError(alg)
        return self.key

    def verification_key(self, kid: str) -> RSAKey | None:
        return self.key if kid == "k1" else None

    def public_jwks(self) -> dict[str, Any]:
        return {"keys": [self.key.as_dict(private=False)]}

    def algorithms(self) -> list[str]:
        return ["RS256"]


class SyncClient:
    """A blocking face of ``httpx.AsyncClient`` over the ASGI app (one event loop thread)."""

    def __init__(self, portal: BlockingPortal, client: httpx.AsyncClient) -> None:
        self.portal = portal
        self.inner = client
        self.cookies = client.cookies

    def get(self, url: str, **kw: Any) -> httpx.Response:
        return self.portal.call(lambda: self.inner.get(url, **kw))

    def post(self, url: str, **kw: Any) -> httpx.Response:
        return self.portal.call(lambda: self.inner.post(url, **kw))


@dataclasses.dataclass
class Provider:
    client: SyncClient
    deps: OxAuthDeps
    clients: Clients
    users: Users
    sessions: Sessions
    issuer: Issuer
    consents: Consents
    counters: Counters
    posted: list[httpx.Request]

    @staticmethod
    def hidden_fields(html: str) -> dict[str, str]:
        return hidden_fields(html)

    @staticmethod
    def page_code(response: httpx.Response) -> str:
        """The error code shown on an error page."""
        match = re.search(r'<code id="error-code">([^<]+)</code>', response.text)
        assert match, response.text
        return match.group(1)

    def add_client(self, **kw: Any) -> ClientMetadata:
        base: dict[str, Any] = {
            "client_id": "rp1",
            "client_secret": "s3cret",
            "client_name": "Example RP",
            "redirect_uris": (CB,),
            "post_logout_redirect_uris": (BYE,),
            "response_types": ALL_TYPES,
            "scopes": ("openid", "profile", "email"),
        }
        base.update(kw)
        client = ClientMetadata(**base)
        self.clients.data[client.client_id] = client
        return client

    def authorize(self, **kw: str) -> httpx.Response:
        params = {
            "client_id": "rp1",
            "redirect_uri": CB,
            "response_type": "code",
            "scope": "openid",
            "state": "st1",
        }
        params.update(kw)
        params = {k: v for k, v in params.items() if v != ""}
        return self.client.get("/oxauth/restv1/authorize", params=params)

    def login(
        self,
        page: httpx.Response,
        username: str = "alice",
        password: str = "correct horse battery",  # noqa: S107
        **kw: str,
    ) -> httpx.Response:
        form = hidden_fields(page.text)
        form.update(username=username, password=password)
        form.update(kw)
        return self.client.post("/oxauth/login", data=form)

    def consent(self, page: httpx.Response, decision: str = "allow") -> httpx.Response:
        form = hidden_fields(page.text)
        form["decision"] = decision
        return self.client.post("/oxauth/consent", data=form)

    def signed_in(self, **kw: str) -> httpx.Response:
        """Authorize, sign in and consent: the final response."""
        page = self.authorize(**kw)
        assert page.status_code == 200, page.text
        after = self.login(page)
        if after.status_code == 200 and 'name="decision"' in after.text:
            after = self.consent(after)
        return after

    def add_session(
        self, sub: str = "inum-alice", auth_time: int | None = None, clients: tuple[str, ...] = ()
    ) -> Session:
        from oxswarm.oxauth.web.security import SESSION_COOKIE, session_cookie_value

        now = int(time.time())
        session = Session(
            sid=secrets.token_urlsafe(16),
            sub=sub,
            username="alice",
            auth_time=auth_time or now,
            expires_at=now + 3600,
            clients=clients,
        )
        self.sessions.data[session.sid] = session
        self.client.cookies.set(
            SESSION_COOKIE,
            session_cookie_value(self.deps.config.session_secret, session.sid),
            domain="testserver.local",
            path="/oxauth",
        )
        return session


def hidden_fields(html: str) -> dict[str, str]:
    found = re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', html)
    import html as html_mod

    return {name: html_mod.unescape(value) for name, value in found}


def make_provider(issuer_url: str, policy: LockoutPolicy | None = None) -> Iterator[Provider]:
    clients, users, sess, issuer = Clients(), Users(), Sessions(), Issuer()
    consents, counters = Consents(), Counters()
    posted: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        posted.append(request)
        return httpx.Response(200)

    web = build_web_deps(consents, counters, WebSettings(lockout=policy or LockoutPolicy()))
    web.http = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    config = OxAuthConfig(
        issuer=issuer_url,
        session_secret="test-session-secret",
        pairwise_key="pk",
        pairwise_salt="ps",
    )
    deps = OxAuthDeps(
        config=config,
        clients=clients,
        users=users,
        codes=None,  # type: ignore[arg-type]
        tokens=None,
        grants=None,
        replay=None,
        keys=Keys(),  # type: ignore[arg-type]
        sessions=sess,
        issuer=issuer,
        extras={"web": web},
    )
    app = create_app(deps=deps)
    app.state.deps = deps  # what the lifespan does; ASGITransport runs no lifespan
    transport = httpx.ASGITransport(app=app)
    with start_blocking_portal() as portal:
        inner = httpx.AsyncClient(transport=transport, base_url=issuer_url, follow_redirects=False)
        try:
            tc = SyncClient(portal, inner)
            yield Provider(tc, deps, clients, users, sess, issuer, consents, counters, posted)
        finally:
            portal.call(inner.aclose)
            portal.call(web.http.aclose)


@pytest.fixture
def op() -> Iterator[Provider]:
    yield from make_provider("http://testserver.local")


@pytest.fixture
def op_https() -> Iterator[Provider]:
    yield from make_provider("https://testserver.local")
