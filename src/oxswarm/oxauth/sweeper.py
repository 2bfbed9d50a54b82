"""Expired refresh grants leave the directory (what Gluu's oxAuth cleanup timer does).

A grant past its absolute lifetime can never be used again (it is refused when read),
but its entry would otherwise stay forever. Every oxAuth process sweeps every
``interval`` seconds, the first time after a random part of it so that the processes of
a cluster do not sweep together (a grant deleted by another process is simply skipped).
A sweep that fails (directory unreachable) is logged and tried again next time.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable

from oxswarm.errors import OxSwarmError

log = logging.getLogger(__name__)

SWEEP_INTERVAL = 3600.0


async def sweep_forever(
    purge: Callable[[], Awaitable[int]],
    interval: float = SWEEP_INTERVAL,
    *,
    jitter: Callable[[], float] = random.random,
) -> None:
    """Call ``purge`` every ``interval`` seconds until cancelled."""
    await asyncio.sleep(interval * jitter())
    while True:
        try:
            removed = await purge()
        except OxSwarmError as exc:
            log.warning("grant sweep failed (next in %.0fs): %s", interval, exc)
        else:
            if removed:
                log.info("grant sweep: %d expired grants removed", removed)
        await asyncio.sleep(interval)
