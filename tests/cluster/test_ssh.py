"""The ssh driver against lab hosts: each a namespace with its own dockerd and sshd, reached
only over SSH (``docker -H ssh://root@addr``), as real machines would be.

One deployment for the module, driven through the CLI as an operator would: ``oxswarm lab
hosts up`` -> ``oxswarm up --driver ssh --host ... --json`` (image by docker save | load
over SSH) -> checks -> ``oxswarm down`` -> hosts removed. Runs in its own phase, never
beside the lab cluster of the other cluster tests (one Swarm on this machine at a time).
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
from typing import Any

import httpx
import pytest
from tests.cluster.probes import by_node, catalogued_nodes, manager_of, node_serves, secrets_of

from oxswarm.deploy.deployer import Deployer
from oxswarm.deploy.image import ImageBuilder
from oxswarm.deploy.lab.hosts import LabHosts
from oxswarm.deploy.spec import HOST_FOLDERS
from oxswarm.deploy.ssh import SshDriver
from oxswarm.local.process import wait_until

pytestmark = [pytest.mark.ssh, pytest.mark.timeout(1800)]

HOSTS = "oxhosts-ci"
CLUSTER = "oxsshci"
HOSTNAME = "id.oxsshci.test"
STATE = Path(f"/var/lib/oxswarm/{CLUSTER}")


def oxswarm(*args: str, timeout: float = 900) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, "-c", "from oxswarm.cli.main import main; main()", *args]
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)


@pytest.fixture(scope="module")
def deployed() -> Iterator[tuple[LabHosts, dict[str, Any], float]]:
    if os.geteuid() != 0 or not Path("/usr/sbin/sshd").exists():
        pytest.fail("the ssh driver tests need root and openssh-server")
    hosts = LabHosts(HOSTS, 3, Path(f"/var/lib/oxswarm/{HOSTS}"))
    if STATE.exists():  # leftovers of an interrupted run
        oxswarm("down", "--cluster", CLUSTER, "--state-dir", str(STATE))
        shutil.rmtree(STATE, ignore_errors=True)
    hosts.down()
    try:
        hosts.up(step=print)
        args = [a for h in hosts.host_args() for a in ("--host", h)]
        started = time.monotonic()
        up = oxswarm("up", "--driver", "ssh", *args, "--ssh-config", str(hosts.ssh_config),
                     "--hostname", HOSTNAME, "--cluster", CLUSTER, "--state-dir", str(STATE),
                     "--json", timeout=1500)
        seconds = time.monotonic() - started
        print(up.stderr[-3000:])
        assert up.returncode == 0, up.stderr[-2000:]
        result = json.loads(up.stdout)
        print(f"ssh up: {seconds:.1f}s timings={result['timings']} changes={result['changes']}")
        yield hosts, result, seconds
    finally:
        down = oxswarm("down", "--cluster", CLUSTER, "--state-dir", str(STATE))
        print("down:", down.stdout, down.stderr[-1000:])
        print("hosts down:", hosts.down())


def test_up_over_ssh_serves_on_every_host(deployed: tuple[LabHosts, dict[str, Any],
                                                          float]) -> None:
    hosts, result, _ = deployed
    assert result["nodes"] == {n.name: n.address for n in hosts.spec.nodes}
    assert result["load_balancer"] is None
    assert result["issuer"] == f"https://{HOSTNAME}"
    loaded = [c for c in result["changes"] if "image loaded" in c]
    assert len(loaded) == 3, result["changes"]  # docker load over ssh, on each host
    for address in result["nodes"].values():
        assert node_serves(address, HOSTNAME, result["ca_file"]), address
    out = subprocess.run(["bash", "-c", result["test_client"]], capture_output=True, text=True,
                         timeout=30, check=False)
    assert json.loads(out.stdout)["token_type"] == "Bearer", (out.stdout, out.stderr)


def test_token_from_each_host(deployed: tuple[LabHosts, dict[str, Any], float]) -> None:
    _, result, _ = deployed
    found = secrets_of(Deployer(cluster=CLUSTER, state_dir=STATE))
    context = ssl.create_default_context(cafile=result["ca_file"])
    for address in result["nodes"].values():
        with httpx.Client(verify=context, timeout=10.0, trust_env=False) as client:
            res = client.post(f"https://{address}/oxauth/restv1/token",
                              data={"grant_type": "client_credentials"},
                              auth=(found["client_id"], found["secret"]),
                              headers={"Host": HOSTNAME},
                              extensions={"sni_hostname": HOSTNAME})
        assert res.status_code == 200, (address, res.text)
        assert res.json()["token_type"].lower() == "bearer"


def test_stateful_folders_live_on_each_host(deployed: tuple[LabHosts, dict[str, Any],
                                                            float]) -> None:
    hosts, _, _ = deployed
    for node in hosts.spec.nodes:
        listing = hosts.ssh(node.name, "ls", "/var/lib/oxswarm/host")
        assert listing.returncode == 0, listing.stderr
        assert set(HOST_FOLDERS) <= set(listing.stdout.split()), listing.stdout
        etcd = hosts.ssh(node.name, "ls", "/var/lib/oxswarm/host/etcd/data")
        assert "member" in etcd.stdout.split(), (node.name, etcd.stdout, etcd.stderr)
        ldap = hosts.ssh(node.name, "ls", "-A", "/var/lib/oxswarm/host/ldap")
        assert ldap.stdout.split(), (node.name, "no directory data on the host")
    # each host's folder is its own: the files differ on disk between two nodes
    roots = {Path(f"/var/lib/oxswarm/{HOSTS}/n/{n.name}/host/etcd/data") for n in hosts.spec.nodes}
    assert all(r.is_dir() for r in roots) and len(roots) == 3


def test_status_and_second_up(deployed: tuple[LabHosts, dict[str, Any], float]) -> None:
    status = oxswarm("status", "--cluster", CLUSTER, "--state-dir", str(STATE), "--json")
    assert status.returncode == 0, status.stderr
    body = by_node(json.loads(status.stdout))
    assert len(body["nodes"]) == 3 and all(v.startswith("Ready") for v in body["nodes"].values())
    assert len(body["store"]) == 3, body["store"]
    assert all(v.startswith("up") for v in body["store"].values()), body["store"]
    started = time.monotonic()
    again = oxswarm("up", "--driver", "ssh", "--hostname", HOSTNAME, "--cluster", CLUSTER,
                    "--state-dir", str(STATE), "--json")
    assert again.returncode == 0, again.stderr[-2000:]
    print(f"second up over ssh: {time.monotonic() - started:.1f}s")
    assert json.loads(again.stdout)["changes"] == []


def test_a_partitioned_host_leaves_the_others_serving(
        deployed: tuple[LabHosts, dict[str, Any], float]) -> None:
    """Survival on ssh hosts: one of three cut off; the two others issue tokens and the
    store takes writes; healed, it serves again."""
    hosts, result, _ = deployed
    deployer = Deployer(cluster=CLUSTER, state_dir=STATE)
    victim = hosts.spec.nodes[-1]
    survivors = [n.address for n in hosts.spec.nodes if n != victim]
    hosts.fail(victim.name, "partition")
    try:
        wait_until(lambda: victim.name not in catalogued_nodes(deployer), 60,
                   f"{victim.name}'s oxauth to leave the catalogue", interval=1.0)
        statuses = [token_status(a, result["ca_file"]) for a in survivors for _ in range(10)]
        assert statuses == [200] * 20, statuses
        store, manager = manager_of(deployer)
        with store:
            manager.set("ssh_partition_probe", "written")
            assert manager.get("ssh_partition_probe") == "written"
    finally:
        hosts.heal(victim.name)
    began = time.monotonic()
    wait_until(lambda: node_serves(victim.address, HOSTNAME, result["ca_file"]), 120,
               f"{victim.name} to serve again", interval=1.0)
    print(f"{victim.name} serves again {time.monotonic() - began:.1f}s after the heal")


def token_status(address: str, ca_file: str) -> int:
    found = secrets_of(Deployer(cluster=CLUSTER, state_dir=STATE))
    with httpx.Client(verify=ssl.create_default_context(cafile=ca_file), timeout=10.0,
                      trust_env=False) as client:
        return client.post(f"https://{address}/oxauth/restv1/token",
                           data={"grant_type": "client_credentials"},
                           auth=(found["client_id"], found["secret"]),
                           headers={"Host": HOSTNAME},
                           extensions={"sni_hostname": HOSTNAME}).status_code


def test_registry_image_reaches_every_host(deployed: tuple[LabHosts, dict[str, Any],
                                                          float]) -> None:
    """``--registry``: the image is pushed once and each host pulls it (over ssh)."""
    hosts, _, _ = deployed
    spec = Deployer(cluster=CLUSTER, state_dir=STATE).saved_spec()
    assert spec is not None
    registry = hosts.registry.endpoint
    driver = SshDriver(spec.model_copy(update={"registry": registry}), STATE)
    build = ImageBuilder().build(driver.image_registry(), step=print)
    assert build.image.startswith(f"{registry}/oxswarm:")
    assert driver.distribute(ImageBuilder().docker, build.image) == []  # nothing copied
    for node in spec.nodes:
        docker = driver.docker(node.name)
        docker.run("pull", "-q", build.image, timeout=300)
        assert docker.image_exists(build.image), node.name
        docker.run("image", "rm", build.image)


def test_down_leaves_hosts_clean(deployed: tuple[LabHosts, dict[str, Any], float]) -> None:
    hosts, _, _ = deployed
    down = oxswarm("down", "--cluster", CLUSTER, "--state-dir", str(STATE))
    assert down.returncode == 0, down.stderr[-2000:]
    for node in hosts.spec.nodes:
        state = hosts.ssh(node.name, "docker", "info", "--format", "{{.Swarm.LocalNodeState}}")
        assert state.stdout.strip() == "inactive", (node.name, state.stdout, state.stderr)
        left = hosts.ssh(node.name, "ls", "-A", "/var/lib/oxswarm/host")
        assert left.stdout.split() == [], left.stdout
        running = hosts.ssh(node.name, "docker", "ps", "-aq")
        assert running.stdout.split() == [], running.stdout
    assert not STATE.exists()
