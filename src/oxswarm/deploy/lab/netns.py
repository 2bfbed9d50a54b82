"""Lab network: namespaces joined by a bridge in a namespace of its own (reconciled).

Layout for cluster ``c`` (every name carries the ``oxs-`` prefix)::

    oxs-c-sw          the bridge br0, one veth end per member (v-<member>)
    oxs-c-<member>    eth0 = 10.213.s.x/24; members: the nodes, "registry", "lb"
    root namespace    oxs-<hash8> = 10.213.s.1/24 (its peer "host" is on br0)

No default route and no NAT: nothing in the lab reaches beyond the lab's own /24.
"""

from __future__ import annotations

import contextlib
import json
import logging
import zlib
from dataclasses import dataclass
from pathlib import Path

from oxswarm.deploy.runner import Runner
from oxswarm.deploy.spec import ClusterSpec
from oxswarm.errors import DeployError

log = logging.getLogger(__name__)

NETNS_ETC = Path("/etc/netns")
BRIDGE = "br0"
REGISTRY = "registry"
LB = "lb"


@dataclass(frozen=True)
class Member:
    """Something with an address on the lab network: a node, the registry, the LB."""

    name: str
    namespace: str
    address: str


def host_link(cluster: str) -> str:
    """The root namespace's veth for ``cluster`` (interface names are at most 15 bytes)."""
    return f"oxs-{zlib.crc32(cluster.encode()):08x}"


def members(spec: ClusterSpec) -> list[Member]:
    """Every member of the lab network, nodes first."""
    if spec.lab is None:
        raise DeployError("the lab network needs a lab spec")
    found = [Member(n.name, spec.namespace(n.name), n.address) for n in spec.nodes]
    found.append(Member(REGISTRY, spec.namespace(REGISTRY), spec.lab.registry_ip))
    found.append(Member(LB, spec.namespace(LB), spec.lab.lb_ip))
    return found


def hosts_file(spec: ClusterSpec, own: str) -> str:
    """``/etc/hosts`` for a member: localhost, then every member by name."""
    lines = ["127.0.0.1\tlocalhost", f"127.0.1.1\t{own}"]
    lines += [f"{m.address}\t{m.name}" for m in members(spec)]
    return "\n".join(lines) + "\n"


class LabNetwork:
    """Creates, checks and removes the namespaces and links of one lab cluster."""

    def __init__(self, runner: Runner, spec: ClusterSpec, netns_etc: Path = NETNS_ETC) -> None:
        if spec.lab is None:
            raise DeployError("the lab network needs a lab spec")
        self.runner = runner
        self.spec = spec
        self.lab = spec.lab
        self.netns_etc = netns_etc
        self.switch = spec.namespace("sw")
        self.link = host_link(spec.cluster)

    # -- observation ------------------------------------------------------------
    def namespaces(self) -> set[str]:
        out = self.runner.run(["ip", "-j", "netns", "list"], check=False).stdout.strip()
        if not out:
            return set()
        return {entry["name"] for entry in json.loads(out)}

    def own_namespaces(self) -> set[str]:
        """Every namespace of this cluster, including leftovers of a crashed run."""
        prefix = f"oxs-{self.spec.cluster}-"
        return {ns for ns in self.namespaces() if ns.startswith(prefix)}

    def _addresses(self, namespace: str, dev: str) -> list[str]:
        res = self.runner.run(["ip", "-n", namespace, "-j", "addr", "show", "dev", dev],
                              check=False)
        if not res.ok or not res.stdout.strip():
            return []
        return [
            f"{a['local']}/{a['prefixlen']}"
            for link in json.loads(res.stdout)
            for a in link.get("addr_info", [])
            if a.get("family") == "inet"
        ]

    def _root_addresses(self) -> list[str]:
        res = self.runner.run(["ip", "-j", "addr", "show", "dev", self.link], check=False)
        if not res.ok or not res.stdout.strip():
            return []
        return [f"{a['local']}/{a['prefixlen']}" for link in json.loads(res.stdout)
                for a in link.get("addr_info", []) if a.get("family") == "inet"]

    def is_up(self) -> bool:
        """True when every namespace and link exists with its address."""
        present = self.namespaces()
        if self.switch not in present:
            return False
        if f"{self.lab.host_ip}/24" not in self._root_addresses():
            return False
        return all(
            m.namespace in present and f"{m.address}/24" in self._addresses(m.namespace, "eth0")
            for m in members(self.spec)
        )

    # -- reconcile --------------------------------------------------------------
    def up(self) -> list[str]:
        """Create what is missing; return what was done (empty when all was right)."""
        done: list[str] = []
        run = self.runner.run
        present = self.namespaces()
        if self.switch not in present:
            run(["ip", "netns", "add", self.switch])
            run(["ip", "-n", self.switch, "link", "set", "lo", "up"])
            done.append(f"namespace {self.switch}")
        if not run(["ip", "-n", self.switch, "link", "show", BRIDGE], check=False).ok:
            run(["ip", "-n", self.switch, "link", "add", BRIDGE, "type", "bridge"])
            done.append(f"bridge {BRIDGE}")
        run(["ip", "-n", self.switch, "link", "set", BRIDGE, "up"])
        if f"{self.lab.host_ip}/24" not in self._root_addresses():
            run(["ip", "link", "del", self.link], check=False)
            run(["ip", "-n", self.switch, "link", "del", "host"], check=False)
            run(["ip", "link", "add", self.link, "type", "veth", "peer", "name", "host",
                 "netns", self.switch])
            run(["ip", "-n", self.switch, "link", "set", "host", "master", BRIDGE, "up"])
            run(["ip", "addr", "add", f"{self.lab.host_ip}/24", "dev", self.link])
            run(["ip", "link", "set", self.link, "up"])
            done.append(f"link {self.link} {self.lab.host_ip}")
        for member in members(self.spec):
            done += self._member_up(member, member.namespace in present)
        return done

    def _member_up(self, member: Member, exists: bool) -> list[str]:
        run = self.runner.run
        done: list[str] = []
        ns = member.namespace
        if not exists:
            run(["ip", "netns", "add", ns])
            done.append(f"namespace {ns}")
        run(["ip", "-n", ns, "link", "set", "lo", "up"])
        if f"{member.address}/24" not in self._addresses(ns, "eth0"):
            peer = f"v-{member.name}"
            run(["ip", "-n", ns, "link", "del", "eth0"], check=False)
            run(["ip", "-n", self.switch, "link", "del", peer], check=False)
            run(["ip", "-n", self.switch, "link", "add", peer, "type", "veth", "peer", "name",
                 "eth0", "netns", ns])
            run(["ip", "-n", self.switch, "link", "set", peer, "master", BRIDGE, "up"])
            run(["ip", "-n", ns, "addr", "add", f"{member.address}/24", "dev", "eth0"])
            run(["ip", "-n", ns, "link", "set", "eth0", "up"])
            done.append(f"link {member.name} {member.address}")
        hosts = self.netns_etc / ns / "hosts"
        text = hosts_file(self.spec, member.name)
        if not hosts.is_file() or hosts.read_text() != text:
            hosts.parent.mkdir(parents=True, exist_ok=True)
            hosts.write_text(text)
            (self.netns_etc / ns / "hostname").write_text(member.name + "\n")
        return done

    def set_link(self, member: str, up: bool) -> None:
        """Cut (``up=False``) or restore a member's cable at the bridge."""
        self.runner.run(["ip", "-n", self.switch, "link", "set", f"v-{member}",
                         "up" if up else "down"])

    def link_up(self, member: str) -> bool:
        res = self.runner.run(["ip", "-n", self.switch, "-j", "link", "show", f"v-{member}"],
                              check=False)
        if not res.ok:
            return False
        return "UP" in json.loads(res.stdout)[0].get("flags", [])

    # -- teardown ----------------------------------------------------------------
    def down(self) -> list[str]:
        """Delete every namespace of the cluster, the root link and the hosts files."""
        done: list[str] = []
        for ns in sorted(self.own_namespaces()):
            self.runner.run(["ip", "netns", "del", ns], check=False)
            done.append(f"namespace {ns}")
        if self.runner.run(["ip", "link", "del", self.link], check=False).ok:
            done.append(f"link {self.link}")
        prefix = f"oxs-{self.spec.cluster}-"
        if self.netns_etc.is_dir():
            for folder in self.netns_etc.glob(prefix + "*"):
                for item in folder.iterdir():
                    item.unlink()
                with contextlib.suppress(OSError):
                    folder.rmdir()
        return done
