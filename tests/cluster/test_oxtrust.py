"""oxTrust in the cluster (issue 10), through the load balancer, with a node lost.

The admin signs in to the UI at ``https://HOST/identity`` (a plain HTTP client following
the flow: oxTrust -> oxAuth's sign-in page -> the callback); the node whose Redis shard
holds that session is then killed, and the session keeps working (pages, a change with
its CSRF token); a new admin sign-in works; SCIM creates a user who signs in at once; the
admin API answers. Every request goes to the load balancer with the cluster's hostname,
as a browser would: a missing or misrouted oxTrust fails the first step.
"""

from __future__ import annotations

import os
import re
import ssl
import tempfile
import time
import uuid
from html import unescape
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.cluster.conftest import CLUSTER, HOSTNAME, up
from tests.cluster.load import TokenStream
from tests.cluster.probes import catalogued_nodes, clients_add, node_serves, secrets_of

from oxswarm.config import etcd_rbac
from oxswarm.config.etcd import EtcdStore
from oxswarm.deploy.deployer import Deployer, UpResult
from oxswarm.deploy.render.stack import REDIS_PORT, member
from oxswarm.errors import DeployError
from oxswarm.local.process import wait_until

pytestmark = [pytest.mark.cluster, pytest.mark.timeout(900)]
SCIM = "https://gluu.org/scim"
API = "https://gluu.org/oxtrust"


class Browser:
    """A cookie jar sending every request to the load balancer for ``HOSTNAME``, following
    redirects (``https://HOST/...`` or a path) itself, as a browser does."""

    def __init__(self, result: UpResult) -> None:
        self.lb = result.load_balancer
        self.http = httpx.Client(verify=ssl.create_default_context(cafile=result.ca_file),
                                 timeout=60.0, trust_env=False)
        self.statuses: list[int] = []
        self.trail: list[str] = []

    def send(self, method: str, target: str, *, headers: dict[str, str] | None = None,
             auth: tuple[str, str] | None = None, **kw: Any) -> httpx.Response:
        path = target.removeprefix(f"https://{HOSTNAME}")
        assert path.startswith("/"), f"sent off the cluster: {target}"
        request = self.http.build_request(
            method, f"https://{self.lb}{path}", headers={"Host": HOSTNAME, **(headers or {})},
            extensions={"sni_hostname": HOSTNAME}, **kw)
        res = self.http.send(request, auth=auth) if auth else self.http.send(request)
        self.statuses.append(res.status_code)
        return res

    def follow(self, res: httpx.Response, limit: int = 10) -> httpx.Response:
        self.trail = [f"{res.status_code} {res.request.url.path}"]
        while res.status_code in (301, 302, 303, 307) and limit:
            res = self.send("GET", res.headers["location"])
            self.trail.append(f"{res.status_code} {res.request.url.path}")
            limit -= 1
        return res

    def get(self, target: str) -> httpx.Response:
        return self.follow(self.send("GET", target))

    def post(self, target: str, data: dict[str, str]) -> httpx.Response:
        return self.follow(self.send("POST", target, data=data))

    def sign_in(self, username: str, password: str) -> httpx.Response:
        """Open /identity and sign in at oxAuth's page: the page oxTrust ends on."""
        page = self.get("/identity")
        assert page.status_code == 200 and 'name="password"' in page.text, \
            (page.status_code, page.text[:300])
        assert "/oxauth/" in str(page.url)  # oxAuth's sign-in page, through the LB
        form = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"',
                               page.text))
        form = {k: unescape(v) for k, v in form.items()} | {"username": username,
                                                             "password": password}
        return self.post("/oxauth/login", form)

    def cookie(self, name: str) -> str:
        return next(c.value for c in self.http.cookies.jar if c.name == name and c.value)

    def close(self) -> None:
        self.http.close()


def service_logs(deployer: Deployer, victim: str, *services: str) -> None:
    """The last lines of the services' containers on every node still up (why a page
    failed); never raises (a lost node's Docker does not answer)."""
    spec = deployer.saved_spec()
    assert spec is not None
    for node in spec.nodes:
        if node.name == victim:
            continue
        docker = deployer.driver(spec).docker(node.name)
        for service in services or ("oxtrust", "oxauth", "nginx"):
            try:
                ids = docker.run("ps", "-q", "--filter", f"name={spec.stack}_{service}.",
                                 check=False, timeout=20).stdout.split()
                for cid in ids:
                    res = docker.run("logs", "--tail", "40", cid, check=False, timeout=20)
                    print(f"\n--- {node.name} {service} {cid} ---\n"
                          f"{res.stdout[-5000:]}{res.stderr[-5000:]}")
            except DeployError as exc:
                print(f"\n--- {node.name} {service}: {exc}")


def csrf(page: httpx.Response) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert match, page.text[:300]
    return unescape(match.group(1))


def ask_shards(deployer: Deployer, password: str, *command: str) -> dict[str, str]:
    """Each node's Redis answer to ``command`` (from a throwaway container on the overlay;
    the password in a 0600 env file, never on a command line): node -> answer."""
    spec = deployer.saved_spec()
    assert spec is not None
    docker = deployer.driver(spec).docker(spec.manager.name)
    answers: dict[str, str] = {}
    with tempfile.NamedTemporaryFile("w", suffix=".env", dir="/tmp") as env:
        os.chmod(env.name, 0o600)
        env.write(f"REDISCLI_AUTH={password}\n")
        env.flush()
        for node in spec.nodes:
            res = docker.run("run", "--rm", "--network", spec.network, "--env-file", env.name,
                             "--entrypoint", "redis-cli", spec.image, "-h",
                             member("redis", node.name), "-p", str(REDIS_PORT), *command,
                             check=False, timeout=120)
            # stdout: the answer; stderr: the image pull's progress, redis-cli's warnings
            answers[node.name] = res.stdout.strip() or res.stderr.strip()[-300:]
    return answers


def shard_answers(deployer: Deployer, password: str, *command: str, expect: set[str],
                  timeout: float = 180.0) -> dict[str, str]:
    """Each node's Redis answer to ``command``, asked again until every answer is one of
    ``expect``: a node lost by an earlier test may still be coming back (in one CI run its
    Redis answered PING, then refused connections seconds later), while what follows
    counts on which shard holds a key."""
    last: dict[str, str] = {}

    def answered() -> bool:
        last.update(ask_shards(deployer, password, *command))
        return set(last.values()) <= expect

    try:
        wait_until(answered, timeout, f"every node's Redis to answer {command[0]}",
                   interval=3.0)
    except Exception as exc:
        raise AssertionError(f"{exc}: {last}") from exc
    return last


def wait_shards_up(deployer: Deployer, password: str) -> None:
    """Until every node's Redis answers PING."""
    shard_answers(deployer, password, "PING", expect={"PONG"})


def admin_on_a_workers_shard(deployer: Deployer, result: UpResult,
                             found: dict[str, str]) -> tuple[Browser, str, int]:
    """An admin signed in whose session record lives on a worker's Redis shard (sessions
    are random: sign in again while it lands on the manager's); that worker; the number of
    sign-ins it took."""
    wait_shards_up(deployer, found["redis_pw"])
    for attempt in range(1, 9):
        browser = Browser(result)
        page = browser.sign_in("admin", found["admin_pw"])
        assert page.status_code == 200 and "<h1>Dashboard</h1>" in page.text, page.text[:300]
        assert str(page.url).endswith("/identity")
        sid = browser.cookie("oxtrust_session").rsplit(".", 1)[0]
        answers = shard_answers(deployer, found["redis_pw"], "EXISTS",
                                f"{CLUSTER}.oxauth:oxtrust-ui-session:{sid}", expect={"0", "1"})
        holders = [name for name, answer in answers.items() if answer == "1"]
        # none: the primary key's shard did not take it (its second copy did), as a
        # returning node's Redis once did not; sign in again as for the manager's
        if len(holders) == 1 and holders[0] != "manager":
            return browser, holders[0], attempt
        browser.close()
    raise AssertionError("no session's primary key landed on a worker's shard in 8 sign-ins")


def token(browser: Browser, client: tuple[str, str], scope: str) -> str:
    res = browser.send("POST", "/oxauth/restv1/token", auth=client,
                       data={"grant_type": "client_credentials", "scope": scope})
    assert res.status_code == 200, res.text
    return str(res.json()["access_token"])


def tasks(deployer: Deployer) -> dict[str, set[str]]:
    """Every task (running or not) of every service of the stack: ``{service: {id state}}``."""
    spec = deployer.saved_spec()
    assert spec is not None
    docker = deployer.driver(spec).docker(spec.manager.name)
    names = docker.run("stack", "services", spec.stack, "--format", "{{.Name}}").stdout.split()
    return {name.removeprefix(f"{spec.stack}_"): set(docker.run(
        "service", "ps", name, "--format", "{{.ID}} {{.DesiredState}} {{.Error}}",
        check=False).stdout.splitlines()) for name in names}


def test_up_adds_oxtrust_to_a_cluster_made_without_it(
        cluster: tuple[Deployer, UpResult], params_file: Path) -> None:
    """A cluster as it was before oxTrust joined the stack: no oxtrust service, no store
    certificate of the role nor its etcd user. ``up`` (the same command) makes the
    certificate and the user before it deploys, starts oxTrust on every node and restarts
    nothing else; tokens through the load balancer meanwhile: none fails."""
    deployer, result = cluster
    spec = deployer.saved_spec()
    assert spec is not None
    docker = deployer.driver(spec).docker(spec.manager.name)
    docker.run("service", "rm", f"{spec.stack}_oxtrust")
    wait_until(lambda: not catalogued_nodes(deployer, "oxtrust"), 60,
               "no oxtrust in the catalogue", interval=1.0)
    for suffix in ("crt", "key"):
        (deployer.state_dir / "store" / f"oxtrust.{suffix}").unlink()
    with EtcdStore.from_settings(deployer.settings(spec)) as store:
        rbac = etcd_rbac.Rbac(store)
        for user in rbac.users():
            if etcd_rbac.role_of(user) == "oxtrust":
                rbac.delete_user(user)
    before = tasks(deployer)
    found = secrets_of(deployer)
    stream = TokenStream(lb=result.load_balancer or "", hostname=HOSTNAME,
                         ca_file=result.ca_file, client_id=found["client_id"],
                         secret=found["secret"], rate=5.0)
    stream.start()
    began = time.monotonic()
    again = up(params_file)
    took = time.monotonic() - began
    time.sleep(3)
    stream.stop.set()
    stream.join(20)
    after = tasks(deployer)
    print(f"\nfigures: up adding oxtrust {took:.1f}s, changes {again.changes}; tokens "
          f"{stream.tally.ok}/{stream.tally.failed} failed {stream.tally.errors[:3]}")
    assert any(c.startswith("store client certificate of oxtrust") for c in again.changes)
    assert any(c.startswith("store auth: user oxtrust.") for c in again.changes)
    # nothing else restarted; oxTrust started once per node, never failed to log in
    assert {k: v for k, v in after.items() if k != "oxtrust"} == before
    assert len(after["oxtrust"]) == len(spec.nodes), after["oxtrust"]
    assert all(" Running " in t or t.endswith(" Running") for t in after["oxtrust"]), after
    assert stream.tally.failed == 0 and stream.tally.ok > 0, stream.tally.errors
    health = Browser(result)
    assert health.send("GET", "/identity/health").status_code == 200
    health.close()


def test_edge_routes_identity_and_never_metrics(cluster: tuple[Deployer, UpResult]) -> None:
    _, result = cluster
    assert result.identity_url == f"https://{HOSTNAME}/identity"
    browser = Browser(result)
    try:
        root = browser.send("GET", "/")
        assert root.status_code == 302 and root.headers["location"] == result.identity_url
        health = browser.send("GET", "/identity/health")
        assert health.status_code == 200 and health.json() == {"status": "ok"}
        scim = browser.send("GET", "/.well-known/scim-configuration")
        assert scim.status_code == 200, scim.text
        config = browser.send("GET", "/identity/restv1/scim/v2/ServiceProviderConfig")
        assert config.status_code == 200 and "patch" in config.json()
        for path in ("/metrics", "/oxauth/metrics", "/identity/metrics"):
            assert browser.send("GET", path).status_code == 404, path
    finally:
        browser.close()


def test_ui_scim_and_api_through_the_lb_with_a_node_lost(
        cluster: tuple[Deployer, UpResult]) -> None:
    deployer, result = cluster
    spec = deployer.saved_spec()
    assert spec is not None
    every = {n.name for n in spec.nodes}
    for service in ("oxauth", "oxtrust"):
        wait_until(lambda s=service: catalogued_nodes(deployer, s) == every, 120,  # type: ignore[misc]
                   f"every node's {service} in the catalogue", interval=1.0)
    found = secrets_of(deployer)
    scim_client = clients_add(result, "scim-ci", f"{SCIM}/users.read", f"{SCIM}/users.write")
    api_client = clients_add(result, "api-ci", f"{API}/api.read")
    admin, victim, attempts = admin_on_a_workers_shard(deployer, result, found)
    # the dashboard, with oxTrust's own store certificate: every member, every node
    dashboard = admin.get("/identity").text
    assert dashboard.count("up, version") == len(every), dashboard
    nodes = dashboard[dashboard.index('id="nodes"'):dashboard.index('id="catalogue"')]
    assert all(f">{name}<" in nodes for name in every), nodes
    driver = deployer.driver(spec)
    began = time.monotonic()
    driver.fail(victim, "kill")
    try:
        # the session whose record was on the lost node goes on: pages and a change
        served: list[str] = []
        try:
            for path in ("/identity", "/identity/people", "/identity/groups",
                         "/identity/clients"):
                began_page = time.monotonic()
                page = admin.get(path)
                served.append(f"{path} {admin.trail} {time.monotonic() - began_page:.1f}s")
                assert page.status_code == 200 and "/oxauth/" not in str(page.url), \
                    (path, admin.trail, page.text[:200])
        finally:
            print("\npages with the node lost:", *served, sep="\n  ")
            service_logs(deployer, victim, "oxtrust")
        name = f"lost-node-{uuid.uuid4().hex[:6]}"
        saved = admin.post("/identity/groups/new",
                           {"display_name": name, "csrf_token": csrf(admin.get("/identity"))})
        assert saved.status_code == 200 and name in saved.text, saved.text[:300]
        session_s = time.monotonic() - began
        # a new admin sign-in with the node lost
        again = Browser(result)
        page = again.sign_in("admin", found["admin_pw"])
        assert page.status_code == 200 and "<h1>Dashboard</h1>" in page.text, page.text[:300]
        again.close()
        # SCIM creates a user, who signs in at once (oxAuth takes the password; oxTrust
        # then refuses a non-administrator: 403, not the sign-in page again)
        uid = f"scim-{uuid.uuid4().hex[:8]}"
        password = f"Scim-{uuid.uuid4().hex[:6]}-pw1"
        bearer = {"Authorization": f"Bearer {token(admin, scim_client, f'{SCIM}/users.write')}"}
        made = admin.send("POST", "/identity/restv1/scim/v2/Users", headers=bearer, json={
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": uid,
            "password": password, "name": {"familyName": "Ci", "givenName": "Scim"},
            "emails": [{"value": f"{uid}@oxsci.test", "primary": True}]})
        assert made.status_code == 201, made.text
        person = Browser(result)
        refused = person.sign_in(uid, password)
        assert refused.status_code == 403 and "not an administrator" in refused.text, \
            (refused.status_code, refused.text[:300])
        person.close()
        # the admin API
        bearer = {"Authorization": f"Bearer {token(admin, api_client, f'{API}/api.read')}"}
        listed = admin.send("GET", f"/identity/restv1/api/v1/people?q={uid}", headers=bearer)
        assert listed.status_code == 200, listed.text
        assert [p["uid"] for p in listed.json()["items"]] == [uid]
        assert admin.send("GET", "/identity/restv1/api/v1/people").status_code == 401
    finally:
        driver.heal(victim)
    wait_until(lambda: node_serves(spec.node(victim).address, HOSTNAME, result.ca_file), 240,
               f"{victim} to serve again", interval=1.0)
    wait_until(lambda: catalogued_nodes(deployer, "oxtrust") == every, 180,
               f"{victim}'s oxtrust back in the catalogue", interval=1.0)
    errors = sorted({s for s in admin.statuses if s >= 500})
    print(f"\nfigures: admin sign-ins to put the session on {victim}'s shard: {attempts}; "
          f"session served {session_s:.1f}s after the kill; {len(admin.statuses)} requests "
          f"of the admin, 5xx: {errors}")
    assert errors == []
    admin.close()
