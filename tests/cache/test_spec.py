import pytest
from pydantic import ValidationError

from oxswarm.cache.spec import RedisNode, Shard, TwemproxyPool


def test_pool_defaults_are_the_measured_lab_settings() -> None:
    pool = TwemproxyPool(shards=(Shard(name="n1", host="10.0.0.1"),))
    assert (pool.hash, pool.distribution) == ("murmur", "ketama")
    assert (pool.server_failure_limit, pool.server_retry_timeout_ms) == (2, 2000)
    assert pool.auto_eject_hosts and pool.preconnect


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"name": "bad name", "host": "h"}, "name"),
        ({"name": "n1", "host": "h;rm"}, "host"),
        ({"name": "n1", "host": "h", "port": 70000}, "port"),
        ({"name": "n1", "host": "h", "weight": 0}, "weight"),
    ],
)
def test_bad_shard_is_refused_naming_the_field(kwargs: dict[str, object], words: str) -> None:
    with pytest.raises(ValidationError, match=words):
        Shard.model_validate(kwargs)


def test_pool_needs_unique_shard_names_and_addresses() -> None:
    with pytest.raises(ValidationError, match="unique"):
        TwemproxyPool(shards=(Shard(name="a", host="h1"), Shard(name="a", host="h2")))
    with pytest.raises(ValidationError, match="share one host:port"):
        TwemproxyPool(shards=(Shard(name="a", host="h1"), Shard(name="b", host="h1")))
    with pytest.raises(ValidationError, match="shards"):
        TwemproxyPool(shards=())


def test_redis_node_validates_bind_and_paths(tmp_path: object) -> None:
    with pytest.raises(ValidationError, match="not an IP address"):
        RedisNode(bind=("localhost",), dir="/tmp/x")
    with pytest.raises(ValidationError, match="bind"):
        RedisNode(bind=(), dir="/tmp/x")
    with pytest.raises(ValidationError, match="quotes"):
        RedisNode(dir='/tmp/a"b')
