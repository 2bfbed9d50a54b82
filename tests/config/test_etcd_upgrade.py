"""Closing an open store in place, on a real 3-member etcd: the members' phases of
:mod:`oxswarm.roles.etcd` (plain and TLS listeners side by side) and ``member update``
of :mod:`oxswarm.config.etcd_members`, in the order ``oxswarm up`` follows
(:mod:`oxswarm.deploy.storeupgrade`), one member at a time, with a reader in a loop."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import httpx
import pytest

from oxswarm.config import etcd_members, etcd_rbac, keys, store_certs
from oxswarm.config.etcd import EtcdStore
from oxswarm.config.manager import ConfigManager
from oxswarm.config.secrets import SecretBox, create_key_file
from oxswarm.crypto.pki import create_ca
from oxswarm.deploy.deployer import Deployer
from oxswarm.errors import DeployError, OxSwarmError
from oxswarm.local.etcd import EtcdCluster, EtcdMember, start_etcd_cluster
from oxswarm.local.process import free_port
from oxswarm.roles.etcd import listen_flags
from oxswarm.settings import Settings

pytestmark = pytest.mark.integration
PREFIX = "/oxswarm/upg"


class Reader(threading.Thread):
    """Reads one key every 20 ms through every endpoint (failover), counting failures."""

    def __init__(self, store: EtcdStore, key: str) -> None:
        super().__init__(daemon=True)
        self.store, self.key = store, key
        self.stop = threading.Event()
        self.ok = 0
        self.failed: list[str] = []

    def run(self) -> None:
        with self.store:
            while not self.stop.is_set():
                try:
                    assert self.store.get(self.key) == b"kept"
                    self.ok += 1
                except (OxSwarmError, AssertionError) as exc:
                    self.failed.append(str(exc)[:900])
                self.stop.wait(0.02)


def _without_urls(argv: list[str]) -> list[str]:
    """An open member's command line without its four URL flags (and their values)."""
    start = argv.index("--listen-client-urls")
    out = [*argv[:start], *argv[start + 8:]]
    assert not any(a.startswith(("--listen", "--advertise", "--initial-adv")) for a in out)
    return out


def _restart(cluster: EtcdCluster, index: int, phase: str | None, *, pki: Path,
             upgrade_ports: list[int], base: list[str]) -> None:
    old = cluster.members[index]
    cert, key = pki / f"{old.name}.crt", pki / f"{old.name}.key"
    flags = listen_flags(phase, tls=True, host=old.host, advertise=old.host,
                         client=old.client_port, peer=old.peer_port,
                         upgrade_peer=upgrade_ports[index])
    argv = [*base, *flags, *store_certs.tls_args(pki / "ca.crt", cert, key)]
    new = EtcdMember(old.name, old.host, old.client_port, old.peer_port, old.workdir, argv,
                     "https")
    old.kill()
    new.start()
    cluster.members[index] = new


def _healthy(cluster: EtcdCluster, operator: store_certs.StoreCredentials) -> None:
    deadline = time.monotonic() + 20
    ctx = operator.ssl_context()
    for member in cluster.members:
        while True:
            try:
                res = httpx.get(f"{member.client_url}/health", timeout=2.0, trust_env=False,
                                verify=ctx if member.scheme == "https" else True)
                if res.json().get("health") == "true":
                    break
            except (httpx.HTTPError, ValueError):
                pass
            assert time.monotonic() < deadline, f"{member.name} not healthy"
            time.sleep(0.2)


def test_an_open_store_closes_member_by_member_keeping_data_and_quorum(
        tmp_path: Path) -> None:
    cluster = start_etcd_cluster(tmp_path / "etcd", 3)
    try:
        plain_endpoints = list(cluster.endpoints)
        with cluster.store() as store:
            store.put(f"{PREFIX}/config/marker", b"kept")
            store.put(f"{PREFIX}/secret/s", b"secret kept")
        pki = tmp_path / "pki"
        ca = create_ca("upgrade")
        store_certs.write_private(pki / "ca.crt", ca.cert_pem, 0o644)
        for member in cluster.members:
            store_certs.write_pair(pki, member.name, store_certs.member_cert(ca, [member.host]))
        operator = store_certs.credentials(pki / "ca.crt", pki, "operator")
        store_certs.write_pair(pki, "operator", store_certs.client_cert(ca, "upg", "operator"))
        reader_creds = store_certs.credentials(pki / "ca.crt", pki, "oxauth")
        store_certs.write_pair(pki, "oxauth", store_certs.client_cert(ca, "upg", "oxauth"))
        upgrade_ports = [free_port() for _ in cluster.members]
        base = [_without_urls(m.argv) for m in cluster.members]
        tls_endpoints = [u.replace("http://", "https://") for u in plain_endpoints]

        # an old client on plain HTTP reads through the whole first part
        # (the services' client settings: 2 s per try, failover and retries for 10 s)
        plain = Reader(EtcdStore(plain_endpoints), f"{PREFIX}/config/marker")
        plain.start()
        for i in range(3):  # phase 1: peers plain 2380-like + TLS on the upgrade port
            _restart(cluster, i, "1", pki=pki, upgrade_ports=upgrade_ports, base=base[i])
            _healthy(cluster, operator)
        with EtcdStore(tls_endpoints, 2.0, credentials=operator) as store:
            for found in etcd_members.members(store):
                assert found.peer_urls[0].startswith("http://")
                i = [m.name for m in cluster.members].index(found.name)
                etcd_members.set_peer_urls(store, found,
                                           [f"https://127.0.0.1:{upgrade_ports[i]}"])
        _healthy(cluster, operator)
        for i in range(3):  # phase 2: peers TLS on both ports
            _restart(cluster, i, "2", pki=pki, upgrade_ports=upgrade_ports, base=base[i])
            _healthy(cluster, operator)
        with EtcdStore(tls_endpoints, 2.0, credentials=operator) as store:
            for found in etcd_members.members(store):
                i = [m.name for m in cluster.members].index(found.name)
                etcd_members.set_peer_urls(
                    store, found, [f"https://127.0.0.1:{cluster.members[i].peer_port}"])
        _healthy(cluster, operator)
        plain.stop.set()
        plain.join(5)

        # the clients moved to TLS with their certificates; auth on; members TLS only
        tls_reader = Reader(EtcdStore(tls_endpoints, credentials=reader_creds),
                            f"{PREFIX}/config/marker")
        with EtcdStore(tls_endpoints, 2.0, credentials=operator) as store:
            users = dict(cluster.login(c) for c in (operator, reader_creds))
            etcd_rbac.reconcile(store, PREFIX, users)
        tls_reader.start()
        for i in range(3):
            _restart(cluster, i, None, pki=pki, upgrade_ports=upgrade_ports, base=base[i])
            _healthy(cluster, operator)
        reads = tls_reader.ok
        deadline = time.monotonic() + 10  # it goes on reading from the closed members
        while tls_reader.ok < reads + 5 and time.monotonic() < deadline:
            time.sleep(0.1)
        tls_reader.stop.set()
        tls_reader.join(5)

        assert plain.ok >= 10 and plain.failed == [], plain.failed[:5]
        assert tls_reader.ok >= reads + 5 and tls_reader.failed == [], tls_reader.failed[:5]
        with EtcdStore(tls_endpoints, 2.0, credentials=operator) as store:
            assert store.get(f"{PREFIX}/config/marker") == b"kept"
            assert store.get(f"{PREFIX}/secret/s") == b"secret kept"
            assert sorted(u for m in etcd_members.members(store) for u in m.peer_urls) == sorted(
                f"https://127.0.0.1:{m.peer_port}" for m in cluster.members)
        for url in plain_endpoints:  # TLS only now: plain HTTP is reset
            with pytest.raises(httpx.HTTPError):
                httpx.post(f"{url}/v3/kv/range", json={"key": "Lw=="}, timeout=2.0,
                           trust_env=False)
    finally:
        cluster.stop()


def test_the_open_stores_ca_is_exported_and_a_broken_pair_refused(tmp_path: Path) -> None:
    """`up` keeps the CA config-init put in the open store (everything issued from it
    stays valid); ca_cert and ca_key that do not make a pair are refused, naming why,
    and nothing is written."""
    cluster = start_etcd_cluster(tmp_path / "etcd", 1)
    try:
        state = tmp_path / "state"
        state.mkdir()
        create_key_file(state / "master.key")
        settings = Settings.load(env={}, store=cluster.url, cluster="upg",
                                 master_key_file=str(state / "master.key"))
        ca, other = create_ca("old"), create_ca("other")
        with cluster.store() as store:
            config = ConfigManager(store, settings.prefix,
                                   SecretBox.from_file(state / "master.key"))
            config.set(keys.CA_CERT, ca.cert_pem)
            config.set_secret(keys.CA_KEY, other.key_pem)
            deployer = Deployer(cluster="upg", state_dir=state)
            with pytest.raises(DeployError, match="ca_cert and ca_key do not make a pair"):
                deployer.export_ca_from(settings)
            assert not (state / "ca.key").exists() and not (state / "ca.crt").exists()
            config.set_secret(keys.CA_KEY, ca.key_pem)
            assert deployer.export_ca_from(settings) == [
                f"cluster CA exported from the store to {state / 'ca.crt'}"]
        assert (state / "ca.crt").read_text() == ca.cert_pem
        assert (state / "ca.key").read_text() == ca.key_pem
        assert (state / "ca.key").stat().st_mode & 0o777 == 0o600
        assert deployer.store_pki.ca().cert_pem == ca.cert_pem  # what certificates come from
    finally:
        cluster.stop()
