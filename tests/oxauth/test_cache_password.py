"""oxAuth follows the cache password in the store (a rotation): real etcd, its watch."""

from __future__ import annotations

from pathlib import Path

import pytest

from oxswarm.cache.rotation import accepted
from oxswarm.config import keys as K
from oxswarm.config.manager import ConfigManager
from oxswarm.config.secrets import SecretBox, create_key_file
from oxswarm.local.etcd import start_etcd_cluster
from oxswarm.local.process import wait_until
from oxswarm.oxauth.wiring import CachePasswords
from oxswarm.settings import Settings

pytestmark = pytest.mark.integration


def test_candidates_follow_the_store(tmp_path: Path) -> None:
    etcd = start_etcd_cluster(tmp_path / "etcd", 1)
    key = tmp_path / "master.key"
    create_key_file(key)
    box = SecretBox.from_file(key)
    settings = Settings.load({}, store=etcd.url, cluster="pw", master_key_file=key)
    store = etcd.store()
    manager = ConfigManager(store, settings.prefix, box)
    try:
        manager.set_secret(K.REDIS_PW, "old-cache-password-0123456789")
        passwords = CachePasswords(accepted(manager.get_secret))
        watcher, watch_store = passwords.follow(settings, box)
        try:
            manager.set_secret(K.REDIS_PW_OTHER, "new-cache-password-0123456789")
            wait_until(lambda: len(passwords.get()) == 2, 10, "the second candidate")
            manager.set_secret(K.REDIS_PW, "new-cache-password-0123456789")
            manager.set_secret(K.REDIS_PW_OTHER, "old-cache-password-0123456789")
            wait_until(lambda: passwords.get()[0].startswith("new"), 10, "the new first")
            store.delete(manager.secret_key(K.REDIS_PW_OTHER))
            wait_until(lambda: passwords.get() == ("new-cache-password-0123456789",), 10,
                       "the old one dropped")
        finally:
            watcher.stop()
            watch_store.close()
    finally:
        store.close()
        etcd.stop()
