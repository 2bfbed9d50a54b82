"""Swarm membership, reconciled: init on the manager, join the others, label, network.

With three nodes or more every node joins as a manager, so that the Raft quorum survives
the loss of any one node; node labels ``oxswarm.node=<name>`` pin the stateful services.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from oxswarm.deploy.docker import Docker
from oxswarm.deploy.spec import ClusterSpec, NodeSpec
from oxswarm.errors import DeployError

log = logging.getLogger(__name__)

OVERLAY_POOL = "10.216.0.0/16"
LABEL_NODE = "oxswarm.node"
LABEL_CLUSTER = "oxswarm.cluster"
MIN_MANAGERS_FOR_ALL = 3


def _active(info: Mapping[str, object]) -> bool:
    return info.get("LocalNodeState") == "active"


class Swarm:
    """Reconciles the swarm of ``spec`` through one :class:`Docker` per node."""

    def __init__(self, spec: ClusterSpec, dockers: Mapping[str, Docker]) -> None:
        self.spec = spec
        self.dockers = dockers

    @property
    def manager(self) -> Docker:
        return self.dockers[self.spec.manager.name]

    def up(self) -> list[str]:
        done: list[str] = []
        info = self.manager.swarm_info()
        if not _active(info):
            node = self.spec.manager
            self.manager.run("swarm", "init", "--advertise-addr", node.address,
                             "--listen-addr", f"{node.address}:2377",
                             "--default-addr-pool", OVERLAY_POOL,
                             "--default-addr-pool-mask-length", "24")
            done.append(f"swarm init on {node.name}")
        for node in self.spec.nodes[1:]:
            if not _active(self.dockers[node.name].swarm_info()):
                self._join(node)
                done.append(f"{node.name} joined")
        self._check_membership()
        done += self._labels()
        done += self._network()
        return done

    def _join(self, node: NodeSpec) -> None:
        role = "manager" if len(self.spec.nodes) >= MIN_MANAGERS_FOR_ALL else "worker"
        token = self.manager.run("swarm", "join-token", "-q", role).stdout.strip()
        docker = self.dockers[node.name]
        docker.run("swarm", "join", "--token", token, "--advertise-addr", node.address,
                   "--listen-addr", f"{node.address}:2377",
                   f"{self.spec.manager.address}:2377", timeout=90)

    def _check_membership(self) -> None:
        """Every node in the manager's swarm (a host may already be in a swarm of its own)."""
        known = {str(entry.get("ID")) for entry in self.manager.json_lines("node", "ls")}
        for name, node_id in self.node_ids().items():
            if node_id not in known:
                raise DeployError(
                    f"node {name} is in another swarm (node ID {node_id}); make it leave "
                    "(docker swarm leave --force) or name another host")

    def node_ids(self) -> dict[str, str]:
        """Node name -> swarm node ID, asked of each node itself."""
        ids: dict[str, str] = {}
        for node in self.spec.nodes:
            node_id = self.dockers[node.name].swarm_info().get("NodeID")
            if not node_id:
                raise DeployError(f"node {node.name} has no swarm node ID")
            ids[node.name] = str(node_id)
        return ids

    def _labels(self) -> list[str]:
        done: list[str] = []
        for name, node_id in self.node_ids().items():
            labels = self.manager.json("node", "inspect", node_id, "--format",
                                       "{{json .Spec.Labels}}") or {}
            want = {LABEL_NODE: name, LABEL_CLUSTER: self.spec.cluster}
            if any(labels.get(k) != v for k, v in want.items()):
                args = [a for k, v in want.items() for a in ("--label-add", f"{k}={v}")]
                self.manager.run("node", "update", *args, node_id)
                done.append(f"labels on {name}")
        self._remove_stale_nodes()
        return done

    def _remove_stale_nodes(self) -> None:
        """Drop ``Down`` entries left by a node that re-joined with a new identity."""
        current = set(self.node_ids().values())
        for entry in self.manager.json_lines("node", "ls"):
            if entry.get("ID") not in current and entry.get("Status") == "Down":
                if entry.get("ManagerStatus"):
                    self.manager.run("node", "demote", str(entry["ID"]), check=False)
                self.manager.run("node", "rm", "--force", str(entry["ID"]), check=False)

    def _network(self) -> list[str]:
        name = self.spec.network
        if self.manager.run("network", "inspect", name, check=False).ok:
            return []
        self.manager.run("network", "create", "--driver", "overlay", "--attachable",
                         "--label", f"{LABEL_CLUSTER}={self.spec.cluster}", name)
        return [f"network {name}"]

    def nodes(self) -> list[dict[str, object]]:
        return list(self.manager.json_lines("node", "ls"))
