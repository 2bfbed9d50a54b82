"""The cluster spec: what ``oxswarm up`` deploys, validated once (errors name the field).

Nodes are named as in the original Gluu Swarm example: ``manager``, ``worker-1``,
``worker-2``, then ``worker-3`` and on. The ``lab`` driver places node ``i`` (0-based)
at ``10.213.<s>.(11+i)`` on a /24 of its own, where ``s`` is derived from the cluster name,
so that two clusters on one machine never share addresses.
"""

from __future__ import annotations

import ipaddress
import re
import socket
import zlib
from collections.abc import Callable
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from oxswarm.config.params import check_hostname
from oxswarm.errors import InvalidInput

NODE_NAME = re.compile(r"^(manager|worker-[1-9][0-9]{0,2})$")
SSH_URL = re.compile(r"^ssh://(?:(?P<user>[A-Za-z0-9._-]+)@)?(?P<host>[A-Za-z0-9._:-]+)$")
MAX_NODES = 200
LAB_NET_BASE = "10.213"
NODE_HOST_OFFSET = 11
STACK = "oxs"
NETWORK = "gluu"
# Where a node keeps its stateful services' folders.
HOST_DATA_DIR = "/var/lib/oxswarm/host"
HOST_FOLDERS = ("etcd", "ldap", "redis", "shared", "csync2")


def node_names(count: int) -> list[str]:
    """``manager``, ``worker-1`` ... for ``count`` nodes."""
    if not 1 <= count <= MAX_NODES:
        raise InvalidInput(f"nodes: must be between 1 and {MAX_NODES}", field="nodes")
    return ["manager", *(f"worker-{i}" for i in range(1, count))]


def lab_subnet_index(cluster: str) -> int:
    """The third octet of the lab's /24 for ``cluster`` (stable, 16..239)."""
    return 16 + zlib.crc32(cluster.encode()) % 224


class LabNet(BaseModel):
    """Addresses the lab assigns itself (a private /24 inside its own namespaces)."""

    model_config = ConfigDict(frozen=True)

    index: int = Field(ge=0, le=255)

    @property
    def prefix(self) -> str:
        return f"{LAB_NET_BASE}.{self.index}"

    @property
    def cidr(self) -> str:
        return f"{self.prefix}.0/24"

    @property
    def host_ip(self) -> str:
        """The root namespace's end of its veth (CLI, tests, builder)."""
        return f"{self.prefix}.1"

    @property
    def lb_ip(self) -> str:
        return f"{self.prefix}.2"

    @property
    def registry_ip(self) -> str:
        return f"{self.prefix}.5"

    def node_ip(self, slot: int) -> str:
        return f"{self.prefix}.{NODE_HOST_OFFSET + slot}"

    def contains(self, address: str) -> bool:
        return ipaddress.ip_address(address) in ipaddress.ip_network(self.cidr)


class NodeSpec(BaseModel):
    """One node: its name, its index (0 = manager) and the address the swarm uses."""

    model_config = ConfigDict(frozen=True)

    name: str
    slot: int = Field(ge=0)
    address: str
    ssh: str | None = None
    data_dir: str = HOST_DATA_DIR

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not NODE_NAME.match(value):
            raise ValueError("must be manager or worker-<n>")
        return value

    @property
    def server_id(self) -> int:
        """The directory's serverID and etcd member number (1-based)."""
        return self.slot + 1


class ClusterSpec(BaseModel):
    """Everything the renderers need; built by :func:`lab_spec` or :func:`ssh_spec`."""

    model_config = ConfigDict(frozen=True)

    cluster: str = "oxswarm"
    driver: Literal["lab", "ssh"] = "lab"
    hostname: str = "id.oxswarm.test"
    image: str
    nodes: tuple[NodeSpec, ...]
    lab: LabNet | None = None
    stack: str = STACK
    network: str = NETWORK
    # ssh driver: an ssh_config(5) file for reaching the hosts (default: the user's own),
    # and the registry the image is pushed to (default: docker save | docker load).
    ssh_config: str | None = None
    registry: str | None = None

    @field_validator("hostname")
    @classmethod
    def _hostname(cls, value: str) -> str:
        return check_hostname(value)

    @model_validator(mode="after")
    def _unique(self) -> ClusterSpec:
        names = [n.name for n in self.nodes]
        if not names or names[0] != "manager":
            raise ValueError("the first node must be named manager")
        if len(set(names)) != len(names):
            raise ValueError("node names must be unique")
        if [n.slot for n in self.nodes] != list(range(len(self.nodes))):
            raise ValueError("node slots must be 0..N-1 in order")
        return self

    @property
    def manager(self) -> NodeSpec:
        return self.nodes[0]

    def node(self, name: str) -> NodeSpec:
        for node in self.nodes:
            if node.name == name:
                return node
        known = ", ".join(n.name for n in self.nodes)
        raise InvalidInput(f"node: {name!r} is not in cluster {self.cluster} ({known})", "node")

    def namespace(self, node: str) -> str:
        """The network namespace of a lab node: ``oxs-<cluster>-<node>``."""
        return f"oxs-{self.cluster}-{node}"

    def store_url(self) -> str:
        """``etcd+https://addr:2379,...``: every member, as reached from outside the swarm
        (TLS only; the operator's certificate is ``<state>/operator.crt``)."""
        return "etcd+https://" + ",".join(f"{n.address}:2379" for n in self.nodes)


def lab_node_dir(state_dir: str, node: str) -> str:
    """Where a lab node keeps its dockerd and host folders."""
    return f"{state_dir.rstrip('/')}/n/{node}"


def lab_spec(
    *,
    nodes: int,
    state_dir: str,
    cluster: str = "oxswarm",
    hostname: str = "id.oxswarm.test",
    image: str,
) -> ClusterSpec:
    """The spec of a lab cluster of ``nodes`` nodes whose files live under ``state_dir``."""
    net = LabNet(index=lab_subnet_index(cluster))
    members = tuple(
        NodeSpec(name=name, slot=i, address=net.node_ip(i),
                 data_dir=f"{lab_node_dir(state_dir, name)}/host")
        for i, name in enumerate(node_names(nodes))
    )
    return _build(cluster=cluster, driver="lab", hostname=hostname, image=image,
                  nodes=members, lab=net)


Resolve = Callable[[str], str]


def resolve_ipv4(host: str) -> str:
    """The IPv4 address of ``host`` (Swarm advertises addresses, not names)."""
    try:
        ipaddress.IPv4Address(host)
        return host
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, None, socket.AF_INET, socket.SOCK_STREAM)
    except OSError:
        raise InvalidInput(f"host: cannot resolve {host!r} to an IPv4 address",
                           field="host") from None
    return str(infos[0][4][0])


def parse_hosts(values: list[str], resolve: Resolve = resolve_ipv4) -> tuple[NodeSpec, ...]:
    """``NAME=ssh://user@addr`` options -> node specs, manager first."""
    nodes: list[tuple[str, str, str]] = []
    for value in values:
        name, sep, url = value.partition("=")
        match = SSH_URL.match(url)
        if not sep or not match:
            raise InvalidInput(f"host: {value!r} is not NAME=ssh://user@addr", field="host")
        host = match["host"].rsplit(":", 1)[0] if match["host"].count(":") == 1 \
            else match["host"]
        nodes.append((name, url, resolve(host)))
    names = [n[0] for n in nodes]
    expected = node_names(len(nodes)) if nodes else []
    if sorted(names) != sorted(expected):
        raise InvalidInput(
            f"host: nodes must be named {', '.join(expected) or 'manager'} "
            f"(got {', '.join(names)})",
            field="host",
        )
    by_name = {n[0]: n for n in nodes}
    return tuple(
        NodeSpec(name=name, slot=i, address=by_name[name][2], ssh=by_name[name][1])
        for i, name in enumerate(expected)
    )


def ssh_spec(
    *, hosts: list[str], cluster: str = "oxswarm", hostname: str = "id.oxswarm.test",
    image: str, ssh_config: str | None = None, registry: str | None = None,
    resolve: Resolve = resolve_ipv4,
) -> ClusterSpec:
    """The spec of a cluster on existing hosts reached over SSH."""
    if not hosts:
        raise InvalidInput("host: the ssh driver needs --host NAME=ssh://user@addr", "host")
    return _build(cluster=cluster, driver="ssh", hostname=hostname, image=image,
                  nodes=parse_hosts(hosts, resolve), lab=None, ssh_config=ssh_config,
                  registry=registry)


def _build(**fields: object) -> ClusterSpec:
    from pydantic import ValidationError

    try:
        return ClusterSpec.model_validate(fields)
    except ValidationError as exc:
        err = exc.errors()[0]
        field = ".".join(str(p) for p in err["loc"]) or "spec"
        raise InvalidInput(f"{field}: {err['msg']}", field=field) from None
