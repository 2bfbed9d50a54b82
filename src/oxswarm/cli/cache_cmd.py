"""``oxswarm cache rotate-password``: a new cache password, with no failed request.

The store drives it (:mod:`oxswarm.cache.rotation`): shards accept old and new, proxies
roll to the new one, shards drop the old one; running roles and oxAuth follow the store.
The new password is drawn here and written only to the store (encrypted), never printed.
``--finish`` completes a rotation that was interrupted (phase 3 alone).
"""

from __future__ import annotations

import click

from oxswarm.cache.rotation import SETTLE_SECONDS, finish, rotate
from oxswarm.cli.options import open_manager, store_options
from oxswarm.settings import Settings


@click.group("cache")
def cache_group() -> None:
    """The cache (Redis + Twemproxy)."""


@cache_group.command("rotate-password")
@store_options
@click.option("--settle", default=SETTLE_SECONDS, show_default=True,
              type=click.FloatRange(0, 600),
              help="Seconds to wait between phases, for every role to follow the store.")
@click.option("--finish", "finish_only", is_flag=True,
              help="Only drop the old password (completes an interrupted rotation).")
def rotate_password(settings: Settings, settle: float, finish_only: bool) -> None:
    """Rotate the cache's password (Redis ACL and Twemproxy redis_auth) without downtime."""
    with open_manager(settings) as manager:
        if finish_only:
            finish(manager)
            click.echo("finished: only redis_pw is accepted")
            return
        rotate(manager, settle=settle, progress=lambda line: click.echo(line, err=True))
    click.echo("rotated: the new password is the store's redis_pw")
