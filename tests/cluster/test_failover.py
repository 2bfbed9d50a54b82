"""Losing one of three nodes under load, and its return (issue 4, "Failure").

Measured and printed: failed requests and writes during the cut, time until the returning
node serves again, memory per node. Bounded: each phase has its own time limit.
"""

from __future__ import annotations

import json
import subprocess
import time

import pytest
from tests.cluster.load import DirectoryWriter, TokenStream
from tests.cluster.probes import (
    catalogued_nodes,
    discovery_answer,
    has_entry,
    ldap_url,
    node_serves,
    secrets_of,
)

from oxswarm.deploy.deployer import Deployer, UpResult
from oxswarm.local.process import wait_until

pytestmark = [pytest.mark.cluster, pytest.mark.timeout(1500)]
# The returning node serves through its own 443 within this many seconds of the heal
# (measured: kill 9-12 s, partition 0-2 s; before the lab's heal dropped a killed node's
# stale devices, a kill took 25-85 s: the dead NGINX's namespace answered for the new one).
BACK_WITHIN = 40.0


def test_cluster_serves_through_the_load_balancer(cluster: tuple[Deployer, UpResult]) -> None:
    _, result = cluster
    assert result.nodes.keys() == {"manager", "worker-1", "worker-2"}
    for address in result.nodes.values():
        assert node_serves(address, result.issuer.removeprefix("https://"), result.ca_file)
    # the command up prints as "test client" gets a token through the load balancer
    out = subprocess.run(["bash", "-c", result.test_client], capture_output=True, text=True,
                         timeout=30, check=False)
    assert json.loads(out.stdout)["token_type"] == "Bearer", (out.stdout, out.stderr)


@pytest.mark.parametrize("mode", ["kill", "partition"])
def test_losing_a_node_under_load(cluster: tuple[Deployer, UpResult], mode: str) -> None:
    deployer, result = cluster
    spec = deployer.saved_spec()
    assert spec is not None
    hostname = spec.hostname
    victim = spec.nodes[-1]
    survivors = [n.address for n in spec.nodes if n != victim]
    # a settled cluster first (the previous round's node may have just returned)
    every = {n.name for n in spec.nodes}
    wait_until(lambda: catalogued_nodes(deployer) == every, 120,
               "every node's oxauth in the catalogue", interval=1.0)
    found = secrets_of(deployer)
    tokens = TokenStream(lb=result.load_balancer, hostname=hostname, ca_file=result.ca_file,
                         client_id=found["client_id"], secret=found["secret"], rate=5.0)
    writer = DirectoryWriter(urls=[ldap_url(a) for a in survivors],
                             bind_dn=found["bind_dn"], password=found["ldap_pw"],
                             base=found["base"], ca=found["ca"], rate=2.0)
    tokens.start()
    writer.start()
    time.sleep(5)
    assert tokens.tally.ok > 0, tokens.tally.errors
    driver = deployer.driver(spec)
    driver.fail(victim.name, mode)
    time.sleep(30)
    cut = (tokens.tally.ok, tokens.tally.failed, writer.tally.ok, writer.tally.failed)
    healed_at = time.monotonic()
    driver.heal(victim.name)
    timeline: list[str] = []

    def serves() -> bool:
        answer = discovery_answer(victim.address, hostname, result.ca_file)
        if not timeline or not timeline[-1].endswith(answer):
            timeline.append(f"+{time.monotonic() - healed_at:.1f}s {answer}")
        return answer == "200"

    wait_until(serves, 240, f"{victim.name} to serve again", interval=1.0)
    back = time.monotonic() - healed_at
    containers = driver.docker(victim.name).run(
        "ps", "--format", "{{.Names}}: {{.Status}}", check=False).stdout
    print(f"\n{victim.name} after heal: {'; '.join(timeline)}")
    print(f"{victim.name} containers when it served again {back:.1f}s after heal:\n"
          + "\n".join(f"  {line.split('.')[0]}: {line.rsplit(': ', 1)[-1]}"
                      for line in containers.splitlines()))
    if back > 20:  # why it took long: the edge's own account
        victim_docker = driver.docker(victim.name)
        for name in containers.split():
            if name.startswith(("oxs_nginx.", "oxs_oxauth.")):
                logs = victim_docker.run("logs", "-t", name.rstrip(":"), check=False)
                lines = (logs.stdout + logs.stderr).splitlines()
                print(name, *lines[:15], sep="\n  ")
    time.sleep(5)
    tokens.stop.set()
    writer.stop.set()
    tokens.join(20)
    writer.join(20)
    last = writer.written[-1]
    wait_until(lambda: has_entry(victim.address, found["bind_dn"], found["ldap_pw"], last,
                                 ca=found["ca"]),
               120, f"{victim.name}'s directory to catch up", interval=1.0)
    caught_up = time.monotonic() - healed_at
    print(f"\nfigures: mode={mode} tokens ok/failed during cut={cut[0]}/{cut[1]}, "
          f"total={tokens.tally.ok}/{tokens.tally.failed}; ldap writes ok/failed "
          f"total={writer.tally.ok}/{writer.tally.failed}; {victim.name} serves again "
          f"{back:.1f}s after heal; directory caught up {caught_up:.1f}s after heal; "
          f"errors={tokens.tally.errors[:3]} {writer.tally.errors[:3]}")
    total = tokens.tally.ok + tokens.tally.failed
    assert tokens.tally.failed <= max(1, total // 100), tokens.tally.errors
    assert writer.tally.failed <= max(1, (writer.tally.ok + writer.tally.failed) // 100), \
        writer.tally.errors
    assert back < BACK_WITHIN, f"{victim.name} served again {back:.1f}s after heal: {timeline}"
