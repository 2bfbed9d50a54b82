"""csync2 keeps the shared folder (the IdP's files) identical on every node within seconds.

Each node's shared folder is its host folder ``<node>/host/shared`` (mounted into the
node's csync2 task): a file written there on one node must appear on every other node.
Measured and printed: the propagation time.
"""

from __future__ import annotations

import secrets
import time
from pathlib import Path

import pytest

from oxswarm.deploy.deployer import Deployer, UpResult
from oxswarm.deploy.spec import NodeSpec
from oxswarm.local.process import wait_until

pytestmark = [pytest.mark.cluster, pytest.mark.timeout(600)]


def shared(node: NodeSpec) -> Path:
    return Path(node.data_dir, "shared")


def has(node: NodeSpec, name: str, text: str) -> bool:
    try:
        return (shared(node) / name).read_text() == text
    except OSError:
        return False


def propagate(source: NodeSpec, others: list[NodeSpec], timeout: float) -> float:
    """Write a new file on ``source``; seconds until every other node has it."""
    name = f"probe-{secrets.token_hex(4)}.xml"
    text = f"<probe from='{source.name}'>{secrets.token_hex(32)}</probe>\n"
    began = time.monotonic()
    (shared(source) / name).write_text(text)
    for node in others:
        wait_until(lambda n=node: has(n, name, text), timeout,  # type: ignore[misc]
                   f"{name} from {source.name} on {node.name}", interval=0.1)
    return time.monotonic() - began


def test_a_file_written_on_one_node_appears_on_the_others(
        cluster: tuple[Deployer, UpResult]) -> None:
    deployer, _ = cluster
    spec = deployer.saved_spec()
    assert spec is not None
    nodes = list(spec.nodes)
    # the csync2 tasks start after config-init; the first file waits for all of them
    first = propagate(nodes[0], nodes[1:], timeout=240)
    times = [propagate(n, [o for o in nodes if o != n], timeout=60) for n in nodes]
    print(f"\nfigures: csync2 first file (tasks starting) {first:.1f}s; propagation "
          f"to every other node {', '.join(f'{t:.2f}s' for t in times)}")
    assert max(times) < 30, times


def test_csync2_tasks_give_up_a_cut_peer_quickly(cluster: tuple[Deployer, UpResult]) -> None:
    """The stack's ``sysctls`` reach the task: SYN retried twice (~7 s), not 6 (~127 s),
    and a connection to a peer that vanished mid-sync given up after 5 retransmissions."""
    deployer, _ = cluster
    spec = deployer.saved_spec()
    assert spec is not None
    for node in spec.nodes:
        docker = deployer.driver(spec).docker(node.name)
        ids = docker.run("ps", "-q", "--filter", f"name=oxs_csync2-{node.name}.").stdout.split()
        assert len(ids) == 1, ids
        for name, want in (("tcp_syn_retries", "2"), ("tcp_retries2", "5")):
            value = docker.run("exec", ids[0], "cat", f"/proc/sys/net/ipv4/{name}").stdout
            assert value.strip() == want, (node.name, name, value)
