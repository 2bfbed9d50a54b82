"""Fixtures for the config store tests: one real 3-member etcd cluster per session."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest

from oxswarm.config.secrets import SecretBox
from oxswarm.local.etcd import EtcdCluster, start_etcd_cluster


@pytest.fixture
def fresh_cluster(tmp_path: Path) -> Iterator[EtcdCluster]:
    """A cluster of its own, for tests that kill members."""
    cluster = start_etcd_cluster(tmp_path / "etcd", 3)
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def box() -> SecretBox:
    return SecretBox(secrets.token_bytes(32))
