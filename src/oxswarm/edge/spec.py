"""Typed specs for the edge: each node's NGINX, and the lab's external load balancer.

Validated when built (pydantic), so the renderers never see a value that would break an
``nginx.conf`` (an address with a ``;``, a relative path). Every file NGINX writes
(pid, temp, logs) lives under ``workdir``: several NGINX run on one machine (lab.md).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator

from oxswarm.catalogue.records import Instance
from oxswarm.config.params import check_hostname

_HOST = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$")
_SERVICE = re.compile(r"^[a-z][a-z0-9_]{0,62}$")


def check_address(value: str) -> str:
    """An IPv4/IPv6 address or a host name (nothing NGINX would parse as syntax)."""
    try:
        ipaddress.ip_address(value)
        return value
    except ValueError:
        pass
    if not _HOST.match(value):
        raise ValueError(f"{value!r} is not an IP address or host name")
    return value


def _absolute(value: Path) -> Path:
    if not value.is_absolute() or any(c in str(value) for c in ";{}\"'\n "):
        raise ValueError(f"{value} must be an absolute path without spaces, quotes or ;{{}}")
    return value


class Backend(BaseModel):
    """One upstream server: ``address:port``."""

    model_config = ConfigDict(frozen=True)

    address: str
    port: int = Field(ge=1, le=65535)

    @field_validator("address")
    @classmethod
    def _address(cls, value: str) -> str:
        return check_address(value)

    @property
    def endpoint(self) -> str:
        return (
            f"[{self.address}]:{self.port}"
            if ":" in self.address
            else f"{self.address}:{self.port}"
        )


class Listen(BaseModel):
    """Where a server listens; ``address`` empty means every address."""

    model_config = ConfigDict(frozen=True)

    address: str = ""
    http_port: int = Field(default=80, ge=1, le=65535)
    https_port: int = Field(default=443, ge=1, le=65535)

    @field_validator("address")
    @classmethod
    def _address(cls, value: str) -> str:
        return check_address(value) if value else value

    def on(self, port: int) -> str:
        if not self.address:
            return str(port)
        host = f"[{self.address}]" if ":" in self.address else self.address
        return f"{host}:{port}"

    def https_suffix(self) -> str:
        """``:port`` for redirects when HTTPS is not on 443."""
        return "" if self.https_port == 443 else f":{self.https_port}"


class _Common(BaseModel):
    model_config = ConfigDict(frozen=True)

    hostname: str
    cert_file: Path
    key_file: Path
    workdir: Path
    listen: Listen = Listen()
    worker_processes: int = Field(default=1, ge=1, le=64)
    worker_connections: int = Field(default=1024, ge=64, le=65536)
    access_log: bool = True

    @field_validator("hostname")
    @classmethod
    def _hostname(cls, value: str) -> str:
        return check_hostname(value, min_labels=2)

    @field_validator("cert_file", "key_file", "workdir")
    @classmethod
    def _paths(cls, value: Path) -> Path:
        return _absolute(value)


class EdgeSpec(_Common):
    """One node's NGINX: TLS for ``hostname``, Gluu's routes onto ``upstreams``.

    ``upstreams`` maps a service name (``oxauth``, ``oxtrust``, ``oxshibboleth``,
    ``oxpassport``) to its healthy backends; a service missing or empty answers 503.
    ``resolver`` (e.g. ``127.0.0.11`` in a Swarm task) is used when a backend is a
    host name. ``real_ip_from`` lists the load balancers whose ``X-Forwarded-For`` is
    trusted, so that the services see the client's address.
    """

    upstreams: Mapping[str, tuple[Backend, ...]] = {}
    resolver: tuple[str, ...] = ()
    resolver_valid_s: int = Field(default=5, ge=1, le=3600)
    real_ip_from: tuple[str, ...] = ()
    connect_timeout_s: float = Field(default=1.0, gt=0, le=60)
    read_timeout_s: float = Field(default=60.0, gt=0, le=3600)
    max_fails: int = Field(default=1, ge=0, le=100)
    fail_timeout_s: int = Field(default=5, ge=1, le=3600)
    keepalive: int = Field(default=16, ge=0, le=1024)

    @field_validator("upstreams")
    @classmethod
    def _services(
        cls, value: Mapping[str, tuple[Backend, ...]]
    ) -> Mapping[str, tuple[Backend, ...]]:
        for name in value:
            if not _SERVICE.match(name):
                raise ValueError(f"service {name!r}: lower-case letters, digits and '_'")
        return value

    @field_validator("resolver")
    @classmethod
    def _resolver(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(check_address(v) for v in value)

    @field_validator("real_ip_from")
    @classmethod
    def _networks(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(str(ipaddress.ip_network(v, strict=False)) for v in value)

    def with_instances(self, snapshot: Mapping[str, tuple[Instance, ...]]) -> EdgeSpec:
        """This spec with ``upstreams`` taken from a catalogue snapshot."""
        return self.model_copy(update={"upstreams": upstreams_from(snapshot)})


class NodeTarget(BaseModel):
    """One node's NGINX as the load balancer reaches it."""

    model_config = ConfigDict(frozen=True)

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$")
    address: str
    port: int = Field(default=443, ge=1, le=65535)

    @field_validator("address")
    @classmethod
    def _address(cls, value: str) -> str:
        return check_address(value)


class LbSpec(_Common):
    """The lab's external load balancer in front of every node's NGINX.

    HTTPS is terminated here and proxied over HTTPS to the nodes (verified against
    ``ca_file`` when given, with SNI ``hostname``), so that a failed node is retried
    per request (``proxy_next_upstream``) and marked down passively
    (``max_fails``/``fail_timeout``). ``retry_non_idempotent`` lets a POST that was sent
    to a node which then failed be sent to the next one (token requests are safe to
    resend; an authorization code redemption is not).
    """

    nodes: tuple[NodeTarget, ...] = Field(min_length=1)
    ca_file: Path | None = None
    connect_timeout_s: float = Field(default=1.0, gt=0, le=60)
    read_timeout_s: float = Field(default=60.0, gt=0, le=3600)
    max_fails: int = Field(default=1, ge=0, le=100)
    fail_timeout_s: int = Field(default=5, ge=1, le=3600)
    keepalive: int = Field(default=32, ge=0, le=1024)
    retry_non_idempotent: bool = False

    @field_validator("ca_file")
    @classmethod
    def _ca(cls, value: Path | None) -> Path | None:
        return None if value is None else _absolute(value)


def upstreams_from(snapshot: Mapping[str, tuple[Instance, ...]]) -> dict[str, tuple[Backend, ...]]:
    """Backends per service from the catalogue's healthy instances (sorted, deduplicated).

    An instance whose address NGINX could not take is left out (and the others kept).
    """
    result: dict[str, tuple[Backend, ...]] = {}
    for service, instances in snapshot.items():
        if not _SERVICE.match(service):
            continue
        found: set[Backend] = set()
        for instance in instances:
            try:
                found.add(Backend(address=instance.address, port=instance.port))
            except ValueError:
                continue
        result[service] = tuple(sorted(found, key=lambda b: (b.address, b.port)))
    return result
