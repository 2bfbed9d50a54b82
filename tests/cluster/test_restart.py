"""A whole-cluster restart (every node's dockerd stopped, then started) loses no
configuration and no directory data, and the cluster serves again (issue 4, "Failure").

Measured and printed: the time from the first dockerd stop until every node serves.
"""

from __future__ import annotations

import secrets
import time

import pytest
from tests.cluster.probes import add_entry, has_entry, manager_of, node_serves, secrets_of

from oxswarm.deploy.deployer import Deployer, UpResult
from oxswarm.local.process import wait_until

pytestmark = [pytest.mark.cluster, pytest.mark.timeout(900)]
MARK = "restart_probe"


def test_whole_cluster_restart_keeps_config_and_directory(
        cluster: tuple[Deployer, UpResult]) -> None:
    deployer, result = cluster
    spec = deployer.saved_spec()
    assert spec is not None
    found = secrets_of(deployer)
    manager = spec.manager.address
    # every node serves before (an earlier test may have just healed one)
    for node in spec.nodes:
        wait_until(lambda a=node.address: node_serves(a, spec.hostname, result.ca_file),  # type: ignore[misc]
                   240, f"{node.name} to serve before the restart", interval=2.0)
    store, config = manager_of(deployer)
    with store:
        mark = secrets.token_hex(8)
        config.set(MARK, mark)
        before = config.all()
        before_secrets = config.all_secrets()
    uid = f"restart-{mark}"
    dn = f"uid={uid},ou=people,{found['base']}"
    assert add_entry(manager, found["bind_dn"], found["ldap_pw"], dn, uid, ca=found["ca"])
    for node in spec.nodes:  # replicated everywhere before the restart
        wait_until(lambda a=node.address: has_entry(a, found["bind_dn"],  # type: ignore[misc]
                                                    found["ldap_pw"], dn, ca=found["ca"]),
                   60, f"{dn} on {node.name}", interval=1.0)

    began = time.monotonic()
    deployer.driver(spec).restart_all(step=print)
    started = time.monotonic() - began
    for node in spec.nodes:
        wait_until(lambda a=node.address: node_serves(a, spec.hostname, result.ca_file),  # type: ignore[misc]
                   480, f"{node.name} to serve after the restart", interval=2.0)
    serving = time.monotonic() - began
    assert node_serves(result.load_balancer, spec.hostname, result.ca_file)

    store, config = manager_of(deployer)
    with store:
        wait_until(lambda: config.get(MARK) is not None, 60, "the store after the restart")
        assert config.all() == before
        assert config.all_secrets() == before_secrets
    for node in spec.nodes:
        wait_until(lambda a=node.address: has_entry(a, found["bind_dn"],  # type: ignore[misc]
                                                    found["ldap_pw"], dn, ca=found["ca"]),
                   120, f"{dn} on {node.name} after the restart", interval=1.0)
    print(f"\nfigures: whole-cluster restart: dockerds stopped and started in {started:.1f}s; "
          f"every node serves {serving:.1f}s after the first stop; "
          f"{len(before)} config values and {len(before_secrets)} secrets unchanged; "
          f"directory entry on every node")
