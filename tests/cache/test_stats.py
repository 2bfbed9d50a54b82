import pytest

from oxswarm.cache.stats import ejected_shards, pool_stats
from oxswarm.errors import CacheUnavailable

STATS = {
    "service": "nutcracker",
    "oxswarm": {
        "client_err": 0,
        "r1": {"server_ejected_at": 0, "requests": 3},
        "r2": {"server_ejected_at": 1700000000000000, "requests": 1},
    },
}


def test_ejected_shards() -> None:
    assert ejected_shards(STATS, "oxswarm") == {"r2"}


def test_unknown_pool_is_an_error() -> None:
    with pytest.raises(CacheUnavailable, match="no pool 'gluu'"):
        pool_stats(STATS, "gluu")
