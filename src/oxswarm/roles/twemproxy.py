"""``oxswarm run twemproxy``: the cache's proxy on every node, over every Redis shard.

``OXS_REDIS_SHARDS`` = ``manager=redis-manager,...`` (shard name = node name, so ketama
keeps a shard's keys when its task moves). Nutcracker resolves server names once, at
start: the role re-resolves every few seconds and restarts it when a shard's address
changed (a rescheduled task), so the proxy never points at a dead address for long.

``redis_auth`` is the store's ``redis_pw`` (Twemproxy sends it to every shard and demands
it from every client); the role polls it too and restarts nutcracker when it changes (a
password rotation, :mod:`oxswarm.cache.rotation`). The config file is 0600.
"""

from __future__ import annotations

import logging
from pathlib import Path

import click
from pydantic import SecretStr

from oxswarm.cache.render import render_twemproxy
from oxswarm.cache.rotation import POLL_SECONDS, proxy_password
from oxswarm.cache.spec import Shard, TwemproxyPool
from oxswarm.config import keys as K
from oxswarm.errors import OxSwarmError
from oxswarm.roles.env import csv
from oxswarm.roles.redis import write_private
from oxswarm.roles.run import ALL_INTERFACES, Child, setup_logging
from oxswarm.roles.store import open_manager
from oxswarm.roles.wait import resolve, wait_dns, wait_for

log = logging.getLogger("oxswarm.roles")
CONF = Path("/run/oxswarm/nutcracker.yml")
PORT = 22121
STATS_PORT = 22222
CHECK_EVERY = POLL_SECONDS


def shards_from(entries: list[str]) -> list[tuple[str, str]]:
    pairs = []
    for entry in entries:
        name, _, host = entry.partition("=")
        pairs.append((name, host or name))
    return pairs


def render(shards: list[tuple[str, str]], addresses: dict[str, str], password: str) -> str:
    pool = TwemproxyPool(
        listen_host=ALL_INTERFACES,
        listen_port=PORT,
        shards=tuple(Shard(name=n, host=addresses.get(h, h)) for n, h in shards),
        redis_auth=SecretStr(password),
    )
    return render_twemproxy(pool)


@click.command("twemproxy")
def command() -> None:
    """Twemproxy (nutcracker) over all Redis shards."""
    setup_logging("twemproxy")
    shards = shards_from(csv("OXS_REDIS_SHARDS"))
    store, manager = open_manager()
    password = wait_for("secret redis_pw in the store",
                        lambda: manager.get_secret(K.REDIS_PW), timeout=600.0, interval=2.0)
    wait_dns([h for _, h in shards], timeout=120)
    current = {h: (resolve(h) or [h])[0] for _, h in shards}
    write_private(CONF, render(shards, current, password))
    # -o: Debian's nutcracker logs to /var/log/nutcracker by default (root's); the
    # container's stderr instead
    child = Child(["nutcracker", "-c", str(CONF), "-s", str(STATS_PORT), "-o", "/dev/stderr"])
    child.start()
    while not child.stop.is_set():
        child.stop.wait(CHECK_EVERY)
        if not child.alive():
            if child.stop.is_set():
                break
            log.warning("nutcracker exited; restarting")
            child.start()
        latest = {h: (resolve(h) or [current[h]])[0] for _, h in shards}
        try:
            latest_password = proxy_password(manager.get_secret)
        except OxSwarmError as exc:
            log.warning("cannot read the cache password: %s", exc)
            latest_password = password
        if latest != current or latest_password != password:
            if latest != current:
                log.info("shard addresses changed %s -> %s; restarting", current, latest)
            if latest_password != password:
                log.info("the cache password changed; restarting")
            current, password = latest, latest_password
            write_private(CONF, render(shards, current, password))
            child.restart()
    store.close()
    raise SystemExit(child.exit_code())
