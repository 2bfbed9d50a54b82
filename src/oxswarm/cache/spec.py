"""Typed specs for the cache tier: one Twemproxy pool over N Redis shards, one Redis node.

Validated when built (pydantic), so rendering never sees a bad name or port. Field
names follow twemproxy's ``conf/nutcracker.yml`` keys (``notes/recommendation.md``) and
redis.conf directives (https://redis.io/docs/latest/operate/oss_and_stack/management/config/).
"""

from __future__ import annotations

import ipaddress
import re
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$")
_HOST = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$")

MaxmemoryPolicy = Literal[
    "allkeys-lru", "allkeys-lfu", "volatile-lru", "volatile-lfu", "volatile-ttl", "noeviction"
]


# A cache password goes bare into redis.conf's ACL rule (``>password``) and nutcracker's
# YAML: config-init's ``redis_pw`` (``token_urlsafe``) fits; no blanks, quotes, '#', ':'.
_PASSWORD = re.compile(r"^[A-Za-z0-9_.~+/=-]{16,256}$")
ADMIN_USER = "oxadmin"


def check_password(value: SecretStr, field: str = "password") -> SecretStr:
    """A cache password that renders safely; the message never shows it."""
    if not _PASSWORD.match(value.get_secret_value()):
        raise ValueError(
            f"{field}: 16-256 characters of letters, digits and '_.~+/=-' (config-init's "
            "redis_pw is one)"
        )
    return value


def _check_host(value: str) -> str:
    if not _HOST.match(value):
        raise ValueError(f"{value!r} is not a host name or IPv4 address")
    return value


def _check_name(value: str) -> str:
    if not _NAME.match(value):
        raise ValueError(f"{value!r}: use letters, digits, '.', '_' and '-' (at most 63)")
    return value


class Shard(BaseModel):
    """One Redis server of the pool.

    ``name`` is what ketama hashes (``host:port:weight name``), so a shard keeps its
    keys when its address changes (a rescheduled Swarm task): name it after the node.
    """

    model_config = ConfigDict(frozen=True)

    name: str
    host: str
    port: int = Field(default=6379, ge=1, le=65535)
    weight: int = Field(default=1, ge=1, le=1000)

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        return _check_name(value)

    @field_validator("host")
    @classmethod
    def _host(cls, value: str) -> str:
        return _check_host(value)


class TwemproxyPool(BaseModel):
    """One Twemproxy server pool: where it listens and the shards it spreads keys over.

    Defaults are the measured lab settings: ``murmur`` + ``ketama`` (``fnv1a_64`` put
    200/100/0 of 300 keys on three shards), eject a shard after 2 consecutive failures,
    retry it after 2 s, ``preconnect`` so a dead shard is noticed before a client asks.
    """

    model_config = ConfigDict(frozen=True)

    name: str = "oxswarm"
    listen_host: str = "127.0.0.1"
    listen_port: int = Field(default=22121, ge=1, le=65535)
    shards: tuple[Shard, ...] = Field(min_length=1)
    hash: Literal["murmur", "md5", "crc32a", "fnv1a_64", "hsieh", "jenkins"] = "murmur"
    distribution: Literal["ketama", "modula", "random"] = "ketama"
    timeout_ms: int = Field(default=400, ge=10, le=60_000)
    backlog: int = Field(default=1024, ge=1, le=65_535)
    preconnect: bool = True
    auto_eject_hosts: bool = True
    server_failure_limit: int = Field(default=2, ge=1, le=100)
    server_retry_timeout_ms: int = Field(default=2000, ge=100, le=600_000)
    server_connections: int = Field(default=1, ge=1, le=64)
    redis_auth: SecretStr | None = None

    @field_validator("redis_auth")
    @classmethod
    def _auth(cls, value: SecretStr | None) -> SecretStr | None:
        return None if value is None else check_password(value, "redis_auth")

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        return _check_name(value)

    @field_validator("listen_host")
    @classmethod
    def _host(cls, value: str) -> str:
        return _check_host(value)

    @model_validator(mode="after")
    def _unique_shards(self) -> TwemproxyPool:
        names = [s.name for s in self.shards]
        if len(set(names)) != len(names):
            raise ValueError(f"shard names must be unique, got {names}")
        addresses = [(s.host, s.port) for s in self.shards]
        if len(set(addresses)) != len(addresses):
            raise ValueError("two shards share one host:port")
        return self


class RedisNode(BaseModel):
    """One Redis shard's server settings (rendered into ``redis.conf``).

    ``passwords``: what the ``default`` user (Twemproxy, single-argument AUTH) accepts:
    one, or two while the password rotates (old and new both valid). ``admin_password``:
    the ``oxadmin`` user, who alone may run dangerous commands (ACL, CONFIG, MONITOR,
    FLUSHALL...); the role draws it at each start and uses it over loopback only.

    The cache holds only data with a TTL, so there is no persistence (``save ""``,
    ``appendonly no``): a restarted shard comes back empty (see ``docs/cache.md``).
    """

    model_config = ConfigDict(frozen=True)

    bind: tuple[str, ...] = ("127.0.0.1",)
    port: int = Field(default=6379, ge=1, le=65535)
    dir: Path
    maxmemory_mb: int = Field(default=256, ge=1, le=1_048_576)
    maxmemory_policy: MaxmemoryPolicy = "allkeys-lru"
    logfile: Path | None = None
    tcp_keepalive: int = Field(default=60, ge=0, le=3600)
    passwords: tuple[SecretStr, ...] = Field(min_length=1, max_length=2)
    admin_password: SecretStr | None = None

    @field_validator("passwords")
    @classmethod
    def _passwords(cls, value: tuple[SecretStr, ...]) -> tuple[SecretStr, ...]:
        return tuple(check_password(p, "passwords") for p in value)

    @field_validator("admin_password")
    @classmethod
    def _admin(cls, value: SecretStr | None) -> SecretStr | None:
        return None if value is None else check_password(value, "admin_password")

    @field_validator("bind")
    @classmethod
    def _bind(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if not value:
            raise ValueError("bind needs at least one address")
        for addr in value:
            try:
                ipaddress.ip_address(addr)
            except ValueError as exc:
                raise ValueError(f"bind: {addr!r} is not an IP address") from exc
        return value

    @field_validator("dir", "logfile")
    @classmethod
    def _path(cls, value: Path | None) -> Path | None:
        if value is not None and any(c in str(value) for c in '"\\\n\r'):
            raise ValueError(f"{str(value)!r}: quotes, backslashes and newlines are not allowed")
        return value
