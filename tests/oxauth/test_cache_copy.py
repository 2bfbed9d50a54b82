"""oxAuth over three real Redis shards behind a real Twemproxy: the shard holding sessions
and sign-in state is killed, and nobody notices (the cache's second copy, docs/cache.md).

30 browsers signed in and 10 at the sign-in form; the shard holding the most session
primaries dies: every browser still gets a code with ``prompt=none`` (redeemed once, never
twice), the 10 sign-ins complete, 5 browsers sign out; the shard returns (empty): the 5
old cookies get ``login_required``, the other sessions go on, no code is redeemed again.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from html import unescape
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from tests.oxauth.conftest import Server, start_server

from oxswarm.cache.client import Cache
from oxswarm.directory.clients import ClientRepository
from oxswarm.directory.models import Client, Person
from oxswarm.directory.people import PeopleRepository
from oxswarm.local.process import wait_until
from oxswarm.local.stack import Stack, start_stack

pytestmark = pytest.mark.integration
CB, PASSWORD = "https://rp.example/cb", "Pass-word-13"
HIDDEN = r'<input type="hidden" name="([^"]+)" value="([^"]*)"'


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    running = start_stack(tmp_path_factory.mktemp("stack3"), cache_shards=3)
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="module")
def server(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    started = start_server(stack, tmp_path_factory.mktemp("oxauth"))
    try:
        yield started
    finally:
        started.daemon.stop()


def _hidden(text: str) -> dict[str, str]:
    return {k: unescape(v) for k, v in re.findall(HIDDEN, text)}


def _code(res: httpx.Response) -> str | None:
    codes = parse_qs(urlsplit(res.headers.get("location", "")).query).get("code")
    return codes[0] if codes and res.status_code in (302, 303) else None


class Agent:
    def __init__(self, server: Server, rp: Client, cookies: httpx.Cookies | None = None):
        self.rp = rp
        self.http = httpx.Client(base_url=server.url, timeout=20, trust_env=False,
                                 cookies=cookies)

    def authorize(self, **extra: str) -> httpx.Response:
        return self.http.get("/oxauth/restv1/authorize", params={
            "client_id": self.rp.client_id, "redirect_uri": CB, "response_type": "code",
            "scope": "openid", "state": "s", "nonce": uuid.uuid4().hex, **extra})

    def login(self, page: httpx.Response, uid: str) -> str | None:
        assert 'name="password"' in page.text, page.text[:200]
        return _code(self.http.post("/oxauth/login", data=_hidden(page.text) | {
            "username": uid, "password": PASSWORD}))

    def redeem(self, code: str) -> int:
        return self.http.post("/oxauth/restv1/token", auth=(
            self.rp.client_id, self.rp.client_secret or ""), data={
            "grant_type": "authorization_code", "code": code, "redirect_uri": CB}).status_code

    def sign_out(self) -> None:
        page = self.http.get("/oxauth/restv1/end_session")
        done = self.http.post("/oxauth/restv1/end_session",
                              data=_hidden(page.text) | {"logout": "yes"})
        assert "You are signed out" in done.text, done.text[:300]


def test_no_sign_in_lost_with_a_shard(stack: Stack, server: Server) -> None:
    rp = Client(client_id=f"copy.{uuid.uuid4().hex[:8]}", client_secret="s3cret-" + "x" * 20,
                redirect_uris=[CB], trusted=True, grant_types=["authorization_code"],
                scopes=["openid"])
    uid = f"copy{uuid.uuid4().hex[:6]}"
    with stack.directory() as directory:
        ClientRepository(directory, stack.box()).add(rp)
        PeopleRepository(directory).add(Person(inum=str(uuid.uuid4()), uid=uid,
                                               family_name="Doe", given_name="Jo",
                                               email=f"{uid}@example.org"), PASSWORD)
    agents = [Agent(server, rp) for _ in range(40)]
    try:
        assert all(a.login(a.authorize(), uid) for a in agents[:30])
        pending = [a.authorize() for a in agents[30:]]
        sessions = {n.name: len(n.admin().keys(f"{stack.cluster}.oxauth:session:*"))
                    for n in stack.cache.redis}
        victim = stack.cache.shard(max(sessions, key=lambda n: sessions[n]))
        assert sessions[victim.name] >= 5, sessions
        victim.kill()

        codes = [a.authorize(prompt="none") for a in agents[:30]]
        got = [_code(r) for r in codes]
        assert all(got), [r.headers.get("location") for r in codes if not _code(r)][:3]
        assert [agents[0].redeem(c) for c in got if c] == [200] * 30
        done = [a.login(p, uid) for a, p in zip(agents[30:], pending, strict=True)]
        assert all(done)
        assert [agents[0].redeem(c) for c in done if c] == [200] * 10
        old = [httpx.Cookies(a.http.cookies) for a in agents[:5]]
        for agent in agents[:5]:
            agent.sign_out()

        victim.restart()
        ring = stack.cache.ring
        probe = next(f"p{i}" for i in range(1000)
                     if ring.names[ring.shard(f"probe:k:p{i}")] == victim.name)
        with Cache(stack.cache.host, stack.cache.port, "probe",
                   password=stack.cache.password) as plain:

            def routed_back() -> bool:
                plain.set("k", probe, "1", 60)
                return bool(victim.admin().exists(f"probe:k:{probe}"))

            wait_until(routed_back, 20.0, "Twemproxy to route to the returned shard",
                       interval=0.3)
        returning = [Agent(server, rp, c) for c in old]
        agents += returning
        revived = [_code(a.authorize(prompt="none")) for a in returning]
        assert revived == [None] * 5
        answers = [a.authorize(prompt="none") for a in agents[5:40]]
        lost = [(r.status_code, r.headers.get("location", r.text[:200])) for r in answers
                if not _code(r)]
        assert not lost, lost
        assert [agents[0].redeem(c) for c in got + done if c] == [400] * 40
    finally:
        for agent in agents:
            agent.http.close()
