"""Pure parts of the second copy: Twemproxy's hashes and ring, envelopes, the read and
take rules (oxswarm.cache.ring, oxswarm.cache.replica)."""

from __future__ import annotations

import pytest

from oxswarm.cache import replica
from oxswarm.cache.ring import Ring, crc32a, fnv1a_64, md5, murmur


def test_hashes_match_twemproxy_reference_values() -> None:
    # MurmurHash2 with twemproxy's seed (0xdeadbeef * len), computed by hand from the C
    assert murmur(b"") == 0
    assert murmur(b"a") != murmur(b"b")
    # the values of the Python port this replaced (itself checked against nutcracker),
    # every tail length (0-3 bytes past the last word) and a key of each kind
    assert [murmur(key) for key in (b"a", b"abcd", b"oxsci.oxauth:at:Zm9vYmFy",
                                    b"oxsci.oxauth:at~1:Zm9vYmFy", bytes(range(61)))] == [
        1262581116, 4016735919, 576116725, 4185699345, 681157742]
    assert crc32a(b"123456789") == 0xCBF43926  # the CRC-32 check value
    assert fnv1a_64(b"") == 0x84222325  # FNV-64 offset basis truncated to 32 bits
    assert md5(b"") == 0xD98C1DD4  # md5("") = d41d8cd9..., little-endian first word


def test_ketama_spreads_and_is_stable() -> None:
    ring = Ring(("r1", "r2", "r3"))
    counts = [0, 0, 0]
    for i in range(3000):
        counts[ring.shard(f"ns:code:{i}")] += 1
    assert min(counts) > 800
    # ketama hashes names, not positions: a fourth shard moves only about a quarter
    bigger = Ring(("r1", "r2", "r3", "r4"))
    moved = sum(ring.shard(f"ns:code:{i}") != bigger.shard(f"ns:code:{i}") for i in range(3000))
    assert 400 < moved < 1200


def test_replica_key_is_on_another_shard() -> None:
    ring = Ring(("a", "b", "c"))
    for i in range(500):
        other = replica.replica_key(ring, "ns", "session", f"s{i}")
        assert other is not None and other.startswith("ns:session~")
        assert ring.shard(other) != ring.shard(f"ns:session:s{i}")
    assert replica.replica_key(Ring(("only",)), "ns", "session", "s") is None
    modula = Ring(("a", "b"), distribution="modula")
    assert modula.shard("ns:x:1") in (0, 1)
    with pytest.raises(ValueError, match="distribution"):
        Ring(("a",), distribution="random")


def test_envelope_round_trip() -> None:
    raw = replica.wrap(b"{}", 60, now=1_000_000.0)
    copy = replica.unwrap(raw)
    assert copy is not None and copy.value == b"{}" and copy.expiry == 1_000_060
    assert replica.payload(raw) == b"{}"
    assert replica.payload(b"plain") == b"plain"  # a raw value (a counter, old data)
    assert replica.unwrap(None) is None
    tomb = replica.unwrap(replica.wrap(b"", 60, tomb=True))
    assert tomb is not None and tomb.tomb


def test_newest_copy_wins_and_stale_copies_are_repaired() -> None:
    old = replica.wrap(b"old", 60)
    new = replica.wrap(b"new", 60)
    assert replica.choose(old, new) == (b"new", [0])
    assert replica.choose(new, None) == (b"new", [1])
    assert replica.choose(None, None) == (None, [])
    gone = replica.wrap(b"", 60, tomb=True)
    # a delete is newer than the copy a returning shard brought back: stays deleted
    assert replica.choose(old, gone) == (None, [0])
    assert replica.choose(None, gone) == (None, [])  # nothing to hide: no write
    assert replica.choose(b"3", b"5") == (b"5", [])  # counters: the larger


def test_take_needs_no_tombstone_on_either_copy() -> None:
    live = replica.wrap(b"code", 60)
    tomb = replica.wrap(b"", 60, tomb=True)
    assert replica.taken(live, live) == b"code"
    assert replica.taken(None, live) == b"code"  # the primary's shard was lost
    assert replica.taken(live, tomb) is None  # taken through the other copy before
    assert replica.taken(tomb, None) is None
    assert replica.taken(None, None) is None
    assert replica.deleted([None, live]) and not replica.deleted([tomb, None])


def test_repair_writes_only_newer_and_unexpired() -> None:
    pair = replica.Pair("ns:k:1", "ns:k~1:1", 900)
    new = replica.wrap(b"v", 60)
    (command,) = pair.repair([None, new], [0])
    assert command[0] == "EVAL" and command[3] == "ns:k:1" and command[4] == new
    assert 0 < int(command[5]) <= 60  # type: ignore[call-overload]
    expired = replica.wrap(b"v", 1, now=0.0)
    assert pair.repair([expired, None], [1]) == []


class _Store:
    """The one value ``cache_ring`` reads from the config store."""

    def __init__(self, shards: str | None) -> None:
        self.shards = shards

    def get(self, name: str) -> str | None:
        return self.shards if name == "cache_shards" else None


def test_ring_from_the_store(monkeypatch: pytest.MonkeyPatch) -> None:
    from oxswarm.errors import InvalidInput
    from oxswarm.oxauth.wiring import cache_ring

    ring = cache_ring(_Store('["manager", "worker-1", "worker-2"]'))  # type: ignore[arg-type]
    assert ring is not None and ring.names == ("manager", "worker-1", "worker-2")
    assert (ring.hash, ring.distribution) == ("murmur", "ketama")  # what the roles render
    assert cache_ring(_Store('["manager"]')) is None  # type: ignore[arg-type]
    assert cache_ring(_Store(None)) is None  # type: ignore[arg-type]
    with pytest.raises(InvalidInput, match="cache_shards"):
        cache_ring(_Store('{"a": 1}'))  # type: ignore[arg-type]
    monkeypatch.setenv("OXSWARM_CACHE_REPLICA", "0")
    assert cache_ring(_Store('["a", "b"]')) is None  # type: ignore[arg-type]
