"""The stack renderer against a golden file (regenerate: OXSWARM_UPDATE_GOLDEN=1 pytest ...)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from oxswarm.deploy.render.stack import render_stack, stack_text
from oxswarm.deploy.spec import ClusterSpec, lab_spec

GOLDEN = Path(__file__).parent.parent / "golden"


def spec3() -> ClusterSpec:
    return lab_spec(nodes=3, state_dir="/var/lib/oxswarm/g", cluster="g",
                    hostname="id.example.org", image="10.213.1.5:5000/oxswarm:abc")


def test_stack_matches_golden_file() -> None:
    text = stack_text(spec3(), "/var/lib/oxswarm/g/master.key")
    golden = GOLDEN / "stack-3.json"
    if os.environ.get("OXSWARM_UPDATE_GOLDEN"):
        golden.write_text(text)
    assert text == golden.read_text()


def test_pinned_members_and_global_services() -> None:
    stack = render_stack(spec3(), "/k")
    services = stack["services"]
    for kind in ("etcd", "redis", "ldap"):
        for node in ("manager", "worker-1", "worker-2"):
            svc = services[f"{kind}-{node}"]
            assert svc["deploy"]["placement"]["constraints"] == [
                f"node.labels.oxswarm.node == {node}"]
    for name in ("registrator", "twemproxy", "oxauth", "nginx"):
        assert services[name]["deploy"]["mode"] == "global"
    assert all(s["deploy"]["endpoint_mode"] == "dnsrr" for s in services.values())
    assert {p["published"] for p in services["nginx"]["ports"]} == {80, 443}
    assert all(p["mode"] == "host" for s in services.values() for p in s.get("ports", []))
    assert services["ldap-manager"]["environment"]["OXS_LDAP_SEED"] == "1"
    assert services["ldap-worker-1"]["environment"]["OXS_LDAP_SEED"] == "0"
    assert "ldap://ldap-worker-1:1389" not in services["ldap-worker-1"]["environment"][
        "OXS_LDAP_PEERS"]
    assert stack["secrets"]["oxswarm_master_key"] == {"file": "/k"}


def test_one_node_stack_has_no_peers() -> None:
    spec = lab_spec(nodes=1, state_dir="/s", cluster="one", image="img")
    env = render_stack(spec, "/k")["services"]["ldap-manager"]["environment"]
    assert env["OXS_LDAP_PEERS"] == ""
    assert json.loads(json.dumps(env))["OXSWARM_CLUSTER"] == "one"


@pytest.mark.skipif(shutil.which("docker") is None, reason="no docker client")
def test_docker_stack_config_accepts_the_stack(tmp_path: Path) -> None:
    path = tmp_path / "stack.yml"
    key = tmp_path / "k"
    key.write_text("x")
    path.write_text(stack_text(spec3(), str(key)))
    res = subprocess.run(["docker", "stack", "config", "-c", str(path)], capture_output=True,
                         text=True, check=False)
    assert res.returncode == 0, res.stderr
    assert "etcd-worker-2" in res.stdout
