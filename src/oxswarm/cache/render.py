"""Pure rendering of the cache tier's configuration files: spec in, text out.

- ``nutcracker.yml``: one Twemproxy pool (twemproxy ``README.md`` "Configuration").
  Every server line carries a name (``host:port:weight name``): with ``ketama``,
  twemproxy hashes the *name* onto the continuum, so a shard keeps its keys when its
  address changes.
- ``redis.conf``: one Redis shard, no persistence (a pure cache: every key has a TTL),
  a memory cap with an eviction policy, and ``protected-mode`` decided from ``bind``.
"""

from __future__ import annotations

from oxswarm.cache.spec import RedisNode, TwemproxyPool


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
        "  servers:",
    ]
    lines += [f"   - {s.host}:{s.port}:{s.weight} {s.name}" for s in pool.shards]
    return "\n".join(lines) + "\n"


def render_redis_conf(node: RedisNode) -> str:
    """The ``redis.conf`` text for one shard.

    - ``save ""`` and ``appendonly no``: nothing is written to disk; a restarted shard
      is empty, which Twemproxy and the services must (and do) tolerate.
    - ``protected-mode yes`` when bound to loopback only; ``no`` when it listens on a
      network address, because Twemproxy on other nodes must reach it without a
      password: that address must be on the private overlay network only, never
      published (see ``docs/cache.md``).
    - ``timeout 0``: Twemproxy keeps long-lived server connections; never close them.
    - ``maxmemory`` + policy: a full cache evicts instead of refusing writes.
    """
    protected = "yes" if node.loopback_only else "no"
    logfile = f'"{node.logfile}"' if node.logfile else '""'
    lines = [
        f"bind {' '.join(node.bind)}",
        f"port {node.port}",
        f"protected-mode {protected}",
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
    ]
    return "\n".join(lines) + "\n"
