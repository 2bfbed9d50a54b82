"""Fixtures for directory tests: real slapd processes on 127.0.0.1 (free ports, tmp_path)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from oxswarm.config.secrets import SecretBox
from oxswarm.directory.connection import Directory, DirectoryConfig
from oxswarm.local.slapd import SlapdNode, slapd_cluster

ROOT_DN = "cn=directory manager,o=gluu"
ROOT_PW = "Root-Pw-1"


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[list[SlapdNode]]:
    """Three slapd in N-way multi-provider replication, base entry seeded on the first."""
    with slapd_cluster(tmp_path / "ldap", 3, ROOT_PW) as nodes:
        yield nodes


@pytest.fixture
def single(tmp_path: Path) -> Iterator[SlapdNode]:
    with slapd_cluster(tmp_path / "ldap1", 1, ROOT_PW) as nodes:
        yield nodes[0]


def config_for(*nodes: SlapdNode, **overrides: object) -> DirectoryConfig:
    values: dict[str, object] = {"connect_timeout": 1.0, "receive_timeout": 3.0, "exhaust": 5.0,
                                 "ca_file": nodes[0].ca_file}
    values.update(overrides)
    return DirectoryConfig(tuple(n.url for n in nodes), ROOT_DN, ROOT_PW, **values)  # type: ignore[arg-type]


@pytest.fixture
def directory(cluster: list[SlapdNode]) -> Iterator[Directory]:
    with Directory(config_for(*cluster)) as conn:
        yield conn


@pytest.fixture
def box() -> SecretBox:
    return SecretBox(os.urandom(32))
