"""``oxswarm run twemproxy``: the cache's proxy on every node, over every Redis shard.

``OXS_REDIS_SHARDS`` = ``manager=redis-manager,...`` (shard name = node name, so ketama
keeps a shard's keys when its task moves). Nutcracker resolves server names once, at
start: the role re-resolves every few seconds and restarts it when a shard's address
changed (a rescheduled task), so the proxy never points at a dead address for long.
"""

from __future__ import annotations

import logging
from pathlib import Path

import click

from oxswarm.cache.render import render_twemproxy
from oxswarm.cache.spec import Shard, TwemproxyPool
from oxswarm.roles.env import csv
from oxswarm.roles.run import ALL_INTERFACES, Child, setup_logging
from oxswarm.roles.wait import resolve, wait_dns

log = logging.getLogger("oxswarm.roles")
CONF = Path("/run/oxswarm/nutcracker.yml")
PORT = 22121
STATS_PORT = 22222
CHECK_EVERY = 3.0


def shards_from(entries: list[str]) -> list[tuple[str, str]]:
    pairs = []
    for entry in entries:
        name, _, host = entry.partition("=")
        pairs.append((name, host or name))
    return pairs


def render(shards: list[tuple[str, str]], addresses: dict[str, str]) -> str:
    pool = TwemproxyPool(
        listen_host=ALL_INTERFACES,
        listen_port=PORT,
        shards=tuple(Shard(name=n, host=addresses.get(h, h)) for n, h in shards),
    )
    return render_twemproxy(pool)


@click.command("twemproxy")
def command() -> None:
    """Twemproxy (nutcracker) over all Redis shards."""
    setup_logging("twemproxy")
    shards = shards_from(csv("OXS_REDIS_SHARDS"))
    wait_dns([h for _, h in shards], timeout=120)
    current = {h: (resolve(h) or [h])[0] for _, h in shards}
    CONF.parent.mkdir(parents=True, exist_ok=True)
    CONF.write_text(render(shards, current))
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
        if latest != current:
            log.info("shard addresses changed %s -> %s; restarting", current, latest)
            current = latest
            CONF.write_text(render(shards, current))
            child.restart()
    raise SystemExit(child.exit_code())
