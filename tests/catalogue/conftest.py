"""Fixtures for the catalogue tests: a real etcd, real HTTP backends on loopback ports."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from oxswarm.local.backend import EchoBackend


@pytest.fixture
def backends() -> Iterator[list[EchoBackend]]:
    """Two HTTP backends with a /health path, stopped after the test."""
    items = [EchoBackend(f"b{i}").start() for i in (1, 2)]
    try:
        yield items
    finally:
        for backend in items:
            backend.stop()
