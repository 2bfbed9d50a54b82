"""A 3-node lab cluster for the cluster tests (built once per session, removed after).

Made as the README says, with values of its own: ``oxswarm up --params FILE --cluster
oxsci --json``, the hostname coming from the params file.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from oxswarm.deploy.deployer import Deployer, UpResult

CLUSTER = "oxsci"
HOSTNAME = "sso.oxsci.test"  # from the params file only: no --hostname anywhere
PARAMS = {"hostname": HOSTNAME, "country_code": "FR", "state": "Rhone", "city": "Lyon",
          "admin_email": "admin@oxsci.test", "org_name": "OxSwarm CI",
          "admin_pw": "Ci-Admin-pass-7"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests that make a cluster of their own (``test_store_upgrade``: ``oxup``) run
    before the session's cluster is made, and remove theirs first: one lab at a time."""
    items.sort(key=lambda item: "cluster" in getattr(item, "fixturenames", ()))


def operator_env() -> dict[str, str]:
    """This machine's environment without any OXSWARM_ variable (a fresh shell)."""
    return {k: v for k, v in os.environ.items() if not k.startswith("OXSWARM_")}


def oxswarm(*args: str, timeout: float = 1800) -> subprocess.CompletedProcess[str]:
    """The ``oxswarm`` command as an operator runs it (progress on stderr, shown)."""
    return subprocess.run(["oxswarm", *args], stdout=subprocess.PIPE, text=True,
                          timeout=timeout, env=operator_env(), check=False)


def up(params: Path) -> UpResult:
    proc = oxswarm("up", "--params", str(params), "--cluster", CLUSTER, "--json")
    assert proc.returncode == 0, f"oxswarm up exited {proc.returncode}: {proc.stdout[-2000:]}"
    return UpResult(**json.loads(proc.stdout))


@pytest.fixture(scope="session")
def params_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("params") / "params.json"
    path.touch(mode=0o600)
    path.write_text(json.dumps(PARAMS))
    return path


@pytest.fixture(scope="session")
def cluster(params_file: Path) -> Iterator[tuple[Deployer, UpResult]]:
    if os.geteuid() != 0 or shutil.which("ip") is None:
        pytest.fail("the cluster tests need root and iproute2 (they build a Swarm lab)")
    if shutil.which("oxswarm") is None:
        pytest.fail("the cluster tests run the `oxswarm` command: install the package")
    state = Path(f"/var/lib/oxswarm/{CLUSTER}")
    deployer = Deployer(cluster=CLUSTER, state_dir=state)
    deployer.down()  # leftovers of an earlier, interrupted run
    try:
        result = up(params_file)
        print(f"up: {result.timings}")
        assert result.issuer == f"https://{HOSTNAME}"
        yield deployer, result
    finally:
        done = oxswarm("down", "--cluster", CLUSTER, timeout=600)
        print("down:", done.returncode, done.stdout)
        if done.returncode != 0:
            print("down (again):", deployer.down())
