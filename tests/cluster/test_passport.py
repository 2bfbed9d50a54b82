"""oxPassport in the 3-node lab (issue 12): start and callback through the load balancer,
and a node lost between them.

The upstream OpenID Provider is node-oidc-provider (``tests/passport/op/server.mjs``, as
tests/passport uses it) serving https on the root namespace's address of the lab
network (the lab assigned it; oxAuth in the containers reaches it through its node), with
a certificate of a CA of the test's own. The operator opens that address and trusts that
CA through the admin API (``oxauth_fetch_allow``, ``oxauth_fetch_ca``) and adds the
provider with ``oxswarm providers add``; its redirect URI is the cluster's public
``/passport/auth/ID/callback``.

Every request to the cluster goes to the load balancer, as a browser's would. Which node
answered is read from each node's oxAuth ``/metrics`` (its
``oxswarm_http_requests_total`` by route template, read on the node: not public), before
and after each step of a sign-in made one at a time. Then a batch of browsers starts, a
worker is killed (its oxAuth, NGINX, Redis shard, slapd, etcd member) while they are at
the provider, and every one of them finishes through the surviving nodes: the start's
record is in the shared cache with two copies.
"""

from __future__ import annotations

import json
import re
import shutil
import ssl
import subprocess
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from html import unescape
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import KeySet
from tests.cluster.conftest import HOSTNAME, operator_env
from tests.cluster.probes import catalogued_nodes, node_serves, secrets_of
from tests.cluster.test_cache_copy import CB, add_rp, in_parallel
from tests.cluster.test_oxtrust import API, Browser, clients_add, token
from tests.passport.conftest import installed_op

from oxswarm.crypto.pki import create_ca, issue_server_cert
from oxswarm.deploy.deployer import Deployer, UpResult
from oxswarm.deploy.render.stack import OXAUTH_PORT
from oxswarm.deploy.spec import ClusterSpec
from oxswarm.directory.models import Client
from oxswarm.local.process import Daemon, free_port, wait_until

pytestmark = [pytest.mark.cluster, pytest.mark.timeout(900)]
PROVIDER = "labop"
OP_CLIENT = "oxswarm-lab"
OP_SECRET = "op-secret-" + uuid.uuid4().hex
RUN = uuid.uuid4().hex[:6]
ONE_BY_ONE, BATCH = 9, 30
START, CALLBACK = "/passport/auth/{provider}", "/passport/auth/{provider}/callback"
# the provider's users: login -> claims (e-mail and names reach us through userinfo)
ACCOUNTS = {f"u{i}x{RUN}": {"email": f"u{i}x{RUN}@partner.test", "email_verified": True,
                            "given_name": "Lab", "family_name": f"User{i}",
                            "preferred_username": f"u{i}x{RUN}"}
            for i in range(ONE_BY_ONE + BATCH + 2)}
LOGINS = list(ACCOUNTS)
METRICS = (f"import urllib.request; print(urllib.request.urlopen("
           f"'http://127.0.0.1:{OXAUTH_PORT}/metrics', timeout=10).read().decode())")
# a sample line: its labels (a template's braces inside: endpoint="/passport/auth/{provider}")
REQUESTS = re.compile(r'^oxswarm_http_requests_total\{(.*)\} ([0-9.e+]+)$', re.M)


@dataclass
class Upstream:
    issuer: str
    ca_file: str


@pytest.fixture(scope="module")
def upstream(cluster: tuple[Deployer, UpResult], tmp_path_factory: pytest.TempPathFactory
             ) -> Iterator[Upstream]:
    """node-oidc-provider on https at the root namespace's lab address; the operator opens
    it (admin API) and adds it (``oxswarm providers add``)."""
    deployer, result = cluster
    spec = the_spec(deployer)
    assert spec.lab is not None
    home = installed_op()
    folder = tmp_path_factory.mktemp("upstream")
    script = home / f"passport-lab-op-{RUN}.mjs"
    shutil.copy(Path(__file__).parents[1] / "passport" / "op" / "server.mjs", script)
    host = spec.lab.host_ip
    ca = create_ca("Partner Lab")
    leaf = issue_server_cert(ca.cert_pem, ca.key_pem, [host])
    for name, text in (("op.crt", leaf.cert_pem), ("op.key", leaf.key_pem),
                       ("ca.crt", ca.cert_pem)):
        (folder / name).write_text(text)
    port = free_port(host)
    issuer = f"https://{host}:{port}"
    daemon = Daemon(f"lab-op-{port}", ["node", str(script)], folder, env={
        "PORT": str(port), "HOST": host, "TLS_CERT_FILE": str(folder / "op.crt"),
        "TLS_KEY_FILE": str(folder / "op.key"), "ACCOUNTS": json.dumps(ACCOUNTS),
        "CLIENT_ID": OP_CLIENT, "CLIENT_SECRET": OP_SECRET,
        "REDIRECT_URIS": json.dumps([f"https://{HOSTNAME}/passport/auth/{PROVIDER}/callback"]),
    }).start()
    try:
        daemon.wait_tcp(host, port, timeout=30)
        # the operator: the partner's network and CA through the admin API ...
        api = clients_add(result, f"passport-ci-{RUN}", f"{API}/api.read", f"{API}/api.write")
        before = settings(result, api)
        assert before.get("oxauth_fetch_ca") is None, before
        changed = settings(result, api, {"oxauth_fetch_allow": f"{host}/32",
                                         "oxauth_fetch_ca": ca.cert_pem})
        assert changed["oxauth_fetch_ca"].startswith("-----BEGIN CERTIFICATE-----"), changed
        # ... and the provider with the CLI, its secret from a file
        secret = folder / "op.secret"
        secret.write_text(OP_SECRET + "\n")
        secret.chmod(0o600)
        added = operator("providers", "add", "--id", PROVIDER, "--issuer", issuer,
                         "--client-id", OP_CLIENT, "--client-secret-file", str(secret),
                         "--name", "Partner lab", "--json", result=result)
        assert json.loads(added)["issuer"] == issuer
        yield Upstream(issuer, str(folder / "ca.crt"))
        # the cluster as the other tests expect it: no provider, the policy as it was
        operator("providers", "remove", PROVIDER, result=result)
        settings(result, api, {"oxauth_fetch_allow": before.get("oxauth_fetch_allow"),
                               "oxauth_fetch_ca": None})
    finally:
        daemon.stop()
        script.unlink(missing_ok=True)
        print(f"\nupstream OP log (last lines):\n{daemon.log_file.read_text()[-1500:]}")


def settings(result: UpResult, api: tuple[str, str],
             change: dict[str, str | None] | None = None) -> dict[str, Any]:
    """oxAuth's live settings through the admin API (``PUT`` when ``change``)."""
    admin = Browser(result)
    try:
        scope = f"{API}/api.write" if change else f"{API}/api.read"
        bearer = {"Authorization": f"Bearer {token(admin, api, scope)}"}
        path = "/identity/restv1/api/v1/configuration/oxauth/settings"
        res = (admin.send("PUT", path, headers=bearer, json=change) if change
               else admin.send("GET", path, headers=bearer))
        assert res.status_code == 200, res.text
        return dict(res.json())
    finally:
        admin.close()


def the_spec(deployer: Deployer) -> ClusterSpec:
    spec = deployer.saved_spec()
    assert spec is not None
    return spec


def operator(*args: str, result: UpResult) -> str:
    """An ``oxswarm`` command as the operator runs it (after ``oxswarm env``)."""
    proc = subprocess.run(["oxswarm", *args], capture_output=True, text=True, timeout=120,
                          env=operator_env() | result.env, check=False)
    assert proc.returncode == 0, (args, proc.stderr[-800:])
    return proc.stdout


class Person:
    """One browser (a cookie jar): our URLs through the load balancer, the provider's
    directly (its CA trusted)."""

    def __init__(self, result: UpResult, up: Upstream, rp: Client) -> None:
        self.lb, self.rp, self.up = result.load_balancer, rp, up
        self.ours = httpx.Client(verify=ssl.create_default_context(cafile=result.ca_file),
                                 timeout=30.0, trust_env=False)
        self.theirs = httpx.Client(verify=ssl.create_default_context(cafile=up.ca_file),
                                   timeout=30.0, trust_env=False)
        self.nonce = uuid.uuid4().hex
        self.trail: list[str] = []

    def send(self, target: str, *, retry: bool = True) -> httpx.Response:
        """GET a URL or path of the cluster through the LB. A transport error or a
        502/503/504 that is not oxAuth's own page (no node answered) is sent again."""
        path = target.removeprefix(f"https://{HOSTNAME}")
        assert path.startswith("/"), target
        for attempt in range(5):
            request = self.ours.build_request(
                "GET", f"https://{self.lb}{path}", headers={"Host": HOSTNAME},
                extensions={"sni_hostname": HOSTNAME})
            try:
                res = self.ours.send(request)
            except httpx.TransportError:
                if not retry or attempt == 4:
                    raise
            else:
                ours = 'id="back-link"' in res.text
                if not retry or res.status_code not in (502, 503, 504) or ours or attempt == 4:
                    self.trail.append(f"{res.status_code} {path.split('?')[0]}")
                    return res
            time.sleep(1.0)
        raise AssertionError("unreachable")

    def start(self, hint: bool) -> httpx.Response:
        """``idp_hint`` (straight to the provider) or the sign-in page's button: the
        start's 302 to the provider."""
        query = httpx.QueryParams({
            "client_id": self.rp.client_id, "redirect_uri": CB, "response_type": "code",
            "scope": "openid", "state": "rp", "nonce": self.nonce,
            **({"idp_hint": PROVIDER, "acr_values": "passport_social"} if hint else {})})
        first = self.send(f"/oxauth/restv1/authorize?{query}")
        if hint:
            assert first.status_code == 302, (first.status_code, first.text[:300])
            begin = first.headers["location"]
        else:
            button = re.search(rf'href="(/passport/auth/{PROVIDER}\?authz=[^"]+)"', first.text)
            assert button, first.text[:500]
            begin = unescape(button.group(1))
        started = self.send(begin)
        assert started.status_code == 302, (started.status_code, started.text[:300])
        assert started.headers["location"].startswith(self.up.issuer), started.headers
        return started

    def at_provider(self, started: httpx.Response, login: str) -> str:
        """The provider's sign-in page (its development form) up to its redirect to our
        callback: that URL (not followed)."""
        res = self.theirs.get(started.headers["location"])
        for _ in range(12):
            if res.status_code == 200 and 'name="login"' in res.text:
                action = re.search(r'action="([^"]+)"', res.text)
                assert action, res.text[:300]
                res = self.theirs.post(urljoin(str(res.url), unescape(action.group(1))),
                                       data={"prompt": "login", "login": login,
                                             "password": "any"})
                continue
            assert res.status_code in (302, 303), (res.status_code, res.text[:300])
            location = urljoin(str(res.url), res.headers["location"])
            if location.startswith(f"https://{HOSTNAME}/"):
                return location
            res = self.theirs.get(location)
        raise AssertionError("the provider never sent the browser back")

    def callback(self, url: str) -> str | None:
        """Our callback through the LB: the RP's code, or None (the trail says why)."""
        res = self.send(url)
        location = res.headers.get("location", "")
        if res.status_code != 302 or not location.startswith(CB):
            self.trail.append(res.text[:300])
            return None
        found = parse_qs(urlsplit(location).query).get("code")
        return str(found[0]) if found else None

    def redeem(self, code: str) -> dict[str, Any]:
        request = self.ours.build_request(
            "POST", f"https://{self.lb}/oxauth/restv1/token", headers={"Host": HOSTNAME},
            extensions={"sni_hostname": HOSTNAME},
            data={"grant_type": "authorization_code", "code": code, "redirect_uri": CB})
        res = self.ours.send(request, auth=(self.rp.client_id, self.rp.client_secret or ""))
        assert res.status_code == 200, res.text
        return dict(res.json())

    def silent_code(self) -> str | None:
        """A code with ``prompt=none``: the session works."""
        query = httpx.QueryParams({
            "client_id": self.rp.client_id, "redirect_uri": CB, "response_type": "code",
            "scope": "openid", "state": "rp", "nonce": uuid.uuid4().hex, "prompt": "none"})
        res = self.send(f"/oxauth/restv1/authorize?{query}")
        found = parse_qs(urlsplit(res.headers.get("location", "")).query).get("code")
        return found[0] if res.status_code == 302 and found else None

    def userinfo(self, access_token: str) -> httpx.Response:
        request = self.ours.build_request(
            "GET", f"https://{self.lb}/oxauth/restv1/userinfo",
            headers={"Host": HOSTNAME, "Authorization": f"Bearer {access_token}"},
            extensions={"sni_hostname": HOSTNAME})
        return self.ours.send(request)

    def sign_in(self, login: str, hint: bool = True) -> str | None:
        return self.callback(self.at_provider(self.start(hint), login))

    def close(self) -> None:
        self.ours.close()
        self.theirs.close()


def passport_counts(deployer: Deployer, spec: ClusterSpec) -> dict[str, tuple[float, float]]:
    """Per node: (starts, callbacks) its oxAuth answered, from its ``/metrics`` read
    inside its oxAuth container (the overlay's port, not published)."""
    found: dict[str, tuple[float, float]] = {}

    def read(node: str) -> None:
        docker = deployer.driver(spec).docker(node)
        ids = docker.run("ps", "-q", "--filter", f"name={spec.stack}_oxauth.", "--filter",
                         "health=healthy", check=False, timeout=30).stdout.split()
        assert ids, f"no healthy oxauth on {node}"
        text = docker.run("exec", ids[0], "python3", "-c", METRICS, timeout=60).stdout
        totals = {START: 0.0, CALLBACK: 0.0}
        for labels, value in REQUESTS.findall(text):
            endpoint = re.search(r'endpoint="([^"]*)"', labels)
            if endpoint and endpoint.group(1) in totals:
                totals[endpoint.group(1)] += float(value)
        found[node] = (totals[START], totals[CALLBACK])

    threads = [threading.Thread(target=read, args=(n.name,)) for n in spec.nodes]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(90)
    assert set(found) == {n.name for n in spec.nodes}, found
    return found


def moved(before: dict[str, tuple[float, float]], after: dict[str, tuple[float, float]],
          which: int) -> list[str]:
    return [node for node in after if after[node][which] > before[node][which]]


def id_token_claims(result: UpResult, person: Person, token_: str) -> dict[str, Any]:
    jwks = person.send("/oxauth/restv1/jwks")
    assert jwks.status_code == 200
    return dict(jwt.decode(token_, KeySet.import_key_set(jwks.json()), algorithms=[
        "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512",
        "EdDSA"]).claims)


def people_by_email(result: UpResult) -> Counter[str]:
    """How many people have each e-mail (``oxswarm users list``)."""
    listed = json.loads(operator("users", "list", result=result))
    return Counter(str(p.get("email", "")).lower() for p in listed)


def test_start_and_callback_through_the_lb_on_different_nodes(
        cluster: tuple[Deployer, UpResult], upstream: Upstream) -> None:
    deployer, result = cluster
    spec = the_spec(deployer)
    every = {n.name for n in spec.nodes}
    wait_until(lambda: catalogued_nodes(deployer) == every, 300,
               "every node's oxauth in the catalogue", interval=1.0)
    rp = add_rp(deployer, result, secrets_of(deployer))
    time.sleep(3)  # the policy and the provider reach every oxAuth (watched: ~1 s)
    pairs: list[tuple[str, str]] = []
    people: list[Person] = []
    began = time.monotonic()
    try:
        counts = passport_counts(deployer, spec)
        for i in range(ONE_BY_ONE):
            person = Person(result, upstream, rp)
            people.append(person)
            started = person.start(hint=i % 2 == 0)
            after_start = passport_counts(deployer, spec)
            back = person.at_provider(started, LOGINS[i])
            code = person.callback(back)
            assert code is not None, person.trail
            after_callback = passport_counts(deployer, spec)
            starts, callbacks = moved(counts, after_start, 0), moved(after_start,
                                                                      after_callback, 1)
            assert len(starts) == 1 and len(callbacks) == 1, (counts, after_start,
                                                              after_callback)
            pairs.append((starts[0], callbacks[0]))
            counts = after_callback
            # the session: the code's tokens, the ID token's acr and amr, userinfo
            tokens = person.redeem(code)
            claims = id_token_claims(result, person, tokens["id_token"])
            assert claims["acr"] == "passport_social" and claims["amr"] == ["fed"], claims
            assert claims["nonce"] == person.nonce
            info = person.userinfo(tokens["access_token"])
            assert info.status_code == 200 and info.json()["sub"] == claims["sub"], info.text
            assert person.silent_code() is not None, person.trail
        one_by_one = time.monotonic() - began
        # provisioned once and linked: the first person again from a new browser
        login = LOGINS[0]
        shown = json.loads(operator("users", "show", login, result=result))
        assert shown["links"] == [f"passport-{PROVIDER}:{login}"], shown
        assert shown["email"] == ACCOUNTS[login]["email"], shown
        again = Person(result, upstream, rp)
        people.append(again)
        code = again.sign_in(login, hint=False)
        assert code is not None, again.trail
        sub = id_token_claims(result, again, again.redeem(code)["id_token"])["sub"]
        assert people_by_email(result)[str(ACCOUNTS[login]["email"]).lower()] == 1
        assert json.loads(operator("users", "show", login, result=result))["inum"] == \
            shown["inum"]
        different = sum(1 for s, c in pairs if s != c)
        print(f"\nfigures: {ONE_BY_ONE} sign-ins one by one through the LB in "
              f"{one_by_one:.0f}s (metrics read around each step); (start, callback) "
              f"nodes {pairs}: {different}/{ONE_BY_ONE} on different nodes; the same "
              f"upstream user again: one person ({shown['inum']}, sub {sub})")
        assert different >= 1, pairs
    finally:
        for person in people:
            person.close()


def test_a_node_lost_between_start_and_callback(
        cluster: tuple[Deployer, UpResult], upstream: Upstream) -> None:
    """BATCH browsers start through the LB; a worker is killed; every one signs in at the
    provider and finishes its callback through the survivors. After the heal the node
    serves again, the sessions made during the outage still work, a new sign-in passes."""
    deployer, result = cluster
    spec = the_spec(deployer)
    every = {n.name for n in spec.nodes}
    wait_until(lambda: catalogued_nodes(deployer) == every, 300,
               "every node's oxauth in the catalogue", interval=1.0)
    rp = add_rp(deployer, result, secrets_of(deployer))
    victim = spec.nodes[-1]
    logins = LOGINS[ONE_BY_ONE:ONE_BY_ONE + BATCH]
    people = [Person(result, upstream, rp) for _ in range(BATCH)]
    driver = deployer.driver(spec)
    healed = False
    try:
        before = passport_counts(deployer, spec)
        started = in_parallel(lambda i: people[i].start(hint=i % 2 == 0), BATCH, 8)
        after = passport_counts(deployer, spec)
        on_victim = int(after[victim.name][0] - before[victim.name][0])
        driver.fail(victim.name, "kill")
        killed = time.monotonic()

        def finish(i: int) -> str | None:
            try:
                return people[i].callback(people[i].at_provider(started[i], logins[i]))
            except (AssertionError, httpx.HTTPError) as exc:
                people[i].trail.append(repr(exc)[:300])
                return None

        codes = in_parallel(finish, BATCH, 8)
        completed = sum(code is not None for code in codes)
        finished = time.monotonic() - killed

        def redeem(i: int) -> bool:
            code = codes[i]
            return code is not None and "id_token" in people[i].redeem(code)

        redeemed = sum(in_parallel(redeem, BATCH, 8))
        failed = [people[i].trail for i in range(BATCH) if codes[i] is None]
        driver.heal(victim.name)
        healed = True
        back_at = time.monotonic()
        wait_until(lambda: node_serves(victim.address, HOSTNAME, result.ca_file), 240,
                   f"{victim.name} to serve again", interval=1.0)
        wait_until(lambda: catalogued_nodes(deployer) == every, 240,
                   "every node's oxauth in the catalogue", interval=1.0)
        time.sleep(5)  # Twemproxy routes to the returned (empty) shard again (2 s retry)
        back = time.monotonic() - back_at
        kept = sum(in_parallel(lambda i: people[i].silent_code() is not None, BATCH, 8))
        late = Person(result, upstream, rp)
        people.append(late)
        late_code = late.sign_in(LOGINS[-1])
        emails = people_by_email(result)
        provisioned = sum(emails[str(ACCOUNTS[login]["email"]).lower()] == 1
                          for login in logins)
        print(f"\nfigures: {victim.name} killed with {BATCH} browsers at the provider "
              f"({on_victim} of them started by {victim.name}): "
              f"{completed}/{BATCH} callbacks completed through the survivors "
              f"({finished:.0f}s), {redeemed}/{BATCH} codes redeemed, {provisioned}/"
              f"{BATCH} people provisioned; {victim.name} back in {back:.0f}s; "
              f"{kept}/{BATCH} sessions kept after the return; a new sign-in after: "
              f"{'passed' if late_code else 'failed'}; failures: {failed[:3]}")
        assert on_victim > 0  # the LB spreads the starts: some were the lost node's
        assert completed == BATCH, failed[:3]
        assert redeemed == BATCH and provisioned == BATCH
        assert kept == BATCH
        assert late_code is not None, late.trail
    finally:
        if not healed:
            driver.heal(victim.name)
        for person in people:
            person.close()
