"""``oxswarm status`` on the running cluster: directory replication state and memory per
node (printed: the memory figures of the issue's evidence); and what the operator's
machine reaches of the stores without the cluster's credentials (issue 9, item 3)."""

from __future__ import annotations

import base64
import contextlib
import json
import os
import ssl
import subprocess
import sys
import tempfile
import time
from typing import Any

import httpx
import ldap3
import pytest
from ldap3.core.exceptions import LDAPException
from tests.cluster.load import TokenStream, ldap_session
from tests.cluster.probes import by_node, ldap_server, secrets_of

from oxswarm.config.etcd import EtcdStore
from oxswarm.deploy.deployer import Deployer, UpResult
from oxswarm.deploy.render.stack import LDAP_PORT, REDIS_PORT, TWEMPROXY_PORT, member
from oxswarm.errors import StoreAuthError
from oxswarm.local.process import tcp_open, wait_until

# the session's `up` runs inside the first test's timeout: a cold image build took >300 s
pytestmark = [pytest.mark.cluster, pytest.mark.timeout(900)]


def status_json(deployer: Deployer) -> dict[str, dict[str, str]]:
    """``status --json``'s store, directory and memory rows as ``{node: value}``."""
    proc = subprocess.run(
        [sys.executable, "-c", "from oxswarm.cli.main import main; main()", "status",
         "--json", "--cluster", deployer.cluster, "--state-dir", str(deployer.state_dir)],
        capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    body = json.loads(proc.stdout)
    return by_node(body)


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


def _plain_bind(address: str, port: int, dn: str, password: str) -> bool:
    """A simple bind without TLS; True only if the server accepted it."""
    conn = ldap3.Connection(ldap3.Server(f"ldap://{address}:{port}", connect_timeout=2,
                                         get_info=ldap3.NONE),
                            dn, password, receive_timeout=5, raise_exceptions=False)
    try:
        conn.open()
        return bool(conn.bind())
    except LDAPException:
        return False
    finally:
        with contextlib.suppress(LDAPException, OSError):
            conn.unbind()


def test_the_operators_machine_gets_nothing_without_credentials(
        cluster: tuple[Deployer, UpResult]) -> None:
    deployer, _ = cluster
    spec = deployer.saved_spec()
    assert spec is not None
    found = secrets_of(deployer)
    person = f"inum={found['admin_inum']},ou=people,{found['base']}"
    clients = f"ou=clients,{found['base']}"
    for node in spec.nodes:
        address = node.address
        # the cache is never published; the directory has no plain port
        for port in (REDIS_PORT, TWEMPROXY_PORT, 1389):
            assert not tcp_open(address, port, timeout=2.0), (node.name, port)
        assert tcp_open(address, LDAP_PORT, timeout=2.0)
        # a person's password without TLS: the ldaps port does not take it
        assert not _plain_bind(address, LDAP_PORT, person, found["admin_pw"])
        # anonymous over ldaps: nothing at all
        anonymous = ldap3.Connection(ldap_server(address, found["ca"]), receive_timeout=5)
        anonymous.open()
        anonymous.search(found["base"], "(objectClass=*)", attributes=["*"])
        assert anonymous.entries == [], node.name
        anonymous.unbind()
        # the person over ldaps (the server checked against the CA): binds, sees no client
        with ldap_session(ldap_server(address, found["ca"]), person, found["admin_pw"],
                          receive_timeout=5) as conn:
            conn.search(clients, "(objectClass=*)", attributes=["*"])
            assert conn.entries == [], node.name
        # the control: the root DN sees the clients
        with ldap_session(ldap_server(address, found["ca"]), found["bind_dn"],
                          found["ldap_pw"], receive_timeout=5) as conn:
            conn.search(clients, "(objectClass=*)", search_scope=ldap3.LEVEL, attributes=["1.1"])
            assert len(conn.entries) >= 1, node.name


def test_inside_the_overlay_the_cache_wants_its_password(
        cluster: tuple[Deployer, UpResult]) -> None:
    """A throwaway container on the attachable overlay: NOAUTH from Redis and Twemproxy
    without the password; PONG with it (passed in a 0600 env file, never on argv)."""
    deployer, _ = cluster
    spec = deployer.saved_spec()
    assert spec is not None
    found = secrets_of(deployer)
    for host, port in cache_targets(spec):
        answer = overlay_ping(deployer, host, port)
        assert answer.startswith("NOAUTH"), (host, answer)
    for host, port in cache_targets(spec):
        assert overlay_ping(deployer, host, port, found["redis_pw"]).endswith("PONG"), host


def cache_targets(spec: Any) -> list[tuple[str, int]]:
    """Every Redis shard and the proxy, as the overlay names them."""
    return [*((member("redis", n.name), REDIS_PORT) for n in spec.nodes),
            ("twemproxy", TWEMPROXY_PORT)]


def overlay_ping(deployer: Deployer, host: str, port: int, password: str | None = None) -> str:
    """``redis-cli PING`` from a throwaway container on the attachable overlay; the
    password, if any, in a 0600 env file (never on a command line)."""
    spec = deployer.saved_spec()
    assert spec is not None
    docker = deployer.driver(spec).docker(spec.manager.name)
    with tempfile.NamedTemporaryFile("w", suffix=".env", dir="/tmp") as env:
        os.chmod(env.name, 0o600)
        if password:
            env.write(f"REDISCLI_AUTH={password}\n")
        env.flush()
        res = docker.run("run", "--rm", "--network", spec.network, "--env-file", env.name,
                         "--entrypoint", "redis-cli", spec.image, "-h", host, "-p", str(port),
                         "PING", check=False, timeout=120)
    return (res.stdout + res.stderr).strip()


def test_cache_password_rotates_without_a_failed_request(
        cluster: tuple[Deployer, UpResult]) -> None:
    """``oxswarm cache rotate-password`` under a token stream through the load balancer
    (every token is stored in the cache): no failed request; the old password is refused
    afterwards by every shard and the proxy, the new one accepted."""
    deployer, result = cluster
    spec = deployer.saved_spec()
    assert spec is not None
    found = secrets_of(deployer)
    old = found["redis_pw"]
    tokens = TokenStream(lb=result.load_balancer, hostname=spec.hostname,
                         ca_file=result.ca_file, client_id=found["client_id"],
                         secret=found["secret"], rate=5.0, max_seconds=300)
    tokens.start()
    began = time.monotonic()
    try:
        time.sleep(3)
        # the CLI as `up` runs it (the store's address and the master key of this cluster)
        out = deployer._cli(deployer.settings(spec), "cache", "rotate-password")
        took = time.monotonic() - began
        time.sleep(5)
    finally:
        tokens.stop.set()
        tokens.join(20)
    new = secrets_of(deployer)["redis_pw"]
    print(f"\nfigures: cache password rotation {took:.1f}s; tokens ok/failed "
          f"{tokens.tally.ok}/{tokens.tally.failed}; errors {tokens.tally.errors[:3]}")
    assert new and new != old
    assert "rotated" in out and old not in out and new not in out
    assert tokens.tally.ok > 50
    assert tokens.tally.failed == 0, tokens.tally.errors
    for host, port in cache_targets(spec):
        assert overlay_ping(deployer, host, port, new).endswith("PONG"), host
        refused = overlay_ping(deployer, host, port, old)
        assert "PONG" not in refused and ("WRONGPASS" in refused or "invalid password" in refused
                                          or "NOAUTH" in refused), (host, refused)


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
        assert store.get(f"/oxswarm/{spec.cluster}/config/hostname") == spec.hostname.encode()
    registrator = deployer.settings(spec).model_copy(update={
        "store_cert_file": pki.role("registrator").cert_file,
        "store_key_file": pki.role("registrator").key_file})
    with EtcdStore.from_settings(registrator) as store, \
            pytest.raises(StoreAuthError, match=r"user registrator\.[0-9a-f]{12} has no right"):
        store.put(f"/oxswarm/{spec.cluster}/config/ldap_peers", b'["ldap://evil:389"]')
