"""No sign-in state lost with a node (issue 13): the cache's second copy in the 3-node lab.

Through the load balancer: 200 browsers sign in, 100 more stop at the sign-in form; a
worker node is killed (its Redis shard with it). Then every one of the 200 still gets a
code with ``prompt=none``, the 100 sign-ins in progress complete, every code is redeemed
once and never twice, and 20 browsers sign out; after the node returns the 20 stay signed
out (their old cookie gets ``login_required``), the other sessions go on, and no code is
redeemed again. Before the second copy: 144 of 200 sessions kept, 66 of 100 codes.
"""

from __future__ import annotations

import re
import ssl
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from html import unescape
from typing import Any, TypeVar
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from tests.cluster.conftest import HOSTNAME
from tests.cluster.probes import catalogued_nodes, discovery_answer, ldap_url, secrets_of

from oxswarm.config.secrets import SecretBox
from oxswarm.deploy.deployer import Deployer, UpResult
from oxswarm.directory.clients import ClientRepository
from oxswarm.directory.connection import Directory, DirectoryConfig
from oxswarm.directory.models import Client
from oxswarm.local.process import wait_until

pytestmark = [pytest.mark.cluster, pytest.mark.timeout(600)]
T = TypeVar("T")
CB = "https://rp.oxsci.test/cb"
HIDDEN = r'<input type="hidden" name="([^"]+)" value="([^"]*)"'
SIGNED_IN, IN_PROGRESS, SIGN_OUTS = 200, 100, 20
LOGINS = 4  # sign-ins of the admin at once: below oxauth_lockout_user_failures (5)


class Agent:
    """One browser: a cookie jar, every request to the load balancer for ``HOSTNAME``."""

    def __init__(self, result: UpResult, client: Client, cookies: httpx.Cookies | None = None):
        self.lb, self.client = result.load_balancer, client
        self.http = httpx.Client(verify=ssl.create_default_context(cafile=result.ca_file),
                                 timeout=30.0, trust_env=False, cookies=cookies)

    def send(self, method: str, path: str, *, auth: tuple[str, str] | None = None,
             **kw: Any) -> httpx.Response:
        """One request; a transport error or a 502/503/504 (a dead node's connection, not
        an answer of oxAuth) is sent again, at most 4 times."""
        for attempt in range(5):
            request = self.http.build_request(
                method, f"https://{self.lb}{path}", headers={"Host": HOSTNAME},
                extensions={"sni_hostname": HOSTNAME}, **kw)
            try:
                res = self.http.send(request, auth=auth) if auth else self.http.send(request)
            except httpx.TransportError:
                if attempt == 4:
                    raise
            else:
                if res.status_code not in (502, 503, 504) or attempt == 4:
                    return res
            time.sleep(1.0)
        raise AssertionError("unreachable")

    def authorize(self, **extra: str) -> httpx.Response:
        params = {"client_id": self.client.client_id, "redirect_uri": CB,
                  "response_type": "code", "scope": "openid", "state": "s",
                  "nonce": uuid.uuid4().hex, **extra}
        return self.send("GET", "/oxauth/restv1/authorize", params=params)

    def login(self, page: httpx.Response, username: str, password: str) -> httpx.Response:
        form = {k: unescape(v) for k, v in _hidden(page.text).items()}
        assert 'name="password"' in page.text, (page.status_code, page.text[:200])
        return self.send("POST", "/oxauth/login",
                         data=form | {"username": username, "password": password})

    def code(self) -> str | None:
        """A code with ``prompt=none`` (the session is there), else None."""
        res = self.authorize(prompt="none")
        query = parse_qs(urlsplit(res.headers.get("location", "")).query)
        return query["code"][0] if res.status_code in (302, 303) and "code" in query else None

    def redeem(self, code: str) -> int:
        return self.send("POST", "/oxauth/restv1/token",
                         auth=(self.client.client_id, self.client.client_secret or ""),
                         data={"grant_type": "authorization_code", "code": code,
                               "redirect_uri": CB}).status_code

    def sign_out(self) -> None:
        page = self.send("GET", "/oxauth/restv1/end_session")
        assert 'name="logout"' in page.text, page.text[:300]
        done = self.send("POST", "/oxauth/restv1/end_session",
                         data=_hidden(page.text) | {"logout": "yes"})
        assert done.status_code == 200 and "signed out" in done.text, done.text[:300]


def _hidden(text: str) -> dict[str, str]:
    return {k: unescape(v) for k, v in re.findall(HIDDEN, text)}


def _code_of(res: httpx.Response) -> str | None:
    query = parse_qs(urlsplit(res.headers.get("location", "")).query)
    codes = query.get("code")
    return codes[0] if codes else None


def in_parallel(fn: Callable[[int], T], count: int, workers: int = 16) -> list[T]:
    with ThreadPoolExecutor(workers) as pool:
        return list(pool.map(fn, range(count)))


def add_rp(deployer: Deployer, result: UpResult, found: dict[str, str]) -> Client:
    """A trusted RP (no consent page) written to a node's directory."""
    client = Client(client_id=f"cachecopy.{uuid.uuid4().hex[:8]}", redirect_uris=[CB],
                    client_secret="s3cret-" + uuid.uuid4().hex, trusted=True,
                    grant_types=["authorization_code"], scopes=["openid"])
    with tempfile.NamedTemporaryFile("w", suffix=".pem") as ca:
        ca.write(found["ca"])
        ca.flush()
        address = next(iter(result.nodes.values()))
        config = DirectoryConfig(urls=(ldap_url(address),), bind_dn=found["bind_dn"],
                                 password=found["ldap_pw"], ca_file=ca.name)
        with Directory(config) as directory:
            ClientRepository(directory, SecretBox.from_file(deployer.master_key_file)).add(client)
    return client


def test_no_sign_in_lost_with_a_node(cluster: tuple[Deployer, UpResult]) -> None:
    deployer, result = cluster
    spec = deployer.saved_spec()
    assert spec is not None
    victim = spec.nodes[-1]
    every = {n.name for n in spec.nodes}
    # up returns once the load balancer serves; a node's oxAuth may still be starting
    # (once over 120 s on this 2-core machine when this test ran first)
    wait_until(lambda: catalogued_nodes(deployer) == every, 300,
               "every node's oxauth in the catalogue", interval=1.0)
    found = secrets_of(deployer)
    user, password = "admin", found["admin_pw"]
    rp = add_rp(deployer, result, found)
    agents = [Agent(result, rp) for _ in range(SIGNED_IN + IN_PROGRESS)]
    began = time.monotonic()
    try:
        failed: list[str] = []

        def sign_in(i: int) -> bool:
            done = agents[i].login(agents[i].authorize(), user, password)
            if _code_of(done) is None:
                failed.append(f"{done.status_code} {done.headers.get('location', '')[:120]} "
                              f"{done.text[:300]!r}")
            return _code_of(done) is not None

        # at most LOGINS passwords of one user in flight: oxAuth counts an attempt before
        # its check (the lockout's 5 per user holds against parallel guessing too)
        assert sum(in_parallel(sign_in, SIGNED_IN, LOGINS)) == SIGNED_IN, failed[:3]
        pending = in_parallel(lambda i: agents[SIGNED_IN + i].authorize(), IN_PROGRESS)
        assert all('name="password"' in p.text for p in pending)
        signed_in = time.monotonic() - began

        driver = deployer.driver(spec)
        driver.fail(victim.name, "kill")
        killed_at = time.monotonic()
        lock = threading.Lock()
        redeemed: list[str] = []

        def prompt_none(i: int) -> bool:
            code = agents[i].code()
            if code is None:
                return False
            ok = agents[i].redeem(code) == 200
            with lock:
                redeemed.append(code)
            return ok

        kept = sum(in_parallel(prompt_none, SIGNED_IN))

        def complete(i: int) -> bool:
            done = agents[SIGNED_IN + i].login(pending[i], user, password)
            code = _code_of(done)
            return code is not None and agents[SIGNED_IN + i].redeem(code) == 200

        completed = sum(in_parallel(complete, IN_PROGRESS, LOGINS))
        twice = sum(in_parallel(lambda i: agents[0].redeem(redeemed[i]) == 200, len(redeemed)))
        # 20 browsers sign out during the outage; their old cookies are kept
        leavers = range(SIGN_OUTS)
        old_cookies = [httpx.Cookies(agents[i].http.cookies) for i in leavers]
        in_parallel(lambda i: agents[i].sign_out(), SIGN_OUTS)
        outage = time.monotonic() - killed_at

        driver.heal(victim.name)
        healed_at = time.monotonic()
        wait_until(lambda: discovery_answer(victim.address, HOSTNAME, result.ca_file) == "200",
                   240, f"{victim.name} to serve again", interval=1.0)
        wait_until(lambda: catalogued_nodes(deployer) == every, 120,
                   "every node's oxauth in the catalogue", interval=1.0)
        time.sleep(5)  # Twemproxy routes to the returned (empty) shard again (2 s retry)
        back = time.monotonic() - healed_at

        def revived_code(i: int) -> bool:
            agent = Agent(result, rp, old_cookies[i])  # the signed-out browser's old cookie
            try:
                return agent.code() is not None
            finally:
                agent.http.close()

        revived = sum(in_parallel(revived_code, SIGN_OUTS))
        still = sum(in_parallel(lambda i: agents[SIGN_OUTS + i].code() is not None,
                                SIGNED_IN - SIGN_OUTS))
        twice += sum(in_parallel(lambda i: agents[0].redeem(redeemed[i]) == 200,
                                 len(redeemed)))
        print(f"\nfigures: {kept}/{SIGNED_IN} sessions kept (prompt=none code after the "
              f"kill), {completed}/{IN_PROGRESS} sign-ins in progress completed, "
              f"{twice} of {len(redeemed)} codes redeemed twice, {revived}/{SIGN_OUTS} "
              f"signed-out sessions revived after the return, {still}/"
              f"{SIGNED_IN - SIGN_OUTS} sessions kept after the return; timings: sign-ins "
              f"{signed_in:.0f}s, outage {outage:.0f}s, back {back:.0f}s")
        assert kept == SIGNED_IN
        assert completed == IN_PROGRESS
        assert twice == 0
        assert revived == 0
        assert still == SIGNED_IN - SIGN_OUTS
    finally:
        for agent in agents:
            agent.http.close()
