"""The one typed settings object, read once at an entry point (CLI or app factory).

Only entry points read the environment; everything else receives a :class:`Settings`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path

from pydantic import BaseModel, ConfigDict, field_validator

from oxswarm.errors import InvalidInput

DEFAULT_CLUSTER = "oxswarm"
DEFAULT_STORE = "etcd://127.0.0.1:2379"
ENV_STORE = "OXSWARM_STORE"
ENV_CLUSTER = "OXSWARM_CLUSTER"
ENV_MASTER_KEY_FILE = "OXSWARM_MASTER_KEY_FILE"
ENV_STORE_CA_FILE = "OXSWARM_STORE_CA_FILE"
ENV_STORE_CERT_FILE = "OXSWARM_STORE_CERT_FILE"
ENV_STORE_KEY_FILE = "OXSWARM_STORE_KEY_FILE"
ENV_NODE = "OXSWARM_NODE"  # the Swarm node a container runs on (the stack sets it)
ENV_LDAP_URLS = "OXSWARM_LDAP_URLS"  # read by the directory commands (cli/directory_options)

_HOSTPORT = re.compile(r"^(?P<host>\[[0-9a-fA-F:]+\]|[A-Za-z0-9_.-]+)(?::(?P<port>\d{1,5}))?$")
_CLUSTER = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")


def parse_store_url(url: str) -> list[str]:
    """``etcd://h1:2379,h2:2379`` (or ``etcd+https://``) -> ``["http://h1:2379", ...]``."""
    scheme, sep, rest = url.partition("://")
    if not sep or scheme not in ("etcd", "etcd+http", "etcd+https"):
        raise InvalidInput(
            f"store: {url!r} is not an etcd URL (expected etcd://host:port[,host:port...])",
            field="store",
        )
    http = "https" if scheme == "etcd+https" else "http"
    endpoints = []
    for part in rest.strip("/").split(","):
        match = _HOSTPORT.match(part.strip())
        if not match or (match["port"] and not 0 < int(match["port"]) < 65536):
            raise InvalidInput(f"store: {part!r} is not host[:port]", field="store")
        endpoints.append(f"{http}://{match['host']}:{match['port'] or 2379}")
    return endpoints


def local_first(endpoints: list[str], node: str) -> list[str]:
    """``endpoints`` turned so that ``node``'s own member (host ``etcd-<node>``, as the stack
    names it) comes first, the others in their order after it; unchanged when none is.

    A client sticks to the member that answered last, and every container is given the
    same list: without this, every service of the cluster would read through the first
    node's member, and each restart of it would make all of them fail over at once (a
    lookup of a member being replaced takes up to 3 s). Each node's services use their
    own member instead, and fail over in a different order."""
    hosts = [e.split("://", 1)[1].rsplit(":", 1)[0] for e in endpoints]
    if not node or f"etcd-{node}" not in hosts:
        return endpoints
    at = hosts.index(f"etcd-{node}")
    return endpoints[at:] + endpoints[:at]


class Settings(BaseModel):
    """Where the cluster's configuration lives and how its secrets are opened."""

    model_config = ConfigDict(frozen=True)

    store_endpoints: tuple[str, ...]
    cluster: str = DEFAULT_CLUSTER
    master_key_file: Path | None = None
    store_timeout: float = 2.0
    store_ca_file: Path | None = None  # the cluster CA the store's certificates chain to
    store_cert_file: Path | None = None  # this client's certificate (and etcd user)
    store_key_file: Path | None = None

    @field_validator("cluster")
    @classmethod
    def _cluster_name(cls, value: str) -> str:
        if not _CLUSTER.match(value):
            raise ValueError("lower-case letters, digits, '-' and '_', at most 63 characters")
        return value

    @property
    def store_url(self) -> str:
        """The ``etcd://`` (or ``etcd+https://``) form of the endpoints, for ``--store``."""
        https = all(e.startswith("https://") for e in self.store_endpoints)
        hosts = ",".join(e.split("://", 1)[1] for e in self.store_endpoints)
        return ("etcd+https://" if https else "etcd://") + hosts

    @property
    def prefix(self) -> str:
        """Every key of this cluster lives under this prefix."""
        return f"/oxswarm/{self.cluster}"

    @classmethod
    def load(
        cls,
        env: Mapping[str, str] | None = None,
        *,
        store: str | None = None,
        cluster: str | None = None,
        master_key_file: str | os.PathLike[str] | None = None,
        store_ca_file: str | os.PathLike[str] | None = None,
        store_cert_file: str | os.PathLike[str] | None = None,
        store_key_file: str | os.PathLike[str] | None = None,
    ) -> Settings:
        """Options first, then ``OXSWARM_*`` variables, then defaults; errors name the key."""
        env = os.environ if env is None else env
        store_url = store or env.get(ENV_STORE) or DEFAULT_STORE
        cluster_name = cluster or env.get(ENV_CLUSTER) or DEFAULT_CLUSTER
        key_file = master_key_file or env.get(ENV_MASTER_KEY_FILE) or None
        if not _CLUSTER.match(cluster_name):
            raise InvalidInput(
                f"cluster: {cluster_name!r} must be lower-case letters, digits, '-' or '_'",
                field="cluster",
            )
        def path(given: str | os.PathLike[str] | None, name: str) -> Path | None:
            value = given or env.get(name) or None
            return Path(value) if value else None

        return cls(
            store_endpoints=tuple(local_first(parse_store_url(store_url),
                                              env.get(ENV_NODE, ""))),
            cluster=cluster_name,
            master_key_file=Path(key_file) if key_file else None,
            store_ca_file=path(store_ca_file, ENV_STORE_CA_FILE),
            store_cert_file=path(store_cert_file, ENV_STORE_CERT_FILE),
            store_key_file=path(store_key_file, ENV_STORE_KEY_FILE),
        )
