"""Fixtures shared by every test folder: one real etcd cluster for the whole session."""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import pytest

from oxswarm.config.etcd import EtcdStore
from oxswarm.local.etcd import EtcdCluster, start_etcd_cluster


@pytest.fixture(scope="session")
def etcd_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EtcdCluster]:
    """Three etcd members on free ports, killed (SIGKILL) at the end of the session.

    Shared: tests that kill members start a cluster of their own.
    """
    cluster = start_etcd_cluster(tmp_path_factory.mktemp("etcd"), 3)
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
    """A key prefix no other test uses."""
    return f"/test/{secrets.token_hex(6)}"
