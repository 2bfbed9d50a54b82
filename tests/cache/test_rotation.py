"""The store-driven password rotation's phases (real etcd), and a client following them
through a real Twemproxy + Redis whose passwords follow the same phases."""

from __future__ import annotations

import secrets
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from oxswarm.cache.client import Cache
from oxswarm.cache.rotation import accepted, finish, proxy_password, rotate
from oxswarm.config import keys as K
from oxswarm.config.manager import ConfigManager
from oxswarm.config.secrets import SecretBox
from oxswarm.errors import CacheUnavailable, InvalidInput, StoreUnavailable
from oxswarm.local.cache import LocalCacheCluster
from oxswarm.local.etcd import start_etcd_cluster

pytestmark = pytest.mark.integration
OLD = "old-cache-password-0123456789"


@pytest.fixture
def manager(tmp_path: Path) -> Iterator[ConfigManager]:
    etcd = start_etcd_cluster(tmp_path / "etcd", 1)
    store = etcd.store()
    try:
        yield ConfigManager(store, "/oxswarm/rot", SecretBox(secrets.token_bytes(32)))
    finally:
        store.close()
        etcd.stop()


def test_phases_seen_by_shards_proxies_and_clients(manager: ConfigManager) -> None:
    manager.set_secret(K.REDIS_PW, OLD)
    seen: list[tuple[tuple[str, ...], str]] = []

    def observe(_: float) -> None:  # what the roles read at each wait
        seen.append((accepted(manager.get_secret), proxy_password(manager.get_secret)))

    rotate(manager, "new-cache-password-0123456789", settle=0, sleep=observe)
    new = "new-cache-password-0123456789"
    assert seen == [
        ((OLD, new), OLD),  # 1: shards accept both, proxies still on the old one
        ((new, OLD), new),  # 2: proxies roll to the new one, shards still accept the old
    ]
    assert accepted(manager.get_secret) == (new,)  # 3: only the new one
    assert manager.get_secret(K.REDIS_PW_OTHER) is None


def test_an_interrupted_rotation_is_named_and_finished(manager: ConfigManager) -> None:
    manager.set_secret(K.REDIS_PW, OLD)
    manager.set_secret(K.REDIS_PW_OTHER, "x" * 20)
    with pytest.raises(InvalidInput, match="already under way"):
        rotate(manager, settle=0, sleep=lambda _: None)
    finish(manager)
    assert accepted(manager.get_secret) == (OLD,)
    drawn = rotate(manager, settle=0, sleep=lambda _: None)
    assert drawn == "rotated"  # the new password is never returned nor printed
    assert proxy_password(manager.get_secret) not in (OLD, "")


def test_before_config_init_it_says_so(manager: ConfigManager) -> None:
    with pytest.raises(StoreUnavailable, match="redis_pw"):
        rotate(manager, settle=0, sleep=lambda _: None)


def test_a_client_following_the_store_rides_the_rotation(
    manager: ConfigManager, tmp_path: Path
) -> None:
    """The cluster's protocol with local daemons: each phase is applied to the shards and
    the proxy the way the roles apply it; the client reads its candidates from the store."""
    manager.set_secret(K.REDIS_PW, OLD)
    with LocalCacheCluster(tmp_path / "cache", shards=2, password=OLD) as cluster:
        candidates = [accepted(manager.get_secret)]

        def roles_follow(_: float) -> None:
            now, proxy = accepted(manager.get_secret), proxy_password(manager.get_secret)
            candidates[0] = now  # oxAuth's watcher
            for shard in cluster.redis:  # the redis role: ACL SETUSER
                shard.set_passwords(now)
            if proxy != cluster.password:  # the twemproxy role: restart with redis_auth
                cluster.restart_proxy(proxy)

        cache = Cache(cluster.host, cluster.port, "rot", passwords=lambda: candidates[0],
                      retries=8, backoff=0.05)
        failures: list[str] = []
        done = threading.Event()

        def loop() -> None:
            i = 0
            while not done.is_set():
                try:
                    cache.set("k", str(i % 20), "v", 60)
                except CacheUnavailable as exc:
                    failures.append(str(exc))
                i += 1

        thread = threading.Thread(target=loop)
        thread.start()
        try:
            rotate(manager, "new-cache-password-0123456789", settle=0, sleep=roles_follow)
            roles_follow(0)  # phase 3 reaches the shards
        finally:
            done.set()
            thread.join()
            cache.close()
        assert failures == []
        for shard in cluster.redis:
            assert shard.passwords == ("new-cache-password-0123456789",)
