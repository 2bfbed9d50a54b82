import json
import secrets
import stat
import threading
from pathlib import Path

import pytest

from oxswarm.config.etcd import EtcdStore
from oxswarm.config.manager import MASK, ConfigManager, LoadResult
from oxswarm.config.secrets import SecretBox
from oxswarm.errors import InvalidInput, MasterKeyError, NotFound, SecretError

pytestmark = pytest.mark.integration


@pytest.fixture
def manager(store: EtcdStore, prefix: str, box: SecretBox) -> ConfigManager:
    return ConfigManager(store, prefix, box)


def test_config_values_live_under_prefix_config(manager: ConfigManager, store: EtcdStore) -> None:
    assert not manager.is_initialised()
    manager.set("hostname", "id.example.org")
    assert store.get(f"{manager.prefix}/config/hostname") == b"id.example.org"
    assert manager.get("hostname") == "id.example.org"
    assert manager.get("city") is None
    manager.set("city", "Zürich")
    assert manager.all() == {"city": "Zürich", "hostname": "id.example.org"}
    assert manager.is_initialised()


def test_secrets_are_encrypted_in_the_store(manager: ConfigManager, store: EtcdStore) -> None:
    manager.set_secret("admin_pw", "Secret-Pw-1")
    raw = store.get(f"{manager.prefix}/secret/admin_pw")
    assert raw is not None
    assert b"Secret-Pw-1" not in raw
    assert raw.startswith(b"oxs1:")
    assert manager.get_secret("admin_pw") == "Secret-Pw-1"
    assert manager.get_secret("nope") is None
    assert manager.all_secrets() == {"admin_pw": "Secret-Pw-1"}
    assert manager.masked() == {"config": {}, "secret": {"admin_pw": MASK}}
    assert manager.get_any("admin_pw") == ("Secret-Pw-1", True)


def test_secrets_need_the_right_master_key(manager: ConfigManager) -> None:
    manager.set_secret("ca_key", "pem")
    keyless = ConfigManager(manager.store, manager.prefix, None)
    with pytest.raises(MasterKeyError, match="master-key-file"):
        keyless.get_secret("ca_key")
    assert keyless.masked()["secret"] == {"ca_key": MASK}  # show needs no key
    wrong = ConfigManager(manager.store, manager.prefix, SecretBox(secrets.token_bytes(32)))
    with pytest.raises(SecretError, match="cannot decrypt secret 'ca_key'"):
        wrong.get_secret("ca_key")


def test_load_keeps_existing_keys_unless_overwrite(manager: ConfigManager) -> None:
    manager.set("hostname", "old.example.org")
    manager.set_secret("admin_pw", "old")
    result = manager.load({"hostname": "new.example.org", "city": "Bern"}, {"admin_pw": "new"})
    assert result == LoadResult(stored=["city"], kept=["hostname", "admin_pw"])
    assert manager.get("hostname") == "old.example.org"
    assert manager.get_secret("admin_pw") == "old"

    result = manager.load({"hostname": "new.example.org"}, {"admin_pw": "new"}, overwrite=True)
    assert result == LoadResult(stored=["hostname", "admin_pw"], kept=[])
    assert manager.get("hostname") == "new.example.org"
    assert manager.get_secret("admin_pw") == "new"


def test_load_rejects_bad_names(manager: ConfigManager) -> None:
    with pytest.raises(InvalidInput) as caught:
        manager.load({"../escape": "x"}, {})
    assert caught.value.field == "key"
    with pytest.raises(InvalidInput, match="both"):
        manager.load({"a": "1"}, {"a": "2"})
    with pytest.raises(NotFound, match="'nothing'"):
        manager.get_any("nothing")


def test_encrypted_dump_loads_again_with_the_same_key(
    manager: ConfigManager, tmp_path: Path, box: SecretBox
) -> None:
    manager.load({"hostname": "h.example.org", "org_name": "Org"}, {"admin_pw": "pw-123456"})
    config_path, secret_path = manager.dump(tmp_path / "dump")
    assert json.loads(config_path.read_text()) == {"hostname": "h.example.org", "org_name": "Org"}
    assert stat.S_IMODE(secret_path.stat().st_mode) == 0o600
    dumped = json.loads(secret_path.read_text())
    assert set(dumped) == {"admin_pw"}
    assert "pw-123456" not in secret_path.read_text()

    copy = ConfigManager(manager.store, manager.prefix + "-copy", box)
    assert copy.load_dump(tmp_path / "dump").stored == ["hostname", "org_name", "admin_pw"]
    assert copy.all() == manager.all()
    assert copy.all_secrets() == {"admin_pw": "pw-123456"}

    other_key = ConfigManager(
        manager.store, manager.prefix + "-x", SecretBox(secrets.token_bytes(32))
    )
    with pytest.raises(SecretError, match="wrong master key"):
        other_key.load_dump(tmp_path / "dump")
    assert not other_key.is_initialised()


def test_plaintext_dump(manager: ConfigManager, tmp_path: Path, box: SecretBox) -> None:
    manager.load({"hostname": "h"}, {"admin_pw": "pw", "ldap_admin_pw": "lpw"})
    _, secret_path = manager.dump(tmp_path, plaintext=True)
    assert json.loads(secret_path.read_text()) == {"admin_pw": "pw", "ldap_admin_pw": "lpw"}
    assert stat.S_IMODE(secret_path.stat().st_mode) == 0o600
    copy = ConfigManager(manager.store, manager.prefix + "-plain", box)
    copy.load_dump(tmp_path)
    assert copy.all_secrets() == {"admin_pw": "pw", "ldap_admin_pw": "lpw"}


def test_bad_dump_folder_names_the_file(manager: ConfigManager, tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match=r"config\.json") as caught:
        manager.load_dump(tmp_path)
    assert caught.value.field == "config.json"
    (tmp_path / "config.json").write_text('{"hostname": 3}')
    with pytest.raises(InvalidInput) as caught:
        manager.load_dump(tmp_path)
    assert caught.value.field == "hostname"


def test_initialise_claims_the_cluster_once(manager: ConfigManager) -> None:
    first = manager.initialise({"hostname": "a.example.org", "city": "A"}, {"admin_pw": "pa"})
    assert first is not None
    assert sorted(first.stored) == ["admin_pw", "city", "hostname"]
    assert (
        manager.initialise({"hostname": "b.example.org", "city": "B"}, {"admin_pw": "pb"}) is None
    )
    assert manager.all() == {"city": "A", "hostname": "a.example.org"}
    assert manager.get_secret("admin_pw") == "pa"
    again = manager.initialise({"hostname": "b.example.org"}, {"admin_pw": "pb"}, overwrite=True)
    assert again is not None
    assert manager.get("hostname") == "b.example.org"
    assert manager.get_secret("admin_pw") == "pb"
    with pytest.raises(InvalidInput):
        manager.initialise({}, {})


def test_racing_initialisers_do_not_mix_values(
    store: EtcdStore, prefix: str, box: SecretBox
) -> None:
    results: dict[str, object] = {}

    def init(tag: str) -> None:
        with EtcdStore(store.endpoints) as own:
            config = {name: tag for name in ("hostname", "ca_cert", "ssl_cert", "city")}
            results[tag] = ConfigManager(own, prefix, box).initialise(config, {"ca_key": tag})

    threads = [threading.Thread(target=init, args=(tag,)) for tag in ("x", "y")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    winners = [tag for tag, result in results.items() if result is not None]
    assert len(winners) == 1
    manager = ConfigManager(store, prefix, box)
    assert set(manager.all().values()) == set(winners)
    assert manager.get_secret("ca_key") == winners[0]
