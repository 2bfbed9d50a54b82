"""The lab driver: create, check, fail, heal and remove a cluster of namespace nodes."""

from __future__ import annotations

import logging
import shutil
from collections.abc import Callable
from pathlib import Path

from oxswarm.deploy.docker import Docker
from oxswarm.deploy.lab import cleanup
from oxswarm.deploy.lab.dockerd import Dockerd, DockerdConfig
from oxswarm.deploy.lab.netns import LB, REGISTRY, LabNetwork
from oxswarm.deploy.lab.registry import LabRegistry
from oxswarm.deploy.runner import Runner, SubprocessRunner
from oxswarm.deploy.spec import HOST_FOLDERS, ClusterSpec, lab_node_dir
from oxswarm.deploy.swarm import Swarm
from oxswarm.errors import DeployError, InvalidInput

log = logging.getLogger(__name__)

# A node namespace's own devices (see netns.py): everything else in it is Docker's.
NODE_LINKS = ("lo", "eth0")
LOCAL_POOL = "10.215.0.0/16"
Step = Callable[[str], None]


def _quiet(_: str) -> None:
    return None


class LabDriver:
    """Everything of one lab cluster lives under ``state_dir`` and ``oxs-<cluster>-*``."""

    def __init__(self, spec: ClusterSpec, state_dir: Path, runner: Runner | None = None) -> None:
        if spec.lab is None:
            raise DeployError("the lab driver needs a lab spec")
        self.spec = spec
        self.lab = spec.lab
        self.state_dir = state_dir
        self.runner = runner or SubprocessRunner()
        self.network = LabNetwork(self.runner, spec)
        self.registry = LabRegistry(state_dir / "registry", spec.namespace(REGISTRY),
                                    self.lab.registry_ip)

    # -- parts --------------------------------------------------------------------
    def dockerd(self, node: str) -> Dockerd:
        spec_node = self.spec.node(node)
        return Dockerd(DockerdConfig(
            name=node,
            root=Path(lab_node_dir(str(self.state_dir), node)),
            namespace=self.spec.namespace(node),
            hostname=node,
            cgroup_parent=f"/{self.spec.namespace(node)}",
            containerd_namespace=self.spec.namespace(node),
            insecure_registries=(self.registry.endpoint,),
            bip=f"10.214.{spec_node.slot % 250}.1/24",
            address_pool=LOCAL_POOL,
            dns=(spec_node.address,),
        ))

    def docker(self, node: str) -> Docker:
        return Docker(self.dockerd(node).config.host, self.runner)

    def dockers(self) -> dict[str, Docker]:
        return {n.name: self.docker(n.name) for n in self.spec.nodes}

    @property
    def lb_namespace(self) -> str:
        return self.spec.namespace(LB)

    # -- reconcile ------------------------------------------------------------------
    def up(self, step: Step = _quiet) -> list[str]:
        """The machines (network, registry, a dockerd per node), then the swarm."""
        done = self.machines(step)
        step("swarm")
        done += Swarm(self.spec, self.dockers()).up()
        return done

    def machines(self, step: Step = _quiet) -> list[str]:
        """Network, registry, and per node its cable, its dockerd and :meth:`node_extras`."""
        done: list[str] = []
        step("lab network")
        done += self.network.up()
        step("lab registry")
        if self.registry.start():
            done.append(f"registry {self.registry.endpoint}")
        for node in self.spec.nodes:
            step(f"dockerd {node.name}")
            if self.network.link_up(node.name) is False:
                self.network.set_link(node.name, True)
                done.append(f"link {node.name} up")
            if self.dockerd(node.name).start():
                done.append(f"dockerd {node.name}")
            done += self.node_extras(node.name, step)
        return done

    def node_extras(self, node: str, step: Step = _quiet) -> list[str]:
        """A lab node's host folders for the stateful services."""
        del step
        for folder in HOST_FOLDERS:
            Path(self.spec.node(node).data_dir, folder).mkdir(parents=True, exist_ok=True)
        return []

    def is_up(self) -> bool:
        return self.network.is_up() and all(
            self.dockerd(n.name).answers() for n in self.spec.nodes
        )

    # -- failure ------------------------------------------------------------------
    def fail(self, node: str, mode: str) -> list[int]:
        """``partition``: cut the node's cable; ``kill``: also SIGKILL all its processes."""
        if node not in [n.name for n in self.spec.nodes]:
            self.spec.node(node)  # raises InvalidInput naming the node
        if mode not in ("kill", "partition"):
            raise InvalidInput(f"mode: {mode!r} must be kill or partition", field="mode")
        self.network.set_link(node, False)
        if mode == "partition":
            return []
        return self._kill_node(node)

    def _kill_node(self, node: str) -> list[int]:
        ns = self.spec.namespace(node)
        root = lab_node_dir(str(self.state_dir), node)
        pids = cleanup.netns_pids(self.runner, [ns])
        pids |= cleanup.cgroup_pids(ns)
        pids |= cleanup.cmdline_pids(f"{root}/exec")
        return cleanup.kill_all(pids)

    def heal(self, node: str) -> list[str]:
        """Restore the cable and, if it was killed, boot the node: restart its dockerd.

        A node whose dockerd is gone boots as a real machine does after a power loss:
        whatever still runs there is killed first, then it starts from its disk
        (dockerd's data root) with none of its volatile state (:meth:`_power_cycle`).
        """
        self.spec.node(node)
        done: list[str] = []
        if not self.network.link_up(node):
            self.network.set_link(node, True)
            done.append(f"link {node} up")
        daemon = self.dockerd(node)
        if daemon.pid() is None or not daemon.answers():
            killed = self._kill_node(node)
            if killed:
                done.append(f"{node}: {len(killed)} leftover processes killed")
            done += self._power_cycle(node)
            daemon.start()
            done.append(f"dockerd {node} restarted")
        return done

    def _power_cycle(self, node: str) -> list[str]:
        """Throw away what a machine loses with its power and the lab's namespace keeps.

        The dead containers' veths: their network namespaces outlive the SIGKILL (an
        orphaned TCP socket retransmitting its FIN keeps one for up to ~2 min), still
        bridged on ``docker_gwbridge`` with the address and MAC the restarted dockerd
        hands to the new task. The bridge then delivers the new NGINX's traffic to the
        dead one's namespace, which answers RST: 443 refused until the socket times
        out. And the exec root (a tmpfs, ``/run/docker``, on a real host): its stale
        netns files make dockerd try to reuse namespaces that are gone.
        """
        done: list[str] = []
        root = Path(lab_node_dir(str(self.state_dir), node))
        cleanup.unmount_all(self.runner, root / "exec")
        if cleanup.clear_folder(root / "exec"):
            done.append(f"{node} runtime files cleared")
        removed = cleanup.remove_links(self.runner, self.spec.namespace(node), NODE_LINKS)
        if removed:
            done.append(f"{node} {len(removed)} stale devices removed")
        return done

    def restart_all(self, step: Step = _quiet) -> None:
        """Stop every dockerd gracefully, then start them again (a whole-cluster restart).

        All are launched before any is waited for: a swarm manager alone has no raft
        quorum and may not answer until the other managers are back.
        """
        for node in self.spec.nodes:
            step(f"stop dockerd {node.name}")
            self.dockerd(node.name).stop(timeout=60)
        launched = []
        for node in self.spec.nodes:
            step(f"start dockerd {node.name}")
            daemon = self.dockerd(node.name)
            root = Path(lab_node_dir(str(self.state_dir), node.name))
            cleanup.unmount_all(self.runner, root / "exec")
            launched.append((daemon, daemon.launch()))
        for daemon, proc in launched:
            daemon.wait_ready(proc)

    # -- teardown -------------------------------------------------------------------
    def down(self, step: Step = _quiet) -> list[str]:
        """Remove everything, also the leftovers of a crash halfway (power-loss style)."""
        done: list[str] = []
        step("stop lab processes")
        self.registry.stop()
        namespaces = self.network.own_namespaces()
        pids = cleanup.netns_pids(self.runner, namespaces)
        pids |= cleanup.cgroup_pids(f"oxs-{self.spec.cluster}-")
        pids |= cleanup.cmdline_pids(str(self.state_dir) + "/")
        killed = cleanup.kill_all(pids)
        if killed:
            done.append(f"killed {len(killed)} processes")
        step("unmount")
        count = cleanup.unmount_all(self.runner, self.state_dir)
        if count:
            done.append(f"unmounted {count}")
        step("network")
        done += self.network.down()
        removed = cleanup.remove_cgroups(f"oxs-{self.spec.cluster}-")
        if removed:
            done.append(f"removed {removed} cgroups")
        if self.state_dir.exists():
            if cleanup.mounts_under(self.state_dir):
                raise DeployError(f"mounts remain under {self.state_dir}; not removing it")
            shutil.rmtree(self.state_dir, ignore_errors=True)
            done.append(f"removed {self.state_dir}")
        return done
