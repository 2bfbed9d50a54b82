"""Two copies of every cache entry, on two shards, through an unchanged Twemproxy.

Twemproxy shards keys over the nodes' Redis servers without replicas (``docs/cache.md``).
Given the pool's shards (a :class:`~oxswarm.cache.ring.Ring`), the clients keep each
entry under a *primary* key ``<ns>:<kind>:<ident>`` and a *replica* key
``<ns>:<kind>~<n>:<ident>`` (``~`` never occurs in a kind, so no replica key is another
entry's primary), ``n`` the smallest of 1.. whose shard differs from the primary's. Both
are sent in one pipeline (Twemproxy fans it out: one round trip).

Values are wrapped in an *envelope* so two copies can be compared::

    \\x00 <version: 16 digits, microseconds> <flag: v | t> <expiry: 10 digits> <payload>

``t`` is a tombstone. A read takes the newest copy (a raw, unwrapped value counts as
version 0); a tombstone or nothing is ``None``. Rules (DESIGN, see ``docs/cache.md``):

- ``set``: both copies. ``get``: both copies, the newest wins; when they differ the
  newest is written back to the other (read-repair, only if still newer: ``_PUT_NEWER``).
- ``delete`` and ``take``: ``_CLAIM`` on both copies: return the old value and leave a
  tombstone (the entry's own TTL, else ``tombstone_ttl``). ``take`` succeeds only when no
  copy was already a tombstone and one was live: two takers both claim the copy whose
  shard did not move, so the second sees its tombstone (a code is never redeemed twice,
  also when a shard dies, or returns with old data). A race between two takers may make
  both fail: single use fails closed.
- ``add`` (``SET NX``): True only when no copy existed.
- A copy whose shard does not answer is retried alone (the other copy's command is never
  repeated, so a retry cannot turn a ``take`` into a tombstone it then finds); still
  unanswered after the retries it counts as absent, and the operation succeeds on the
  other copy. Both unanswered: :class:`~oxswarm.errors.CacheUnavailable`.
- ``incr_with_ttl``: both counters count, the larger is the count (a lost shard's copy
  restarts at 1 and never lowers the answer).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from oxswarm.cache.ring import Ring

MARK = 0
HEAD = 28  # \x00 + 16 + 1 + 10
MAX_REPLICA_TRIES = 64
REMEMBERED = 8192  # replica keys a client remembers (a session is read at every request)
TOMBSTONE_TTL = 900  # a claimed key that held nothing: its tombstone's seconds

# KEYS[1]; ARGV: tombstone head (\x00 version t), TTL and expiry for an absent key.
# Returns the old value (nil when absent). A live value becomes a tombstone keeping its TTL.
CLAIM_LUA = (
    "local old = redis.call('GET', KEYS[1]) "
    "if not old then "
    "redis.call('SET', KEYS[1], ARGV[1] .. ARGV[3], 'EX', ARGV[2]) return false end "
    "if string.byte(old, 1) == 0 and string.sub(old, 18, 18) == 't' then return old end "
    "local expiry = ARGV[3] "
    "if string.byte(old, 1) == 0 then expiry = string.sub(old, 19, 28) end "
    "redis.call('SET', KEYS[1], ARGV[1] .. expiry, 'KEEPTTL') "
    "return old"
)

# KEYS[1]; ARGV: envelope, TTL. Stores it unless the key holds a version at least as new.
PUT_NEWER_LUA = (
    "local old = redis.call('GET', KEYS[1]) "
    "if old and string.byte(old, 1) == 0 and "
    "string.sub(old, 2, 17) >= string.sub(ARGV[1], 2, 17) then return 0 end "
    "redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2]) return 1"
)


def version() -> int:
    return time.time_ns() // 1000


def wrap(payload: bytes | str, ttl: int, *, tomb: bool = False, now: float | None = None) -> bytes:
    """The envelope of ``payload`` expiring in ``ttl`` seconds."""
    body = payload.encode() if isinstance(payload, str) else payload
    expiry = int((time.time() if now is None else now) + ttl)
    return b"\x00%016d%s%010d" % (version(), b"t" if tomb else b"v", expiry) + body


def tomb_head() -> bytes:
    """What :data:`CLAIM_LUA` prefixes to the expiry to make a tombstone."""
    return b"\x00%016dt" % version()


@dataclass(frozen=True)
class Copy:
    """One copy as read: ``version`` 0 for a raw value; ``value`` None for a tombstone."""

    version: int
    value: bytes | None
    expiry: int | None = None

    @property
    def tomb(self) -> bool:
        return self.value is None


def unwrap(raw: bytes | None) -> Copy | None:
    """The copy ``raw`` holds (``None`` when the key was absent)."""
    if raw is None:
        return None
    if len(raw) >= HEAD and raw[0] == MARK:
        head = raw[:HEAD]
        tomb = head[17:18] == b"t"
        return Copy(int(head[1:17]), None if tomb else raw[HEAD:], int(head[18:28]))
    return Copy(0, raw)


def payload(raw: bytes | None) -> bytes | None:
    """The value in ``raw`` for a reader of one copy (an unreplicated client)."""
    copy = unwrap(raw)
    return None if copy is None else copy.value


def newest(a: Copy | None, b: Copy | None) -> Copy | None:
    if a is None:
        return b
    if b is None:
        return a
    if (a.version == b.version == 0 and a.value is not None and b.value is not None
            and a.value.isdigit() and b.value.isdigit()):  # two counters: the larger
        return a if int(a.value) >= int(b.value) else b
    return a if a.version >= b.version else b


def choose(primary: bytes | None, replica: bytes | None) -> tuple[bytes | None, list[int]]:
    """What a read returns, and the copies (0 primary, 1 replica) to overwrite with the
    newest (read-repair): absent or older ones, unless the newest is a tombstone and the
    other copy is absent (nothing there to hide)."""
    copies = (unwrap(primary), unwrap(replica))
    best = newest(*copies)
    if best is None:
        return None, []
    stale = []
    if best.version > 0:
        for index, copy in enumerate(copies):
            if copy is None:
                if not best.tomb:
                    stale.append(index)
            elif copy.version < best.version:
                stale.append(index)
    return best.value, stale


def repair_ttl(raw: bytes, now: float | None = None) -> int | None:
    """Seconds left for the envelope ``raw``, ``None`` when expired (nothing to repair)."""
    copy = unwrap(raw)
    if copy is None or copy.expiry is None:
        return None
    left = copy.expiry - int(time.time() if now is None else now)
    return left if left > 0 else None


def taken(primary: bytes | None, replica: bytes | None) -> bytes | None:
    """The value a ``take`` gets from the two claims' old values, or ``None``."""
    a, b = unwrap(primary), unwrap(replica)
    if (a is not None and a.tomb) or (b is not None and b.tomb):
        return None
    best = newest(a, b)
    return None if best is None else best.value


Command = tuple[object, ...]


class Failed:
    """A command of a pipeline whose shard did not answer (after the client's retries)."""

    def __repr__(self) -> str:
        return "FAILED"


FAILED = Failed()


def settle(results: list[Any], todo: list[int], answers: list[Any],
           down: Callable[[Any], bool]) -> list[int]:
    """Store the ``answers`` to the commands ``todo`` in ``results``; the indexes whose
    shard was down (``down(answer)``), to try again."""
    again = []
    for index, answer in zip(todo, answers, strict=True):
        if isinstance(answer, Exception) and down(answer):
            again.append(index)
        else:
            results[index] = answer
    return again


def answered(results: list[Any]) -> list[Any]:
    """``results`` with a copy that did not answer read as absent."""
    return [None if r is FAILED else r for r in results]


@dataclass(frozen=True)
class Pair:
    """The two keys of one entry and the commands the clients pipeline over them."""

    primary: str
    replica: str
    tombstone_ttl: int

    def get(self) -> list[Command]:
        return [("GET", self.primary), ("GET", self.replica)]

    def set(self, value: bytes | str, ttl: int) -> list[Command]:
        envelope = wrap(value, ttl)
        return [("SET", k, envelope, "EX", ttl) for k in (self.primary, self.replica)]

    def add(self, value: bytes | str, ttl: int) -> list[Command]:
        envelope = wrap(value, ttl)
        return [("SET", k, envelope, "NX", "EX", ttl) for k in (self.primary, self.replica)]

    def claim(self) -> list[Command]:
        """Old value and a tombstone, for ``take`` and ``delete``."""
        head, ttl = tomb_head(), self.tombstone_ttl
        expiry = b"%010d" % int(time.time() + ttl)
        return [("EVAL", CLAIM_LUA, 1, k, head, ttl, expiry) for k in (self.primary, self.replica)]

    def incr(self, script: str, ttl: int) -> list[Command]:
        return [("EVAL", script, 1, k, ttl) for k in (self.primary, self.replica)]

    def repair(self, results: list[bytes | None], stale: list[int]) -> list[Command]:
        """``PUT_NEWER`` of the newest copy onto the ``stale`` ones (read-repair)."""
        best = results[1] if 0 in stale else results[0]
        left = None if best is None else repair_ttl(best)
        if left is None:
            return []
        keys = (self.primary, self.replica)
        return [("EVAL", PUT_NEWER_LUA, 1, keys[i], best, left) for i in stale]


def replica_key(ring: Ring, namespace: str, kind: str, ident: str) -> str | None:
    """A replica key for ``<namespace>:<kind>:<ident>`` on another shard (None: one shard)."""
    if len(ring.names) < 2:
        return None
    home = ring.shard(f"{namespace}:{kind}:{ident}")
    for n in range(1, MAX_REPLICA_TRIES + 1):
        key = f"{namespace}:{kind}~{n}:{ident}"
        if ring.shard(key) != home:
            return key
    return None  # pragma: no cover (2**-64 with two equal shards)


def deleted(results: list[bytes | None]) -> bool:
    """Whether a ``delete``'s claims removed a live value."""
    return any(c is not None and not c.tomb for c in map(unwrap, results))
