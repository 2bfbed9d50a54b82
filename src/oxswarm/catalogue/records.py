"""Catalogue records: one JSON value per service instance, under a key of its own.

The catalogue plays the part Consul's service catalogue played in Gluu's multi-host
design (Registrator wrote it, consul-template read it). Layout in the config store::

    <prefix>/catalogue/<service>/<instance-id>  ->  {"service", "id", "node", "address",
        "port", "health_url", "tags", "status", "updated"}

Each record is attached to a lease with a short TTL that the registrator keeps alive only
while the instance's health check passes (etcd leases: https://etcd.io/docs/v3.4/learning/
api/#lease-api), so that an instance whose node died leaves the catalogue when the lease
expires, and an unhealthy one is deleted at once.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from oxswarm.errors import InvalidInput

CATALOGUE = "catalogue"
PASSING: Literal["passing"] = "passing"

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")
_HEALTH = re.compile(r"^(https?|tcp)://[^\s/]+(/\S*)?$")


def check_name(value: str, what: str = "name") -> str:
    """A service name or instance id: letters, digits, ``_ . -`` (no ``/``: it is a key part)."""
    if not _NAME.match(value):
        raise InvalidInput(
            f"{what}: {value!r} must be letters, digits, '_', '.' or '-' (at most 128)",
            field=what,
        )
    return value


class Instance(BaseModel):
    """One running instance of a service, as the catalogue lists it."""

    model_config = ConfigDict(frozen=True)

    service: str
    id: str
    node: str
    address: str = Field(min_length=1, max_length=253)
    port: int = Field(ge=1, le=65535)
    health_url: str
    tags: tuple[str, ...] = ()
    status: Literal["passing"] = PASSING
    updated: float = 0.0

    @field_validator("service", "id")
    @classmethod
    def _name(cls, value: str) -> str:
        if not _NAME.match(value):
            raise ValueError("letters, digits, '_', '.' or '-' (at most 128)")
        return value

    @field_validator("health_url")
    @classmethod
    def _health(cls, value: str) -> str:
        if not _HEALTH.match(value):
            raise ValueError("http://host:port/path, https://... or tcp://host:port")
        return value

    @property
    def endpoint(self) -> str:
        """``address:port`` (IPv6 addresses in brackets), as NGINX's ``server`` takes it."""
        host = f"[{self.address}]" if ":" in self.address else self.address
        return f"{host}:{self.port}"

    def same_as(self, other: Instance) -> bool:
        """Equal in everything but the ``updated`` time stamp."""
        return self.model_dump(exclude={"updated"}) == other.model_dump(exclude={"updated"})

    def to_json(self) -> bytes:
        return self.model_dump_json().encode()

    @classmethod
    def from_json(cls, raw: bytes, key: str = "record") -> Instance:
        try:
            return cls.model_validate_json(raw)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "record"
            raise InvalidInput(f"{key}: {where}: {first['msg']}", field=where) from exc


def catalogue_prefix(prefix: str) -> str:
    """``<prefix>/catalogue/``: every record lives under it."""
    return f"{prefix.rstrip('/')}/{CATALOGUE}/"


def service_prefix(prefix: str, service: str) -> str:
    return f"{catalogue_prefix(prefix)}{check_name(service, 'service')}/"


def instance_key(prefix: str, service: str, instance_id: str) -> str:
    return f"{service_prefix(prefix, service)}{check_name(instance_id, 'id')}"


def health_url(address: str, port: int, check: str) -> str:
    """The health URL for the ``oxswarm.health`` label's value ``check``.

    ``check`` is a path (``/oxauth/health``: HTTP GET on the instance's address and port),
    ``tcp`` or empty (a TCP connect), or a whole ``http(s)://``/``tcp://`` URL.
    """
    host = f"[{address}]" if ":" in address else address
    check = check.strip()
    if check in ("", "tcp"):
        return f"tcp://{host}:{port}"
    if check.startswith("/"):
        return f"http://{host}:{port}{check}"
    if _HEALTH.match(check):
        return check
    raise InvalidInput(
        f"health: {check!r} is not a path, 'tcp' or an http(s)/tcp URL", field="health"
    )
