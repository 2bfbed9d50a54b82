"""Fixtures for the config store tests: one real 3-member etcd cluster per session."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest

from oxswarm.config.etcd import EtcdStore
from oxswarm.config.secrets import SecretBox
from oxswarm.local.etcd import EtcdCluster, start_etcd_cluster


@pytest.fixture(scope="session")
def etcd_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EtcdCluster]:
    """Three etcd members on free ports; killed (SIGKILL) at the end of the session."""
    cluster = start_etcd_cluster(tmp_path_factory.mktemp("etcd"), 3)
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def fresh_cluster(tmp_path: Path) -> Iterator[EtcdCluster]:
    """A cluster of its own, for tests that kill members."""
    cluster = start_etcd_cluster(tmp_path / "etcd", 3)
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


@pytest.fixture
def box() -> SecretBox:
    return SecretBox(secrets.token_bytes(32))
