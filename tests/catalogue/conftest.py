"""Fixtures for the catalogue tests: a real etcd, real HTTP backends on loopback ports."""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import pytest

from oxswarm.config.etcd import EtcdStore
from oxswarm.local.backend import EchoBackend
from oxswarm.local.etcd import EtcdCluster, start_etcd_cluster


@pytest.fixture(scope="session")
def etcd_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EtcdCluster]:
    """One etcd member on free ports, killed at the end of the session."""
    cluster = start_etcd_cluster(tmp_path_factory.mktemp("etcd"), 1)
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def store(etcd_cluster: EtcdCluster) -> Iterator[EtcdStore]:
    with etcd_cluster.store() as kv:
        yield kv


@pytest.fixture
def prefix() -> str:
    """A cluster prefix no other test uses."""
    return f"/test/{secrets.token_hex(6)}"


@pytest.fixture
def backends() -> Iterator[list[EchoBackend]]:
    """Two HTTP backends with a /health path, stopped after the test."""
    items = [EchoBackend(f"b{i}").start() for i in (1, 2)]
    try:
        yield items
    finally:
        for backend in items:
            backend.stop()
