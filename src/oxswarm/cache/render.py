"""Pure rendering of the cache tier's configuration files: spec in, text out.

- ``nutcracker.yml``: one Twemproxy pool (twemproxy ``README.md`` "Configuration").
  Every server line carries a name (``host:port:weight name``): with ``ketama``,
  twemproxy hashes the *name* onto the continuum, so a shard keeps its keys when its
  address changes.
- ``redis.conf``: one Redis shard, no persistence (a pure cache: every key has a TTL),
  a memory cap with an eviction policy, ``protected-mode yes``, and ACL users (Redis 7
  ``user`` directives): ``default`` with the cluster's password(s), no dangerous commands;
  ``oxadmin`` for the role's own administration. Both texts hold secrets: write them 0600.
"""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import SecretStr

from oxswarm.cache.spec import ADMIN_USER, RedisNode, TwemproxyPool

# What the cache's clients (Twemproxy, our clients) may do: every key and channel, every
# command but the dangerous ones (ACL, CONFIG, FLUSHALL, KEYS, MONITOR, DEBUG, ...).
DEFAULT_PERMISSIONS = "~* &* +@all -@dangerous"


def acl_rule(user: str, passwords: Sequence[SecretStr], permissions: str) -> str:
    """A redis.conf ``user`` line: ``resetpass``, then each valid password."""
    secrets = " ".join(f">{p.get_secret_value()}" for p in passwords)
    return f"user {user} reset on {secrets} {permissions}"


def _yaml_bool(value: bool) -> str:
    return "true" if value else "false"


def render_twemproxy(pool: TwemproxyPool) -> str:
    """The ``nutcracker.yml`` text for ``pool`` (names and hosts are validated by the spec)."""
    lines = [
        f"{pool.name}:",
        f"  listen: {pool.listen_host}:{pool.listen_port}",
        f"  hash: {pool.hash}",
        f"  distribution: {pool.distribution}",
        "  redis: true",
        f"  timeout: {pool.timeout_ms}",
        f"  backlog: {pool.backlog}",
        f"  preconnect: {_yaml_bool(pool.preconnect)}",
        f"  auto_eject_hosts: {_yaml_bool(pool.auto_eject_hosts)}",
        f"  server_retry_timeout: {pool.server_retry_timeout_ms}",
        f"  server_failure_limit: {pool.server_failure_limit}",
        f"  server_connections: {pool.server_connections}",
    ]
    if pool.redis_auth is not None:
        # nutcracker sends it (single-argument AUTH) to every shard and demands it from clients
        lines.append(f"  redis_auth: {pool.redis_auth.get_secret_value()}")
    lines += [
        "  servers:",
    ]
    lines += [f"   - {s.host}:{s.port}:{s.weight} {s.name}" for s in pool.shards]
    return "\n".join(lines) + "\n"


def render_redis_conf(node: RedisNode) -> str:
    """The ``redis.conf`` text for one shard.

    - ``save ""`` and ``appendonly no``: nothing is written to disk; a restarted shard
      is empty, which Twemproxy and the services must (and do) tolerate.
    - ``protected-mode yes``; the ``default`` user (Twemproxy's single-argument AUTH)
      needs one of ``node.passwords`` and may not run ``@dangerous`` commands; the address
      must be on the private overlay only, never published (see ``docs/cache.md``).
    - ``user oxadmin`` (when ``admin_password``): every command, for the role's ACL
      changes during a password rotation.
    - ``timeout 0``: Twemproxy keeps long-lived server connections; never close them.
    - ``maxmemory`` + policy: a full cache evicts instead of refusing writes.
    """
    logfile = f'"{node.logfile}"' if node.logfile else '""'
    lines = [
        f"bind {' '.join(node.bind)}",
        f"port {node.port}",
        "protected-mode yes",
        "daemonize no",
        "supervised no",
        f'dir "{node.dir}"',
        f"logfile {logfile}",
        'save ""',
        "appendonly no",
        "databases 1",
        "timeout 0",
        f"tcp-keepalive {node.tcp_keepalive}",
        f"maxmemory {node.maxmemory_mb}mb",
        f"maxmemory-policy {node.maxmemory_policy}",
        "lazyfree-lazy-eviction yes",
        "lazyfree-lazy-expire yes",
        "acllog-max-len 128",
        acl_rule("default", node.passwords, DEFAULT_PERMISSIONS),
    ]
    if node.admin_password is not None:
        lines.append(acl_rule(ADMIN_USER, (node.admin_password,), "~* &* +@all"))
    return "\n".join(lines) + "\n"
