"""The registrator's lease keeper against a real etcd."""

from __future__ import annotations

import time

import pytest

from oxswarm.catalogue.lease import LeaseKeeper
from oxswarm.config.etcd import EtcdStore
from oxswarm.local.process import wait_until

pytestmark = pytest.mark.integration


def test_the_heartbeat_keeps_the_key_while_the_owner_is_alive(store: EtcdStore,
                                                              prefix: str) -> None:
    keeper = LeaseKeeper(store, ttl=2).start()
    try:
        lease = keeper.current()
        assert keeper.current() == lease  # granted once
        store.put(f"{prefix}/k", b"v", lease=lease)
        began = time.monotonic()
        while time.monotonic() - began < 5:  # 2.5 TTLs, nothing but alive()
            keeper.alive()
            assert store.get(f"{prefix}/k") == b"v"
            time.sleep(0.25)
    finally:
        keeper.close(revoke=True)
    assert store.get(f"{prefix}/k") is None  # revoked with its lease


def test_a_stalled_owner_lets_the_lease_expire_then_gets_a_new_one(store: EtcdStore,
                                                                   prefix: str) -> None:
    keeper = LeaseKeeper(store, ttl=2, stall=1.0).start()
    try:
        first = keeper.current()
        store.put(f"{prefix}/k", b"v", lease=first)
        wait_until(lambda: store.get(f"{prefix}/k") is None, 8, "the stale key to expire")
        keeper.alive()
        second = keeper.current()
        assert second != first
        store.put(f"{prefix}/k", b"again", lease=second)
        assert store.get(f"{prefix}/k") == b"again"
    finally:
        keeper.close(revoke=True)


def test_lost_gives_a_new_lease_and_close_without_revoke_leaves_the_keys(
        store: EtcdStore, prefix: str) -> None:
    keeper = LeaseKeeper(store, ttl=2).start()
    first = keeper.current()
    keeper.lost()
    second = keeper.current()
    assert second != first
    store.put(f"{prefix}/k", b"v", lease=second)
    keeper.close(revoke=False)
    assert store.get(f"{prefix}/k") == b"v"  # left to its lease
    wait_until(lambda: store.get(f"{prefix}/k") is None, 6, "the key to expire with its lease")
