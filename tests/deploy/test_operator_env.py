"""``oxswarm env``: the variables that point every command at a cluster, from its state."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from click.testing import CliRunner

from oxswarm.cli.main import cli
from oxswarm.deploy.operator_env import operator_env
from oxswarm.deploy.render.stack import OPERATOR_LDAP_PORT, OPERATOR_LDAP_SCHEME
from oxswarm.deploy.spec import lab_spec


def saved_cluster(state: Path, cluster: str = "edgetry") -> None:
    spec = lab_spec(nodes=5, state_dir=str(state), cluster=cluster,
                    hostname="sso.example.net", image="local/oxswarm:x")
    state.mkdir(parents=True, exist_ok=True)
    (state / "cluster.json").write_text(spec.model_dump_json())


def test_env_names_the_store_cluster_key_and_reachable_directory(tmp_path: Path) -> None:
    state = tmp_path / "it's here"  # a quote and a space: the values must be shell-quoted
    saved_cluster(state)
    (state / "ca.crt").write_text("x")
    result = CliRunner().invoke(cli, ["env", "--cluster", "edgetry", "--state-dir", str(state)])
    assert result.exit_code == 0, result.output
    assert all(line.startswith("export OXSWARM_") for line in result.output.splitlines())
    shown = subprocess.run(["bash", "-c", f"{result.output}\nenv"], capture_output=True,
                           text=True, check=True).stdout.splitlines()
    env = dict(line.split("=", 1) for line in shown if line.startswith("OXSWARM_"))
    prefix = env["OXSWARM_STORE"].removeprefix("etcd://").split(",")
    assert len(prefix) == 5 and all(p.endswith(":2379") for p in prefix)
    assert env["OXSWARM_CLUSTER"] == "edgetry"
    assert env["OXSWARM_MASTER_KEY_FILE"] == f"{state}/master.key"
    assert env["OXSWARM_STORE_CA_FILE"] == f"{state}/ca.crt"
    assert "OXSWARM_STORE_CERT_FILE" not in env  # no client certificate written (yet)
    urls = env["OXSWARM_LDAP_URLS"].split(",")
    assert len(urls) == 5
    assert all(u.startswith(f"{OPERATOR_LDAP_SCHEME}://10.213.") and
               u.endswith(f":{OPERATOR_LDAP_PORT}") for u in urls)
    as_json = CliRunner().invoke(cli, ["env", "--state-dir", str(state), "--json"],
                                 env={"OXSWARM_CLUSTER": "edgetry"})
    assert json.loads(as_json.output) == env


def test_client_certificate_files_are_named_when_they_exist(tmp_path: Path) -> None:
    saved_cluster(tmp_path)
    for name in ("ca.crt", "operator.crt", "operator.key"):
        (tmp_path / name).write_text("x")
    spec = lab_spec(nodes=3, state_dir=str(tmp_path), cluster="edgetry",
                    hostname="sso.example.net", image="x")
    env = operator_env(spec, tmp_path)
    assert env["OXSWARM_STORE_CERT_FILE"] == str(tmp_path / "operator.crt")
    assert env["OXSWARM_STORE_KEY_FILE"] == str(tmp_path / "operator.key")


def test_env_of_a_cluster_that_is_not_up_is_one_line_exit_1(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["env", "--cluster", "nope", "--state-dir",
                                      str(tmp_path)])
    assert result.exit_code == 1
    assert result.output.count("\n") == 1 and "nope" in result.output
