"""``oxswarm run redis``: one cache shard, its ``redis.conf`` from the cache renderer."""

from __future__ import annotations

from pathlib import Path

import click

from oxswarm.cache.render import render_redis_conf
from oxswarm.cache.spec import RedisNode
from oxswarm.roles.run import ALL_INTERFACES, exec_daemon, setup_logging

DATA_DIR = Path("/var/lib/redis")
CONF = Path("/run/oxswarm/redis.conf")


@click.command("redis")
def command() -> None:
    """One Redis shard of the cache."""
    setup_logging("redis")
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    CONF.parent.mkdir(parents=True, exist_ok=True)
    CONF.write_text(render_redis_conf(RedisNode(bind=(ALL_INTERFACES,), dir=DATA_DIR)))
    exec_daemon(["redis-server", str(CONF)])
