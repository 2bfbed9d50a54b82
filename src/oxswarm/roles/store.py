"""The config store as a role sees it: settings from the environment the stack sets."""

from __future__ import annotations

from oxswarm.config.etcd import EtcdStore
from oxswarm.config.manager import ConfigManager
from oxswarm.config.secrets import SecretBox
from oxswarm.errors import InvalidInput
from oxswarm.roles.wait import wait_for
from oxswarm.settings import Settings


def open_manager(settings: Settings | None = None) -> tuple[EtcdStore, ConfigManager]:
    """The store and a manager with the secret box (master key from the Swarm secret)."""
    settings = settings or Settings.load()
    if settings.master_key_file is None:
        raise InvalidInput("OXSWARM_MASTER_KEY_FILE: must be set", field="master-key-file")
    box = SecretBox.from_file(settings.master_key_file)
    store = EtcdStore.from_settings(settings)
    return store, ConfigManager(store, settings.prefix, box)


def wait_config(manager: ConfigManager, name: str, *, secret: bool = False,
                timeout: float = 600.0) -> str:
    """Wait (bounded, logged) until config-init has written ``name``."""
    what = f"{'secret' if secret else 'config'} {name} in the store"
    return wait_for(what, lambda: manager.get_secret(name) if secret else manager.get(name),
                    timeout=timeout, interval=2.0)
