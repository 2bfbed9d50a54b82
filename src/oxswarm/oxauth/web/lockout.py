"""Repeated failed sign-ins: a lockout per user, a slow-down per client address.

One rule for the sign-in form and the password grant (RFC 6749 10.10, OWASP Authentication
Cheat Sheet "Account lockout"), with counters in the shared cache
(:class:`~oxswarm.oxauth.web.stores.Counters`) so every oxAuth process sees the same
count. Each counter is a fixed window that starts at its first increment.

* Per user, keyed by the user's ``inum`` (a name that is no user counts under a hash of
  the name, in a key space of its own: made-up names never lock a real user). Every
  attempt increments first and compares the count it got (atomic: N parallel attempts
  check at most ``max_user_failures`` passwords). Past the limit the attempt is refused
  without checking the password (no oracle while locked) until the window ends; a
  successful sign-in clears the count.
* Per client address: never refused (a NAT, a proxy or loopback in dev is shared by
  everyone, and a correct password of a user who is not locked always signs in). After
  ``max_address_failures`` failures within the window, each attempt from the address
  first waits 100 ms, doubling with each further failure, at most
  ``address_delay_ms``.
* A name that is no user costs what a user costs: its password is checked against a
  dummy hash of the directory's scheme (:mod:`oxswarm.directory.passwords`).
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from oxswarm import metrics
from oxswarm.oauth.interfaces import UserStore
from oxswarm.oauth.models import User
from oxswarm.oauth.rfc6749.grants.password import SignInLocked
from oxswarm.oxauth.web.stores import Counters

USER_KIND: Final = "login-fail-user"  # ident: the user's inum
NAME_KIND: Final = "login-fail-name"  # ident: hash of a name that is no user
ADDRESS_KIND: Final = "login-fail-addr"  # ident: hash of the client address
FIRST_DELAY_MS: Final = 100


@dataclass(frozen=True, slots=True)
class LockoutPolicy:
    max_user_failures: int = 5
    max_address_failures: int = 20
    window: int = 900
    address_delay_ms: int = 3000


def ident(value: str) -> str:
    return hashlib.sha256(value.strip().lower().encode()).hexdigest()


def address_delay(failures: int, policy: LockoutPolicy) -> float:
    """Seconds an attempt waits after ``failures`` failures from its address."""
    over = failures - policy.max_address_failures
    if over < 0 or policy.address_delay_ms <= 0:
        return 0.0
    ms: int = FIRST_DELAY_MS << min(over, 20)
    return min(ms, policy.address_delay_ms) / 1000.0


class Lockout:
    def __init__(self, counters: Counters, policy: LockoutPolicy) -> None:
        self.counters = counters
        self.policy = policy

    async def user_key(self, users: UserStore, username: str) -> tuple[str, str, User | None]:
        """The user's counter: by inum when the store can name the user (its ``find``,
        :class:`~oxswarm.oxauth.adapters.directory.DirectoryUserStore`), else by name;
        and the user found (read now: status and all)."""
        find = getattr(users, "find", None)
        found: User | None = await find(username) if find is not None else None
        if found is not None:
            return USER_KIND, found.sub, found
        return NAME_KIND, ident(username), None

    async def slow_down(self, address: str) -> float:
        """Wait as the address's failures ask; the seconds waited."""
        delay = address_delay(await self.counters.get(ADDRESS_KIND, ident(address)), self.policy)
        if delay:
            await asyncio.sleep(delay)
        return delay

    async def authenticate(
        self, users: UserStore, username: str, password: str, address: str
    ) -> User | None:
        """The user when the password is right, None when wrong (counted);
        :class:`SignInLocked` when the user (or name) is over its limit."""
        await self.slow_down(address)
        kind, key, found = await self.user_key(users, username)
        count = await self.counters.incr(kind, key, self.policy.window)
        if count > self.policy.max_user_failures:
            metrics.signin("locked")
            raise SignInLocked("too many failed sign-in attempts: wait, then try again")
        check = getattr(users, "check", None)  # the user just found: no second search
        user: User | None = (await check(found, password) if check is not None
                             else await users.authenticate(username, password))
        if user is None or not user.active:
            # one result for a wrong password, a disabled user and a name that is no
            # user: the metrics tell no more than the page (oxswarm.metrics)
            metrics.signin("bad_credentials")
            await self.counters.incr(ADDRESS_KIND, ident(address), self.policy.window)
            return None
        metrics.signin("success")
        await self.counters.reset(kind, key)
        return user


@dataclass(frozen=True, slots=True)
class BoundLockout:
    """:class:`~oxswarm.oauth.rfc6749.grants.password.SignInGuard` of the password grant:
    the lockout with the process's user store."""

    lockout: Callable[[], Lockout]  # the current policy's (it changes live)
    users: UserStore

    async def authenticate(self, username: str, password: str, address: str) -> User | None:
        return await self.lockout().authenticate(self.users, username, password, address)
