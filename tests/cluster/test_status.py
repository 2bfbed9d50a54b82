"""``oxswarm status`` on the running cluster: directory replication state and memory per
node (printed: the memory figures of the issue's evidence)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from oxswarm.deploy.deployer import Deployer, UpResult
from oxswarm.local.process import wait_until

pytestmark = [pytest.mark.cluster, pytest.mark.timeout(300)]


def status_json(deployer: Deployer) -> dict[str, dict[str, str]]:
    proc = subprocess.run(
        [sys.executable, "-c", "from oxswarm.cli.main import main; main()", "status",
         "--json", "--cluster", deployer.cluster, "--state-dir", str(deployer.state_dir)],
        capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(proc.stdout)  # type: ignore[no-any-return]


def test_status_shows_directory_in_sync_and_memory_per_node(
        cluster: tuple[Deployer, UpResult]) -> None:
    deployer, _ = cluster
    names = {"manager", "worker-1", "worker-2"}
    found: dict[str, dict[str, str]] = {}

    def in_sync() -> bool:
        found.update(status_json(deployer))
        directory = found["directory"]
        return directory.keys() == names and all(v.startswith("in sync")
                                                 for v in directory.values())

    wait_until(in_sync, 180, "every directory server in sync", interval=5.0)
    assert set(found["store"]) == names
    assert all(v.startswith("up") for v in found["store"].values()), found["store"]
    assert found["memory"].keys() == names
    assert all(v.endswith(" MiB") for v in found["memory"].values()), found["memory"]
    print(f"\nfigures: memory per node {found['memory']}; directory {found['directory']}")
