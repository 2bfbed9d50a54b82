"""The lab driver's per-node dockerd configuration (pure: nothing is started)."""

from __future__ import annotations

from pathlib import Path

from oxswarm.deploy.lab.driver import LabDriver
from oxswarm.deploy.spec import lab_spec


def test_containers_resolve_through_their_own_node_never_the_hosts_resolver(
    tmp_path: Path,
) -> None:
    spec = lab_spec(nodes=3, state_dir=str(tmp_path), cluster="dnst", image="oxswarm:test")
    driver = LabDriver(spec, tmp_path)
    for node in spec.nodes:
        conf = driver.dockerd(node.name).config.daemon_json()
        assert conf["dns"] == [node.address]
        assert spec.lab is not None and spec.lab.contains(node.address)
