"""Which Redis shard Twemproxy sends a key to: its hashes and distributions, in Python.

The cache client keeps a second copy of every entry on another shard (see
:mod:`oxswarm.cache.replica`); to pick a replica key whose shard differs from the
primary's it computes what Twemproxy computes, from the same pool the roles render
(:class:`oxswarm.cache.spec.TwemproxyPool`: shard names, weights, ``hash``,
``distribution``). As twemproxy 0.5 ``src/hashkit/`` does: ``nc_murmur.c`` (through
the ``murmurhash2`` package), ``nc_md5.c`` (``hash_md5``), ``nc_crc32.c`` (``crc32a``),
``nc_fnv.c`` (``fnv1a_64``),
``nc_ketama.c`` (160 points per shard, four per MD5 of ``"<name>-<i>"``, float32
arithmetic as in C) and ``nc_modula.c``. Checked against a real nutcracker by
``tests/cache/test_replica.py::test_ring_matches_twemproxy``.
"""

from __future__ import annotations

import bisect
import hashlib
import struct
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from murmurhash2 import murmurhash2

if TYPE_CHECKING:
    from oxswarm.cache.spec import TwemproxyPool

_M32 = 0xFFFFFFFF
POINTS_PER_SERVER = 160


def murmur(key: bytes) -> int:
    """twemproxy ``hash_murmur``: MurmurHash2 with the seed ``0xdeadbeef * len`` (the
    ``murmurhash2`` package's C code: 0.2 us a key, the Python port it replaced 4 us,
    and a replicated write hashes some 2.5 keys, docs/performance.md)."""
    return int(murmurhash2(key, (0xDEADBEEF * len(key)) & _M32))


def md5(key: bytes) -> int:
    return int.from_bytes(hashlib.md5(key, usedforsecurity=False).digest()[:4], "little")


def crc32a(key: bytes) -> int:
    return zlib.crc32(key) & _M32


def fnv1a_64(key: bytes) -> int:
    """twemproxy ``hash_fnv1a_64``: the 64-bit constants truncated to 32 bits."""
    h = 0xCBF29CE484222325 & _M32
    for byte in key:
        h = ((h ^ byte) * (0x100000001B3 & _M32)) & _M32
    return h


HASHES: dict[str, Callable[[bytes], int]] = {
    "murmur": murmur, "md5": md5, "crc32a": crc32a, "fnv1a_64": fnv1a_64,
}


def _f32(value: float) -> float:
    return float(struct.unpack("f", struct.pack("f", value))[0])


def _ketama_points(names: Sequence[str], weights: Sequence[int]) -> list[tuple[int, int]]:
    total = sum(weights)
    points: list[tuple[int, int]] = []
    for index, (name, weight) in enumerate(zip(names, weights, strict=True)):
        pct = _f32(weight / total)
        share = _f32(_f32(_f32(pct * POINTS_PER_SERVER) / 4) * len(names))
        per_server = int(_f32(share + 1e-10) // 1) * 4
        for i in range(per_server // 4):
            digest = hashlib.md5(f"{name}-{i}".encode(), usedforsecurity=False).digest()
            for x in range(4):
                points.append((int.from_bytes(digest[4 * x:4 * x + 4], "little"), index))
    points.sort()
    return points


@dataclass(frozen=True)
class Ring:
    """The shards of one Twemproxy pool, in its order, as Twemproxy places keys on them."""

    names: tuple[str, ...]
    weights: tuple[int, ...] = ()
    hash: str = "murmur"
    distribution: str = "ketama"
    _values: list[int] = field(default_factory=list, init=False, repr=False, compare=False)
    _owners: list[int] = field(default_factory=list, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.names:
            raise ValueError("a ring needs at least one shard")
        if not self.weights:
            object.__setattr__(self, "weights", (1,) * len(self.names))
        if len(self.weights) != len(self.names):
            raise ValueError("one weight per shard")
        if self.hash not in HASHES:
            raise ValueError(f"hash {self.hash!r}: one of {sorted(HASHES)}")
        if self.distribution == "ketama":
            points = _ketama_points(self.names, self.weights)
            self._values.extend(v for v, _ in points)
            self._owners.extend(i for _, i in points)
        elif self.distribution == "modula":
            for index, weight in enumerate(self.weights):
                self._owners.extend([index] * weight)
        else:
            raise ValueError(f"distribution {self.distribution!r}: ketama or modula")

    @classmethod
    def parse(cls, text: str, hash: str = "murmur", distribution: str = "ketama") -> Ring:
        """``name[=host][,name...]`` (``OXS_REDIS_SHARDS``'s form; hosts are ignored)."""
        names = tuple(p.partition("=")[0].strip() for p in text.split(",") if p.strip())
        return cls(names, hash=hash, distribution=distribution)

    @classmethod
    def of(cls, pool: TwemproxyPool) -> Ring:
        """The ring of a pool we render (its shards' names and weights, hash, distribution)."""
        return cls(tuple(s.name for s in pool.shards), tuple(s.weight for s in pool.shards),
                   hash=pool.hash, distribution=pool.distribution)

    def shard(self, key: str) -> int:
        """The index of the shard Twemproxy sends ``key`` to (no shard ejected)."""
        h = HASHES[self.hash](key.encode())
        if self.distribution == "modula":
            return self._owners[h % len(self._owners)]
        at = bisect.bisect_left(self._values, h)
        return self._owners[at if at < len(self._values) else 0]
