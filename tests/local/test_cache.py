from pathlib import Path

import pytest

from oxswarm.cache.client import Cache
from oxswarm.local.cache import LocalCacheCluster


@pytest.mark.integration
def test_cluster_starts_serves_and_stops_everything(tmp_path: Path) -> None:
    with LocalCacheCluster(tmp_path, shards=2) as cluster:
        assert [r.name for r in cluster.redis] == ["r1", "r2"]
        assert [s.name for s in cluster.pool.shards] == ["r1", "r2"]
        with Cache(cluster.host, cluster.port, "lc", password=cluster.password) as cache:
            cache.set("k", "1", "v", 10)
            assert cache.get("k", "1") == b"v"
        daemons = [cluster.twemproxy.daemon, *(r.daemon for r in cluster.redis)]
        assert all(d.running() for d in daemons)
    assert not any(d.running() for d in daemons)
