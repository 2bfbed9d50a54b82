"""``oxswarm status`` on the running cluster: directory replication state and memory per
node (printed: the memory figures of the issue's evidence)."""

from __future__ import annotations

import base64
import json
import ssl
import subprocess
import sys

import httpx
import pytest

from oxswarm.config.etcd import EtcdStore
from oxswarm.deploy.deployer import Deployer, UpResult
from oxswarm.errors import StoreAuthError
from oxswarm.local.process import wait_until

# the session's `up` runs inside the first test's timeout: a cold image build took >300 s
pytestmark = [pytest.mark.cluster, pytest.mark.timeout(900)]


def status_json(deployer: Deployer) -> dict[str, dict[str, str]]:
    proc = subprocess.run(
        [sys.executable, "-c", "from oxswarm.cli.main import main; main()", "status",
         "--json", "--cluster", deployer.cluster, "--state-dir", str(deployer.state_dir)],
        capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(proc.stdout)  # type: ignore[no-any-return]


def test_status_shows_directory_in_sync_and_memory_per_node(
        cluster: tuple[Deployer, UpResult]) -> None:
    deployer, _ = cluster
    names = {"manager", "worker-1", "worker-2"}
    found: dict[str, dict[str, str]] = {}

    def in_sync() -> bool:
        found.update(status_json(deployer))
        directory = found["directory"]
        return directory.keys() == names and all(v.startswith("in sync")
                                                 for v in directory.values())

    wait_until(in_sync, 180, "every directory server in sync", interval=5.0)
    assert set(found["store"]) == names
    assert all(v.startswith("up") for v in found["store"].values()), found["store"]
    assert found["memory"].keys() == names
    assert all(v.endswith(" MiB") for v in found["memory"].values()), found["memory"]
    print(f"\nfigures: memory per node {found['memory']}; directory {found['directory']}")


def test_the_store_is_closed_to_whoever_lacks_the_cluster_credentials(
        cluster: tuple[Deployer, UpResult]) -> None:
    """From the operator's machine: without a client certificate the TLS handshake fails,
    plain HTTP gets nothing; the operator's certificate reads; the registrator's cannot
    write the configuration (``ldap_peers``: where oxAuth binds with the root password)."""
    deployer, _ = cluster
    spec = deployer.saved_spec()
    assert spec is not None
    pki = deployer.store_pki
    body = {"key": base64.b64encode(f"/oxswarm/{spec.cluster}/config/hostname".encode()).decode()}
    for node in spec.nodes:
        url = f"https://{node.address}:2379/v3/kv/range"
        no_cert = ssl.create_default_context(cafile=str(pki.ca_file))
        with pytest.raises(httpx.HTTPError):
            httpx.post(url, json=body, verify=no_cert, timeout=5.0, trust_env=False)
        with pytest.raises(httpx.HTTPError):
            httpx.post(url.replace("https:", "http:"), json=body, timeout=5.0, trust_env=False)
    with EtcdStore.from_settings(deployer.settings(spec)) as store:
        assert store.get(f"/oxswarm/{spec.cluster}/config/hostname") == b"id.oxsci.test"
    registrator = deployer.settings(spec).model_copy(update={
        "store_cert_file": pki.role("registrator").cert_file,
        "store_key_file": pki.role("registrator").key_file})
    with EtcdStore.from_settings(registrator) as store, \
            pytest.raises(StoreAuthError, match=r"user registrator\.[0-9a-f]{12} has no right"):
        store.put(f"/oxswarm/{spec.cluster}/config/ldap_peers", b'["ldap://evil:389"]')
