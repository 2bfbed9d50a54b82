"""``oxswarm status``: Docker's and etcd's answers parsed into rows, the rows drawn as
tables (every cell asserted), ``--json`` and the tables carrying the same data, and the
progress lines of ``up``/``down`` without source file names."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from rich.console import Console

from oxswarm.cli import up_cmd
from oxswarm.cli.main import cli
from oxswarm.cli.status_view import print_status
from oxswarm.deploy.status import node_rows, service_rows, store_row

STATUS: dict[str, Any] = {
    "cluster": {"name": "oxswarm", "hostname": "id.oxswarm.test", "image": "oxswarm:0.1.0-ab12"},
    "nodes": [
        {"node": "manager", "status": "Ready", "availability": "Active", "manager": "Leader"},
        {"node": "worker-1", "status": "Down", "availability": "Active", "manager": "-"},
    ],
    "services": [
        {"node": "manager", "service": "oxauth", "state": "Running",
         "since": "2 hours ago"},
        {"node": "worker-1", "service": "ldap", "state": "Preparing",
         "since": "3 seconds ago"},
    ],
    "store": [
        {"node": "manager", "state": "up", "raft_index": 4711, "leader": True},
        {"node": "worker-1", "state": "unreachable", "raft_index": None, "leader": False},
    ],
    "directory": [
        {"node": "manager", "replication": "in sync (3 CSNs)"},
        {"node": "worker-1", "replication": "unreachable"},
    ],
    "catalogue": [
        {"service": "oxauth", "node": "manager", "endpoint": "10.0.1.7:8080"},
        {"service": "oxtrust", "node": "manager", "endpoint": "10.0.1.9:8082"},
    ],
    "memory": [{"node": "manager", "memory": "812 MiB"}],
    "errors": {"catalogue": "config store unreachable at etcd+https://10.0.0.1:2379"},
}


def render(status: dict[str, Any]) -> str:
    out = io.StringIO()
    print_status(status, Console(file=out, width=120, color_system=None))
    return out.getvalue()


def row_line(text: str, *cells: str) -> str:
    """The one line of ``text`` holding ``cells`` as table cells, in this order."""
    bar = r"\s*[│┃]\s*"
    pattern = re.compile(bar + bar.join(re.escape(c) for c in cells) + bar)
    found = [line for line in text.splitlines() if pattern.search(line)]
    assert len(found) == 1, (cells, text)
    return found[0]


def test_docker_and_etcd_answers_become_rows() -> None:
    assert service_rows([
        {"Name": "oxswarm_oxauth.abc123", "Node": "worker-1",
         "CurrentState": "Running about a minute ago"},
        {"Name": "oxswarm_etcd-manager.1", "Node": "manager",
         "CurrentState": "Running 2 hours ago"},
    ], stack="oxswarm") == [
        {"node": "manager", "service": "etcd-manager", "state": "Running",
         "since": "2 hours ago"},
        {"node": "worker-1", "service": "oxauth", "state": "Running",
         "since": "about a minute ago"},
    ]
    assert node_rows([{"Hostname": "w", "Status": "Down", "Availability": "Active",
                       "ManagerStatus": ""}]) == [
        {"node": "w", "status": "Down", "availability": "Active", "manager": "-"}]
    body = {"header": {"member_id": "7"}, "leader": "7", "raftIndex": "4711"}
    assert store_row("manager", body) == {"node": "manager", "state": "up",
                                          "raft_index": 4711, "leader": True}
    assert store_row("w", {**body, "leader": "8"})["leader"] is False
    assert store_row("w", None) == {"node": "w", "state": "unreachable", "raft_index": None,
                                    "leader": False}


def test_tables_carry_every_cell() -> None:
    text = render(STATUS)
    assert "cluster  name: oxswarm   hostname: id.oxswarm.test   image: oxswarm:0.1.0-ab12" in text
    for title in ("Nodes", "Services", "Config store (etcd members)", "Directory replication",
                  "Catalogue", "Memory"):
        assert re.search(rf"^\s*{re.escape(title)}\s*$", text, re.M), title
    row_line(text, "node", "status", "availability", "manager")
    row_line(text, "manager", "Ready", "Active", "Leader")
    row_line(text, "worker-1", "Down", "Active", "-")
    row_line(text, "node", "service", "state", "since")
    row_line(text, "manager", "oxauth", "Running", "2 hours ago")
    row_line(text, "worker-1", "ldap", "Preparing", "3 seconds ago")
    row_line(text, "manager", "up", "4711", "yes")
    row_line(text, "worker-1", "unreachable", "-", "no")
    row_line(text, "manager", "in sync (3 CSNs)")
    row_line(text, "oxauth", "manager", "10.0.1.7:8080")
    row_line(text, "oxtrust", "manager", "10.0.1.9:8082")
    assert "2 instances of 2 services" in text
    row_line(text, "manager", "812 MiB")
    assert "catalogue: cannot read: config store unreachable at etcd+https://10.0.0.1:2379" in text
    assert "{" not in text and "'" not in text  # no Python reprs


def test_a_cluster_that_is_not_up_is_one_line() -> None:
    text = render({"cluster": {"name": "lab2", "state": "not up"}})
    assert text.strip() == "cluster  name: lab2   state: not up"


def leaves(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [leaf for v in value.values() for leaf in leaves(v)]
    if isinstance(value, list):
        return [leaf for v in value for leaf in leaves(v)]
    if value is None:
        return ["-"]
    if isinstance(value, bool):
        return ["yes" if value else "no"]
    return [str(value)]


def test_json_and_tables_carry_the_same_data(monkeypatch: pytest.MonkeyPatch,
                                             tmp_path: Path) -> None:
    monkeypatch.setattr(up_cmd, "cluster_status", lambda _deployer: STATUS)
    runner = CliRunner()
    args = ["status", "--state-dir", str(tmp_path)]
    as_json = runner.invoke(cli, [*args, "--json"])
    assert as_json.exit_code == 0, as_json.output
    data = json.loads(as_json.output)
    assert data == STATUS
    tables = runner.invoke(cli, args, env={"COLUMNS": "160"})
    assert tables.exit_code == 0, tables.output
    flat = " ".join(tables.output.split())
    for leaf in leaves(data):
        assert " ".join(leaf.split()) in flat, leaf


def test_status_of_no_cluster_from_the_real_deployer(tmp_path: Path) -> None:
    runner = CliRunner()
    args = ["status", "--cluster", "nothing-here", "--state-dir", str(tmp_path)]
    data = json.loads(runner.invoke(cli, [*args, "--json"]).output)
    assert data == {"cluster": {"name": "nothing-here", "state": "not up"}}
    assert runner.invoke(cli, args).output.strip() == "cluster  name: nothing-here   state: not up"


def test_progress_lines_carry_no_source_file_names() -> None:
    out = io.StringIO()
    console = up_cmd._console()  # what up and down print with
    console.file = out
    console.width = 200
    step = up_cmd.progress(console)
    step("docker stack deploy oxswarm [stateful services kept on their image]")
    line = out.getvalue().rstrip("\n")
    assert re.fullmatch(r"\d\d:\d\d:\d\d docker stack deploy oxswarm \[stateful services kept "
                        r"on their image\]", line), line
    assert ".py" not in line
