"""``oxswarm run redis``: one cache shard, its ``redis.conf`` from the cache renderer.

The ``default`` user's passwords come from the store (:func:`oxswarm.cache.rotation.accepted`):
``redis_pw``, and ``redis_pw_other`` while the password rotates. The role supervises
redis-server and polls the store every few seconds; when the passwords change it applies
them live (``ACL SETUSER default resetpass >...`` as its own ``oxadmin`` user, whose
password it draws at each start, over loopback) and rewrites the config. The config file
is 0600; no password is ever on a command line.

Refusals: every poll it reads Redis's ACL log (refused AUTH, denied commands), logs each
entry with the client's address, the user name and the reason, never a password, and
resets it.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import click
import redis
from pydantic import SecretStr

from oxswarm.cache.client import handshake_free
from oxswarm.cache.render import render_redis_conf
from oxswarm.cache.rotation import POLL_SECONDS, accepted
from oxswarm.cache.spec import ADMIN_USER, RedisNode
from oxswarm.crypto import rand
from oxswarm.errors import OxSwarmError
from oxswarm.roles.run import ALL_INTERFACES, Child, setup_logging
from oxswarm.roles.store import open_manager
from oxswarm.roles.wait import wait_for

log = logging.getLogger("oxswarm.roles")
DATA_DIR = Path("/var/lib/redis")
CONF = Path("/run/oxswarm/redis.conf")
PORT = 6379


def write_private(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(text)


def node_for(passwords: tuple[str, ...], admin: str) -> RedisNode:
    return RedisNode(bind=(ALL_INTERFACES,), port=PORT, dir=DATA_DIR,
                     passwords=tuple(SecretStr(p) for p in passwords),
                     admin_password=SecretStr(admin))  # fmt: skip


def admin_client(admin: str, port: int = PORT) -> redis.Redis[bytes]:
    """This shard as ``oxadmin`` over loopback (close its pool when done)."""
    pool = redis.ConnectionPool(host="127.0.0.1", port=port, username=ADMIN_USER,
                                password=admin, protocol=2, socket_timeout=2,
                                **handshake_free())  # fmt: skip
    return redis.Redis(connection_pool=pool)


def apply_passwords(client: redis.Redis[bytes], passwords: tuple[str, ...]) -> None:
    """Set the ``default`` user's passwords on the running server."""
    client.execute_command("ACL", "SETUSER", "default", "resetpass",
                           *(f">{p}" for p in passwords))


def refusals(client: redis.Redis[bytes]) -> list[str]:
    """The ACL log's entries as log lines (client address, user, reason), then reset it.

    An entry is a refused AUTH (``reason auth``) or a denied command or key; the log
    holds no password."""
    lines = []
    for entry in reversed(client.acl_log(count=128)):
        info = entry.get("client-info") or {}
        lines.append(f"cache refused a client: reason={entry.get('reason')} "
                     f"object={entry.get('object')} user={entry.get('username')} "
                     f"from={info.get('addr', '?')} times={entry.get('count')}")
    if lines:
        client.acl_log_reset()
    return lines


@click.command("redis")
def command() -> None:
    """One Redis shard of the cache."""
    setup_logging("redis")
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    store, manager = open_manager()
    current = wait_for("secret redis_pw in the store", lambda: accepted(manager.get_secret) or None,
                       timeout=600.0, interval=2.0)
    admin = rand.token(24)
    write_private(CONF, render_redis_conf(node_for(current, admin)))
    child = Child(["redis-server", str(CONF)])
    child.start()
    client = admin_client(admin)
    while not child.stop.is_set():
        child.stop.wait(POLL_SECONDS)
        if child.stop.is_set():
            break
        if not child.alive():
            log.warning("redis-server exited; restarting")
            child.start()
            continue
        try:
            for line in refusals(client):
                log.warning("%s", line)
            latest = accepted(manager.get_secret)
            if latest and latest != current:
                apply_passwords(client, latest)
                write_private(CONF, render_redis_conf(node_for(latest, admin)))
                log.info("cache passwords changed: %d accepted now", len(latest))
                current = latest
        except (OxSwarmError, redis.RedisError) as exc:
            log.warning("cannot follow the cache password: %s", exc)
    store.close()
    client.connection_pool.disconnect()
    raise SystemExit(child.exit_code())
