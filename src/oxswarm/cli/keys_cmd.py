"""``oxswarm keys``: the OpenID Provider's signing keys in the config store.

``oxswarm keys rotate [--propagation-delay S] [--max-token-lifetime S]`` adds a new key
per algorithm, published at once but signing only after the delay, and retires old keys
once everything they signed has expired (the rule: :mod:`oxswarm.oxauth.rotation`).
``oxswarm keys list`` shows each key's kid, algorithm, use, not-before and expiry.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime

import click

from oxswarm.cli.options import open_manager, store_options
from oxswarm.config import keys as K
from oxswarm.errors import NotFound
from oxswarm.oxauth.rotation import DEFAULT_PROPAGATION, current_signers, rotate_stored
from oxswarm.settings import Settings


def _when(stamp: float) -> str:
    return datetime.fromtimestamp(stamp, UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if stamp else "-"


@click.group("keys")
def keys_group() -> None:
    """The OpenID Provider's signing keys."""


@keys_group.command("rotate")
@store_options
@click.option(
    "--propagation-delay",
    default=DEFAULT_PROPAGATION,
    show_default=True,
    type=click.IntRange(0, 86400),
    help="Seconds a new key is published before it signs.",
)
@click.option(
    "--max-token-lifetime",
    default=3600,
    show_default=True,
    type=click.IntRange(1, 86400 * 30),
    help="Longest lifetime of a signed token (old keys stay this long after the switch).",
)
def rotate_cmd(settings: Settings, propagation_delay: int, max_token_lifetime: int) -> None:
    """Add new keys and retire expired ones; running oxAuth processes follow by watch."""
    with open_manager(settings) as manager:
        now = time.time()
        rotated = rotate_stored(
            manager, now=now, propagation=propagation_delay, max_token_lifetime=max_token_lifetime
        )
    added = [k for k in rotated["keys"] if float(k.get("nbf", 0)) > now]
    click.echo(
        json.dumps(
            {
                "added": [k["kid"] for k in added],
                "signing_from": _when(now + propagation_delay),
                "keys": len(rotated["keys"]),
            }
        )
    )


@keys_group.command("list")
@store_options
def list_cmd(settings: Settings) -> None:
    """One line per key: kid, alg, use, not-before, expiry, and whether it signs now."""
    with open_manager(settings) as manager:
        text = manager.get_secret(K.OXAUTH_JWKS)
    if text is None:
        raise NotFound("no signing keys in the store: run config-init first")
    jwks = json.loads(text)
    signers = set(current_signers(jwks, time.time()).values())
    for key in jwks.get("keys", []):
        mark = "signing" if key.get("kid") in signers else ""
        click.echo(
            f"{key.get('kid')}\t{key.get('alg')}\t{key.get('use')}\t"
            f"{_when(float(key.get('nbf', 0)))}\t{_when(float(key.get('exp', 0)))}\t{mark}"
        )
