"""Rotating the cache's password without downtime, driven by the config store.

Twemproxy takes one password (``redis_auth``: sent to every shard, demanded from every
client), Redis's ACL ``default`` user takes several. The store holds two secrets:
``redis_pw`` (what the proxies use) and, only during a rotation, ``redis_pw_other``
(also accepted by every shard, also tried by every client). The roles poll the store
every :data:`POLL_SECONDS` and follow:

====== ============================== ================================================
phase  store                          effect
====== ============================== ================================================
1      ``redis_pw_other`` = new       shards accept old and new; clients know both
2      ``redis_pw`` = new, other = old  each proxy restarts with new; a client refused
                                        by it retries at once with its other candidate
3      ``redis_pw_other`` deleted     shards accept only new; clients forget old
====== ============================== ================================================

Between phases :func:`rotate` waits ``settle`` seconds (default: three polls plus a
proxy's restart), so every role has followed before the next step needs it. A role that
was down meanwhile reads the current state when it starts.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from oxswarm.config import keys as K
from oxswarm.config.manager import ConfigManager
from oxswarm.crypto import rand
from oxswarm.errors import InvalidInput, StoreUnavailable

POLL_SECONDS = 3.0
SETTLE_SECONDS = 3 * POLL_SECONDS + 5.0

GetSecret = Callable[[str], str | None]


def accepted(get_secret: GetSecret) -> tuple[str, ...]:
    """What every shard accepts and every client tries, in order: ``redis_pw`` first."""
    values = [get_secret(K.REDIS_PW), get_secret(K.REDIS_PW_OTHER)]
    return tuple(dict.fromkeys(v for v in values if v))


def proxy_password(get_secret: GetSecret) -> str:
    """What Twemproxy uses (``redis_pw``); :class:`StoreUnavailable` before config-init."""
    value = get_secret(K.REDIS_PW)
    if not value:
        raise StoreUnavailable("the config store has no secret redis_pw: run config-init")
    return value


def rotate(
    manager: ConfigManager,
    new: str | None = None,
    *,
    settle: float = SETTLE_SECONDS,
    progress: Callable[[str], None] = lambda _: None,
    sleep: Callable[[float], None] = time.sleep,
) -> str:
    """Run the three phases; returns nothing secret (the new password stays in the store)."""
    old = proxy_password(manager.get_secret)
    if manager.get_secret(K.REDIS_PW_OTHER):
        raise InvalidInput(
            "redis_pw_other: a rotation is already under way (or was interrupted): run "
            "`oxswarm cache rotate-password --finish` to complete it", field="redis_pw_other")
    new = new or rand.token(24)
    manager.set_secret(K.REDIS_PW_OTHER, new)
    progress(f"1/3 shards accept the new password too (waiting {settle:.0f} s)")
    sleep(settle)
    manager.set_secret(K.REDIS_PW, new)
    manager.set_secret(K.REDIS_PW_OTHER, old)
    progress(f"2/3 proxies restart with the new password (waiting {settle:.0f} s)")
    sleep(settle)
    finish(manager)
    progress("3/3 the old password is refused")
    return "rotated"


def finish(manager: ConfigManager) -> None:
    """Phase 3: only ``redis_pw`` is accepted (also completes an interrupted rotation)."""
    manager.store.delete(manager.secret_key(K.REDIS_PW_OTHER))
