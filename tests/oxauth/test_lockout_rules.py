"""The lockout's rules on in-memory counters (the shared cache's behaviour is covered by
the integration tests in tests/oxauth/web/test_login.py)."""

from __future__ import annotations

import asyncio

import pytest

from oxswarm.oauth.models import User
from oxswarm.oauth.rfc6749.grants.password import SignInLocked
from oxswarm.oxauth.web.lockout import (
    ADDRESS_KIND,
    NAME_KIND,
    USER_KIND,
    Lockout,
    LockoutPolicy,
    address_delay,
    ident,
)

POLICY = LockoutPolicy(max_user_failures=3, max_address_failures=4, window=60,
                       address_delay_ms=1000)


class MemoryCounters:
    def __init__(self) -> None:
        self.values: dict[tuple[str, str], int] = {}

    async def incr(self, kind: str, key: str, ttl: int) -> int:
        self.values[(kind, key)] = self.values.get((kind, key), 0) + 1
        return self.values[(kind, key)]

    async def get(self, kind: str, key: str) -> int:
        return self.values.get((kind, key), 0)

    async def reset(self, kind: str, key: str) -> None:
        self.values.pop((kind, key), None)


class Users:
    def __init__(self) -> None:
        self.checked = 0

    async def get(self, sub: str) -> User | None:
        return None

    async def find(self, username: str) -> User | None:
        return User(sub="inum-alice", username="alice") if username == "alice" else None

    async def authenticate(self, username: str, password: str) -> User | None:
        self.checked += 1
        if username == "alice" and password == "right":
            return User(sub="inum-alice", username="alice")
        return None


@pytest.mark.parametrize(
    ("failures", "seconds"),
    [(0, 0.0), (3, 0.0), (4, 0.1), (5, 0.2), (6, 0.4), (7, 0.8), (8, 1.0), (60, 1.0)],
)
def test_address_delay_doubles_to_its_cap(failures: int, seconds: float) -> None:
    assert address_delay(failures, POLICY) == seconds


def test_no_delay_when_the_cap_is_zero() -> None:
    assert address_delay(99, LockoutPolicy(address_delay_ms=0)) == 0.0


def test_user_counted_by_inum_names_by_hash_and_never_mixed() -> None:
    counters, users = MemoryCounters(), Users()
    lockout = Lockout(counters, POLICY)

    async def run() -> None:
        for _ in range(3):
            assert await lockout.authenticate(users, "mallory", "x", "198.51.100.1") is None
        with pytest.raises(SignInLocked):
            await lockout.authenticate(users, "mallory", "x", "198.51.100.1")
        assert await lockout.authenticate(users, "alice", "right", "198.51.100.1") is not None

    asyncio.run(run())
    assert counters.values[(NAME_KIND, ident("mallory"))] == 4
    assert (USER_KIND, "inum-alice") not in counters.values  # reset by the success
    assert counters.values[(ADDRESS_KIND, ident("198.51.100.1"))] == 3
    assert users.checked == 4  # the locked attempt checked no password


def test_parallel_attempts_check_at_most_the_limit() -> None:
    counters, users = MemoryCounters(), Users()
    lockout = Lockout(counters, LockoutPolicy(3, 1000, 60, 0))

    async def one() -> str:
        try:
            await lockout.authenticate(users, "alice", "wrong", "198.51.100.2")
        except SignInLocked:
            return "locked"
        return "wrong"

    async def run() -> list[str]:
        return list(await asyncio.gather(*(one() for _ in range(20))))

    assert sorted(asyncio.run(run())) == ["locked"] * 17 + ["wrong"] * 3
    assert users.checked == 3


class FindingUsers(Users):
    """A store that names its users (the directory's): ``check`` trusts what ``find`` read."""

    def __init__(self) -> None:
        super().__init__()
        self.found = 0
        self.by_name = 0

    async def find(self, username: str) -> User | None:
        self.found += 1
        active = username != "disabled"
        return User(sub=f"inum-{username}", username=username, active=active) \
            if username in ("alice", "disabled") else None

    async def check(self, user: User | None, password: str) -> User | None:
        self.checked += 1
        if user is None or not user.active or password != "right":
            return None
        return user

    async def authenticate(self, username: str, password: str) -> User | None:
        self.by_name += 1  # a second look-up by name: what check saves
        return await super().authenticate(username, password)


def test_one_lookup_per_attempt_and_the_found_user_is_checked() -> None:
    counters, users = MemoryCounters(), FindingUsers()
    lockout = Lockout(counters, POLICY)

    async def run() -> None:
        user = await lockout.authenticate(users, "alice", "right", "198.51.100.3")
        assert user is not None and user.sub == "inum-alice"
        assert await lockout.authenticate(users, "alice", "wrong", "198.51.100.3") is None
        assert await lockout.authenticate(users, "disabled", "right", "198.51.100.3") is None
        assert await lockout.authenticate(users, "nobody", "right", "198.51.100.3") is None

    asyncio.run(run())
    assert (users.found, users.checked, users.by_name) == (4, 4, 0)
    assert counters.values[(USER_KIND, "inum-disabled")] == 1  # counted by inum, not name
