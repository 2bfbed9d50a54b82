"""``oxswarm up`` on a running cluster whose config store is still open closes it by
rolling, losing nothing, while oxAuth keeps answering tokens through the load balancer.

The open cluster is made by the code before the store was closed (commit ``OLD``, from
this repository's history with ``git archive``: its own image included), with data
written by that code's CLI; then the README's ``oxswarm up --params FILE --cluster oxup
--json`` of this tree upgrades it. Its own cluster (``oxup``), removed after.
"""

from __future__ import annotations

import json
import os
import shutil
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from tests.cluster.conftest import operator_env, oxswarm
from tests.cluster.load import Tally, TokenStream
from tests.cluster.probes import by_node

from oxswarm.config import etcd_members, keys
from oxswarm.config.etcd import EtcdStore
from oxswarm.config.manager import ConfigManager
from oxswarm.config.secrets import SecretBox
from oxswarm.deploy.deployer import Deployer
from oxswarm.settings import Settings

pytestmark = [pytest.mark.cluster, pytest.mark.timeout(3600)]

OLD = "04c042e^1"  # the last commit whose `up` made an open store (plain HTTP, no auth)
CLUSTER = "oxup"
HOSTNAME = "sso.oxup.test"
PARAMS = {"hostname": HOSTNAME, "country_code": "DE", "state": "Berlin", "city": "Berlin",
          "admin_email": "admin@oxup.test", "org_name": "OxSwarm upgrade",
          "admin_pw": "Up-Admin-pass-9"}
ROOT = Path(__file__).resolve().parents[2]
# token requests through the load balancer that may fail while the store closes
# (measured: see docs/security.md, "Upgrading a cluster made before these protections")
MAX_FAILED_TOKENS = 3
# ... and those that may fail just after an etcd member stops while the OLD code still
# serves (phases 1 and 2): its registrator probes oxAuth with a 1 s timeout, and its oxAuth
# answers that probe with a store read through the endpoint it uses (etcd-manager first),
# whose name does not resolve while its task is replaced (up to 3 s: docs/security.md,
# same section). At 5 requests/s, 4 s of them per member restart at most. Most are "no
# healthy instance"; the old oxAuth may also exit on the lost read (its task "failed" in
# CI's history at those moments), and the node's NGINX then answers the request it had
# sent there 502 (cut) or 504 (the vanished address timed out on connect): nothing else.
OLD_CODE_RESTART = (-3.0, 8.0)  # seconds around the task's stop that count as the restart
MAX_FAILED_PER_OLD_RESTART = 20
OLD_CODE_OUTAGE = ("no healthy instance", "502 Bad Gateway", "504 Gateway Time-out")


def old_tree(dest: Path) -> Path:
    """The tree of ``OLD``, unpacked from this clone's history (it must have it)."""
    if shutil.which("git") is None:
        pytest.fail("this test needs git: it builds the open cluster from commit "
                    f"{OLD} of the repository's history")
    found = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--verify", "-q",
                            f"{OLD}^{{commit}}"], capture_output=True, text=True, check=False)
    if found.returncode != 0:
        pytest.fail(f"commit {OLD} is not in {ROOT}'s history: this test needs a full clone "
                    f"(`git clone`, not --depth) to build the open cluster it upgrades")
    dest.mkdir(parents=True, exist_ok=True)
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", "--format=tar", OLD],
                             capture_output=True, check=True)
    subprocess.run(["tar", "-x", "-C", str(dest)], input=archive.stdout, check=True)
    return dest


def old_oxswarm(tree: Path, *args: str, stdin: str | None = None,
                timeout: float = 1800) -> subprocess.CompletedProcess[str]:
    """The old code's command line (``python3 -m oxswarm`` from its tree)."""
    env = operator_env() | {"PYTHONPATH": str(tree / "src")}
    return subprocess.run([sys.executable, "-m", "oxswarm", *args], input=stdin,
                          stdout=subprocess.PIPE, text=True, timeout=timeout, env=env,
                          check=False)


def store_keys(store: EtcdStore, prefix: str) -> dict[str, bytes]:
    """Every config and secret key of the cluster (the catalogue is leased, it churns)."""
    return store.get_prefix(f"{prefix}/config/") | store.get_prefix(f"{prefix}/secret/")


def task_rows(deployer: Deployer, fields: str, *filters: str) -> list[tuple[str, str]]:
    """Each task of the stack (``docker stack ps`` with ``filters``): the name of its
    service and ``fields`` (a ``docker inspect`` template) as rendered."""
    manager = deployer.docker("manager")
    ids = manager.run("stack", "ps", "oxs", "-q", *filters, check=False).stdout.split()
    if not ids:
        return []
    names = dict(line.split(" ", 1) for line in manager.run(
        "service", "ls", "--format", "{{.ID}} {{.Name}}", check=False).stdout.splitlines())
    out = manager.run("inspect", "--format", "{{.ServiceID}} " + fields, *ids,
                      check=False).stdout
    rows = []
    for line in out.splitlines():
        service, rendered = line.split(" ", 1)
        rows.append((next((n for i, n in names.items() if service.startswith(i)), service),
                     rendered))
    return rows


def old_member_restarts(deployer: Deployer) -> list[float]:
    """When (epoch seconds) each etcd member's task stopped for phases 1 and 2 (the first two
    of each member, while the old code's services still run)."""
    stops: dict[str, list[float]] = {}
    for name, nanos in task_rows(deployer, "{{.Status.Timestamp.UnixNano}}",
                                 "--filter", "desired-state=shutdown"):
        if name.startswith("oxs_etcd-"):
            stops.setdefault(name, []).append(int(nanos) / 1e9)
    return sorted(t for times in stops.values() for t in sorted(times)[:2])


def judge_failures(tally: Tally, restarts: list[float]) -> list[str]:
    """What is wrong with the failed token requests (empty: within the bounds above)."""
    wrong: list[str] = []
    outside = []
    per_restart = dict.fromkeys(restarts, 0)
    for at, why in tally.failures:
        near = [t for t in restarts if t + OLD_CODE_RESTART[0] <= at <= t + OLD_CODE_RESTART[1]]
        if not near:
            outside.append(why)
            continue
        per_restart[near[0]] += 1
        if not any(kind in why for kind in OLD_CODE_OUTAGE):
            wrong.append(f"during an old-code member restart, another failure: {why}")
    if len(outside) > MAX_FAILED_TOKENS:
        wrong.append(f"{len(outside)} failed outside the old code's member restarts "
                     f"(at most {MAX_FAILED_TOKENS}): {outside[:5]}")
    wrong += [f"{n} failed around the member restart at {time.strftime('%T', time.gmtime(t))}"
              f" (at most {MAX_FAILED_PER_OLD_RESTART})"
              for t, n in per_restart.items() if n > MAX_FAILED_PER_OLD_RESTART]
    return wrong


def print_task_history(deployer: Deployer) -> None:
    """When each task of the stack changed state (UTC), to read failures against."""
    rows = task_rows(deployer, '{{.Status.Timestamp.Format "15:04:05.0"}} {{.Status.State}} '
                               "{{.DesiredState}}")
    for name, rendered in sorted(rows, key=lambda row: row[1]):
        stamp, rest = rendered.split(" ", 1)
        print(f"  {stamp} {name} {rest}")


@pytest.fixture(scope="module")
def old_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, object]]:
    if os.geteuid() != 0 or shutil.which("ip") is None:
        pytest.fail("the cluster tests need root and iproute2 (they build a Swarm lab)")
    tree = old_tree(tmp_path_factory.mktemp("old") / "tree")
    params = tmp_path_factory.mktemp("params") / "params.json"
    params.touch(mode=0o600)
    params.write_text(json.dumps(PARAMS))
    deployer = Deployer(cluster=CLUSTER, state_dir=Path(f"/var/lib/oxswarm/{CLUSTER}"))
    deployer.down()  # leftovers of an earlier, interrupted run
    shutil.rmtree(deployer.state_dir, ignore_errors=True)
    try:
        started = time.monotonic()
        # the old `up` took the hostname from --hostname only (issue 9's second item)
        made = old_oxswarm(tree, "up", "--params", str(params), "--hostname", HOSTNAME,
                           "--cluster", CLUSTER, "--json")
        assert made.returncode == 0, f"old up exited {made.returncode}: {made.stdout[-2000:]}"
        result = json.loads(made.stdout)
        print(f"\nold up: {time.monotonic() - started:.0f} s, {result['timings']}")
        yield {"tree": tree, "params": params, "deployer": deployer, "result": result}
    finally:
        done = oxswarm("down", "--cluster", CLUSTER, timeout=600)
        print("down:", done.returncode, done.stdout)
        if done.returncode != 0:
            print("down (again):", deployer.down())


def test_up_closes_an_open_store_by_rolling_losing_nothing(
        old_cluster: dict[str, object]) -> None:
    tree = old_cluster["tree"]
    params = old_cluster["params"]
    deployer = old_cluster["deployer"]
    old = old_cluster["result"]
    assert isinstance(tree, Path) and isinstance(params, Path)
    assert isinstance(deployer, Deployer) and isinstance(old, dict)
    state = deployer.state_dir
    assert old["store"].startswith("etcd://"), old["store"]  # the store is open
    nodes = list(old["nodes"].values())
    plain = Settings.load(env={}, store=old["store"], cluster=CLUSTER,
                          master_key_file=str(state / "master.key"))
    assert not (state / "ca.key").exists()  # the old code kept the CA in the store only

    # data written with the old code's CLI: a client, a person; and a config key
    common = ["--store", old["store"], "--cluster", CLUSTER, "--master-key-file",
              str(state / "master.key"), "--ldap-url", f"ldaps://{nodes[0]}:1636"]
    made = old_oxswarm(tree, "clients", "add", "--name", "kept-client", "--grant-type",
                       "client_credentials", *common)
    assert made.returncode == 0, made.stdout
    client = json.loads(made.stdout)
    person = old_oxswarm(tree, "users", "add", "--username", "kept-person", "--email",
                         "kept@oxup.test", "--password-stdin", *common,
                         stdin="Kept-Person-pw-1\n")
    assert person.returncode == 0, person.stdout
    marker = f"{plain.prefix}/config/upgrade_marker"
    with EtcdStore.from_settings(plain) as store:
        store.put(marker, b"written while open")
        before = store_keys(store, plain.prefix)
        ca = ConfigManager(store, plain.prefix,
                           SecretBox.from_file(state / "master.key")).get(keys.CA_CERT)

    # the README's command, this tree's code, tokens through the LB the whole time
    test_client = (state / "test-client").read_text().strip().split(":", 1)
    tokens = TokenStream(lb=old["load_balancer"], hostname=HOSTNAME,
                         ca_file=str(state / "ca.crt"), client_id=test_client[0],
                         secret=test_client[1], rate=5.0, max_seconds=2400)
    tokens.start()
    started = time.monotonic()
    proc = oxswarm("up", "--params", str(params), "--cluster", CLUSTER, "--json")
    took = time.monotonic() - started
    tokens.stop.set()
    tokens.join(20)
    tally = tokens.tally
    print(f"\nfigures: upgrade up {took:.0f} s; tokens through the LB during it: {tally.ok} "
          f"ok, {tally.failed} failed {tally.errors}")
    print_task_history(deployer)
    assert proc.returncode == 0, f"up exited {proc.returncode}: {proc.stdout[-3000:]}"
    result = json.loads(proc.stdout)
    print("timings:", result["timings"])
    print("changes:", result["changes"])
    assert result["store"].startswith("etcd+https://")
    assert any("cluster CA exported" in c for c in result["changes"])
    restarts = old_member_restarts(deployer)
    print("old-code member restarts (UTC):",
          [time.strftime("%T", time.gmtime(t)) for t in restarts])
    assert len(restarts) == 2 * len(old["nodes"]), restarts
    assert tally.ok > 100, tally.errors
    assert not judge_failures(tally, restarts), judge_failures(tally, restarts)

    # the old CA was kept: the HTTPS certificate and the store's now chain to one CA
    assert (state / "ca.crt").read_text() == ca
    settings = deployer.settings(deployer.saved_spec())  # type: ignore[arg-type]
    with EtcdStore.from_settings(settings) as store:
        after = store_keys(store, settings.prefix)
        members = etcd_members.members(store)
    lost = sorted(k for k in before if k not in after)
    changed = sorted(k for k in before if k in after and after[k] != before[k])
    assert not lost and not changed, f"lost {lost}, changed {changed}"
    assert after[marker] == b"written while open"
    assert sorted(u for m in members for u in m.peer_urls) == sorted(
        f"https://etcd-{name}:2380" for name in old["nodes"])

    # the store is TLS only and refuses whoever has no certificate
    for address in nodes:
        with pytest.raises(httpx.HTTPError):
            httpx.post(f"http://{address}:2379/v3/kv/range", json={"key": "Lw=="},
                       timeout=3.0, trust_env=False)
        anonymous = ssl.create_default_context(cafile=str(state / "ca.crt"))
        with pytest.raises(httpx.HTTPError):
            httpx.post(f"https://{address}:2379/v3/kv/range", json={"key": "Lw=="},
                       timeout=3.0, trust_env=False, verify=anonymous)

    # the old client and person are there, through the README's `eval "$(oxswarm env)"`
    env = operator_env() | json.loads(
        oxswarm("env", "--cluster", CLUSTER, "--json").stdout)
    listed = subprocess.run(["oxswarm", "users", "list"], env=env,
                            capture_output=True, text=True, timeout=120, check=False)
    assert listed.returncode == 0 and "kept-person" in listed.stdout, listed.stderr
    with httpx.Client(verify=ssl.create_default_context(cafile=str(state / "ca.crt")),
                      timeout=15.0, trust_env=False) as http:
        res = http.post(f"https://{old['load_balancer']}/oxauth/restv1/token",
                        data={"grant_type": "client_credentials"},
                        auth=(client["client_id"], client["client_secret"]),
                        headers={"Host": HOSTNAME}, extensions={"sni_hostname": HOSTNAME})
    assert res.status_code == 200 and "access_token" in res.text, res.text[:200]

    # `oxswarm status`: every member up, every directory server in sync
    found: dict[str, dict[str, str]] = {}
    for _ in range(36):
        status = subprocess.run(["oxswarm", "status", "--json", "--cluster", CLUSTER],
                                env=env, capture_output=True, text=True, timeout=120,
                                check=False)
        assert status.returncode == 0, status.stderr[-2000:]
        found = by_node(json.loads(status.stdout))
        if found["directory"] and all(v.startswith("in sync") for v in found["directory"].values()):
            break
        time.sleep(5)
    assert all(v.startswith("up") for v in found["store"].values()), found["store"]
    assert len(found["directory"]) == 3, found
    assert all(v.startswith("in sync") for v in found["directory"].values()), found
    # a second `up` changes nothing
    again = oxswarm("up", "--params", str(params), "--cluster", CLUSTER, "--json")
    assert again.returncode == 0 and json.loads(again.stdout)["changes"] == [], again.stdout
