"""The operator's side of a cluster (issue 9): the README's commands, run as written from
this machine after ``eval "$(oxswarm env ...)"``, and an edge that anonymous requests for
absent routes cannot take down."""

from __future__ import annotations

import contextlib
import json
import ssl
import subprocess
import time

import httpx
import pytest
from tests.cluster.conftest import CLUSTER, HOSTNAME, operator_env

from oxswarm.deploy.deployer import Deployer, UpResult
from oxswarm.errors import DaemonError
from oxswarm.local.process import wait_until

pytestmark = [pytest.mark.cluster, pytest.mark.timeout(300)]

# README "Quick start", with this cluster's name (`oxswarm env --cluster NAME`)
README = f"""set -e
eval "$(oxswarm env --cluster {CLUSTER})"
oxswarm status
oxswarm clients add --name my-app --grant-type client_credentials
oxswarm users add --username alice --email alice@example.org --password-file alice.pw
"""


def test_readme_commands_work_from_the_operators_machine(
        cluster: tuple[Deployer, UpResult], tmp_path_factory: pytest.TempPathFactory) -> None:
    _, result = cluster
    assert result.env["OXSWARM_CLUSTER"] == CLUSTER
    assert result.env["OXSWARM_LDAP_URLS"].count(",") == 2
    work = tmp_path_factory.mktemp("operator")
    password = work / "alice.pw"
    password.touch(mode=0o600)
    password.write_text("Alice-pass-1\n")
    proc = subprocess.run(["bash", "-c", README], capture_output=True, text=True, timeout=180,
                          env=operator_env(), cwd=work, check=False)
    assert proc.returncode == 0, (proc.stdout[-1500:], proc.stderr[-1500:])
    lines = proc.stdout.splitlines()
    client = json.loads(next(line for line in lines if '"client_id"' in line))
    person = json.loads(lines[-1])
    assert person["username"] == "alice"
    # the new client is the cluster's: a token for it through the load balancer
    with httpx.Client(verify=ssl.create_default_context(cafile=result.ca_file), timeout=10,
                      trust_env=False) as http:
        res = http.send(http.build_request(
            "POST", f"https://{result.load_balancer}/oxauth/restv1/token",
            data={"grant_type": "client_credentials"}, headers={"Host": HOSTNAME},
            extensions={"sni_hostname": HOSTNAME}),
            auth=(client["client_id"], client["client_secret"]))
    assert res.status_code == 200 and res.json()["token_type"] == "Bearer", res.text


def test_absent_routes_never_take_the_site_down(cluster: tuple[Deployer, UpResult]) -> None:
    """100 anonymous GETs of routes with no service (``/casa``, ``/fido2``) or
    no route, interleaved with discovery through the load balancer: every discovery 200.
    Before, three such GETs marked every node failed and discovery answered 502."""
    _, result = cluster
    absent = ["/casa", "/casa/login", "/fido2/x", "/scim/v2/Users", "/nope"]  # /idp serves
    answers: dict[str, int] = {}
    discovery: dict[int, int] = {}
    slowest = 0.0
    with httpx.Client(verify=ssl.create_default_context(cafile=result.ca_file), timeout=10,
                      trust_env=False) as http:
        def get(path: str) -> httpx.Response:
            return http.send(http.build_request(
                "GET", f"https://{result.load_balancer}{path}", headers={"Host": HOSTNAME},
                extensions={"sni_hostname": HOSTNAME}))

        for i in range(100):
            path = absent[i % len(absent)]
            began = time.monotonic()
            res = get(path)
            slowest = max(slowest, time.monotonic() - began)
            key = f"{path} {res.status_code}"
            answers[key] = answers.get(key, 0) + 1
            status = get("/.well-known/openid-configuration").status_code
            discovery[status] = discovery.get(status, 0) + 1
    print(f"\nfigures: absent routes through the LB {answers}, slowest {slowest * 1000:.0f} ms; "
          f"discovery {discovery}")
    assert discovery == {200: 100}
    assert {k.split()[1] for k in answers if k.startswith("/nope")} == {"404"}
    assert {k.split()[1] for k in answers if not k.startswith("/nope")} == {"503"}
    assert slowest < 1.0


# A container's PID 1 (Docker's init) and the liveness checks Docker runs in oxAuth,
# oxTrust and Twemproxy every 2 s (bash, head, grep) are Docker's, not the role's.
DOCKERS_OWN = {"docker-init", "bash", "head", "grep"}


def processes_by_service(deployer: Deployer) -> dict[str, set[str]]:
    """``command=uid`` of every process of every running container, per service kind."""
    spec = deployer.saved_spec()
    assert spec is not None
    seen: dict[str, set[str]] = {}
    for node in spec.nodes:
        docker = deployer.driver(spec).docker(node.name)
        for line in docker.run("ps", "--format", "{{.ID}} {{.Names}}").stdout.splitlines():
            cid, name = line.split()
            service = name.split(".")[0].removeprefix(f"{spec.stack}_")
            # docker top needs the pid column (it keeps the container's processes by pid)
            top = docker.run("top", cid, "-eo", "pid,uid,comm", check=False).stdout.splitlines()
            rows = [row.split(None, 2) for row in top[1:]]
            users = {f"{comm.strip()}={uid}" for _, uid, comm in rows
                     if comm.strip() not in DOCKERS_OWN}
            seen.setdefault(service.split("-")[0], set()).update(users)
    return seen


def unprivileged(seen: dict[str, set[str]]) -> bool:
    return all(users and all(u.endswith("=10001") for u in users)
               for service, users in seen.items() if service != "csync2")


def test_every_role_but_csync2_runs_unprivileged(cluster: tuple[Deployer, UpResult]) -> None:
    """Every process but csync2's runs as uid 10001 once the containers have started (a
    role's entrypoint is root for its first steps: a container a heal or a roll just
    started is caught there, so the check waits up to 90 s for the cluster to settle)."""
    deployer, _ = cluster
    seen: dict[str, set[str]] = {}

    def settled() -> bool:
        seen.clear()
        seen.update(processes_by_service(deployer))
        return unprivileged(seen)

    with contextlib.suppress(DaemonError):
        wait_until(settled, 90, "every role unprivileged", interval=5.0)
    print(f"\nfigures: processes (command=uid) per service: {seen}")
    assert {"etcd", "redis", "ldap", "csync2", "registrator", "twemproxy", "oxauth",
            "oxtrust", "nginx"} <= seen.keys()
    for service, users in seen.items():
        if service == "csync2":
            continue  # keeps the owners of the files it copies: root
        assert users and all(u.endswith("=10001") for u in users), (service, users)
