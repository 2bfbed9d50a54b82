"""Lockout after repeated failed sign-ins, per user and per client address.

Counters live in the shared cache (:class:`~oxswarm.oxauth.web.stores.Counters`), so every
oxAuth process sees the same count. Each counter is a fixed window: it starts at the first
failure and expires ``window`` seconds later. While a counter is at its threshold, sign-in
is refused without checking the password (no oracle while locked). A successful sign-in
clears the user's counter (not the address's).

Defaults (:class:`LockoutPolicy`): 5 failures per user and 20 per address within 15
minutes; a user or address at the limit waits until its window ends.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Final

from oxswarm.oxauth.web.stores import Counters

USER_KIND: Final = "login-fail-user"
ADDRESS_KIND: Final = "login-fail-addr"


@dataclass(frozen=True, slots=True)
class LockoutPolicy:
    max_user_failures: int = 5
    max_address_failures: int = 20
    window: int = 900


def _ident(value: str) -> str:
    return hashlib.sha256(value.strip().lower().encode()).hexdigest()


class Lockout:
    def __init__(self, counters: Counters, policy: LockoutPolicy) -> None:
        self.counters = counters
        self.policy = policy

    async def locked(self, username: str, address: str) -> bool:
        """True when the user or the address reached its limit in the current window."""
        if await self.counters.get(USER_KIND, _ident(username)) >= self.policy.max_user_failures:
            return True
        count = await self.counters.get(ADDRESS_KIND, _ident(address))
        return count >= self.policy.max_address_failures

    async def failed(self, username: str, address: str) -> None:
        await self.counters.incr(USER_KIND, _ident(username), self.policy.window)
        await self.counters.incr(ADDRESS_KIND, _ident(address), self.policy.window)

    async def succeeded(self, username: str) -> None:
        await self.counters.reset(USER_KIND, _ident(username))
