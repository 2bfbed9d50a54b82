"""A 3-node lab cluster for the cluster tests (built once per session, removed after)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from oxswarm.deploy.deployer import Deployer, UpResult

CLUSTER = "oxsci"


@pytest.fixture(scope="session")
def cluster() -> Iterator[tuple[Deployer, UpResult]]:
    if os.geteuid() != 0 or shutil.which("ip") is None:
        pytest.fail("the cluster tests need root and iproute2 (they build a Swarm lab)")
    state = Path(f"/var/lib/oxswarm/{CLUSTER}")
    deployer = Deployer(cluster=CLUSTER, state_dir=state)
    deployer.down()  # leftovers of an earlier, interrupted run
    try:
        result = deployer.up(nodes=3, hostname="id.oxsci.test", step=print)
        print(f"up: {result.timings}")
        yield deployer, result
    finally:
        print("down:", deployer.down())
