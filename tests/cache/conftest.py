"""Fixtures: a real cache tier (3 Redis shards behind Twemproxy) on free local ports."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from oxswarm.cache.client import Cache
from oxswarm.local.cache import LocalCacheCluster
from oxswarm.local.redis import LocalRedis


def direct(node: LocalRedis) -> redis.Redis[bytes]:
    """A client straight to one shard (not through Twemproxy), to see where keys are:
    as its ``oxadmin`` user (every command, MONITOR and KEYS included)."""
    return node.admin()


def shard_of(cluster: LocalCacheCluster, key: str) -> str:
    """The name of the shard that holds ``key`` (looked up on each shard directly)."""
    holders = []
    for node in cluster.redis:
        client = direct(node)
        try:
            if client.exists(key):
                holders.append(node.name)
        finally:
            client.close()
    assert len(holders) == 1, f"{key} on {holders}"
    return holders[0]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCacheCluster]:
    """Shared by the non-destructive tests of a module."""
    with LocalCacheCluster(tmp_path_factory.mktemp("cache"), shards=3) as running:
        yield running


@pytest.fixture
def fresh_cluster(tmp_path: Path) -> Iterator[LocalCacheCluster]:
    """A cluster of its own, for tests that kill shards."""
    with LocalCacheCluster(tmp_path / "cache", shards=3) as running:
        yield running


@pytest.fixture
def cache(cluster: LocalCacheCluster, request: pytest.FixtureRequest) -> Iterator[Cache]:
    """A client in a namespace of its own per test."""
    namespace = re.sub(r"[^a-z0-9]+", "-", request.node.name.lower())[:40].strip("-")
    client = Cache(cluster.host, cluster.port, namespace=namespace, password=cluster.password)
    yield client
    client.close()
