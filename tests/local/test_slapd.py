"""Real slapd processes: N-way multi-provider replication, catch-up after a restart, TLS."""

from __future__ import annotations

import ssl
import time
from collections.abc import Iterator
from pathlib import Path

import ldap3
import pytest

from oxswarm.crypto import pki
from oxswarm.directory.slapdconf import TLSFiles
from oxswarm.local.process import wait_until
from oxswarm.local.slapd import (
    SlapdNode,
    base_entry_ldif,
    plan_nodes,
    slapd_cluster,
    start_nodes,
    stop_nodes,
)

pytestmark = pytest.mark.integration

ROOT_DN = "cn=directory manager,o=gluu"
ROOT_PW = "Root-Pw-1"


def tls_for(node: SlapdNode) -> ldap3.Tls:
    return ldap3.Tls(ca_certs_file=str(node.ca_file), validate=ssl.CERT_REQUIRED)


def bind(node: SlapdNode, dn: str = ROOT_DN, password: str = ROOT_PW) -> ldap3.Connection:
    """A simple bind over ldaps, the server checked against the cluster's CA."""
    server = ldap3.Server(node.url, connect_timeout=2, get_info=ldap3.NONE, tls=tls_for(node))
    return ldap3.Connection(server, dn, password, auto_bind=True, receive_timeout=5)


def has_entry(node: SlapdNode, dn: str) -> bool:
    try:
        conn = bind(node)
    except ldap3.core.exceptions.LDAPException:
        return False
    try:
        return bool(conn.search(dn, "(objectClass=*)", ldap3.BASE, attributes=["1.1"]))
    finally:
        conn.unbind()


def add_unit(node: SlapdNode, name: str) -> str:
    dn = f"ou={name},o=gluu"
    conn = bind(node)
    assert conn.add(dn, ["organizationalUnit"], {"ou": name}), conn.result
    conn.unbind()
    return dn


@pytest.fixture
def three(tmp_path: Path) -> Iterator[list[SlapdNode]]:
    with slapd_cluster(tmp_path, 3, ROOT_PW) as nodes:
        yield nodes


def test_base_ldif() -> None:
    assert (
        base_entry_ldif("o=gluu")
        == "dn: o=gluu\nobjectClass: top\nobjectClass: organization\no: gluu\n"
    )


def test_base_seeded_once_reaches_every_node(three: list[SlapdNode]) -> None:
    for node in three:
        wait_until(lambda n=node: has_entry(n, "o=gluu"), 10, f"o=gluu on {node.url}")
    # one base entry, one entryUUID everywhere: it came from one node by replication
    uuids = set()
    for node in three:
        conn = bind(node)
        conn.search("o=gluu", "(objectClass=*)", ldap3.BASE, attributes=["entryUUID"])
        uuids.add(str(conn.entries[0].entryUUID))
        conn.unbind()
    assert len(uuids) == 1


def test_write_on_any_node_replicates_to_the_others(three: list[SlapdNode]) -> None:
    wait_until(lambda: has_entry(three[2], "o=gluu"), 10, "base on node 3")
    for i, node in enumerate(three):
        dn = add_unit(node, f"from{i}")
        started = time.monotonic()
        for other in three:
            wait_until(lambda o=other, d=dn: has_entry(o, d), 10, f"{dn} on {other.url}")
        assert time.monotonic() - started < 10


def test_node_down_during_writes_catches_up(three: list[SlapdNode]) -> None:
    wait_until(lambda: has_entry(three[2], "o=gluu"), 10, "base on node 3")
    three[2].stop()
    dns = [add_unit(three[0], f"while-down-{k}") for k in range(3)]
    dns.append(add_unit(three[1], "while-down-on-2"))
    assert not three[2].running()
    three[2].start()
    for dn in dns:
        wait_until(lambda d=dn: has_entry(three[2], d), 10, f"{dn} after restart")


def test_killed_node_catches_up(three: list[SlapdNode]) -> None:
    wait_until(lambda: has_entry(three[1], "o=gluu"), 10, "base on node 2")
    three[1].kill()
    dn = add_unit(three[0], "after-crash")
    three[1].start()
    wait_until(lambda: has_entry(three[1], dn), 10, f"{dn} after crash restart")


def test_a_simple_bind_needs_tls(three: list[SlapdNode]) -> None:
    """Plain LDAP: refused before the password is checked; StartTLS or ldaps: accepted."""
    node = three[0]
    plain = ldap3.Connection(ldap3.Server(node.plain_url, get_info=ldap3.NONE), ROOT_DN, ROOT_PW)
    plain.open()
    assert not plain.bind()
    assert plain.result["description"] == "confidentialityRequired"
    plain.unbind()
    starttls = ldap3.Connection(
        ldap3.Server(node.plain_url, get_info=ldap3.NONE, tls=tls_for(node)), ROOT_DN, ROOT_PW)
    starttls.open()
    assert starttls.start_tls()
    assert starttls.bind(), starttls.result
    starttls.unbind()
    secure = bind(node)
    assert secure.server.ssl
    secure.unbind()
    # a server whose certificate the client's CA did not sign is refused by the client
    other = pki.create_ca("Someone Else")
    foreign = node.workdir / "foreign-ca.crt"
    foreign.write_text(other.cert_pem)
    server = ldap3.Server(node.url, get_info=ldap3.NONE,
                          tls=ldap3.Tls(ca_certs_file=str(foreign), validate=ssl.CERT_REQUIRED))
    with pytest.raises(ldap3.core.exceptions.LDAPSocketOpenError):
        ldap3.Connection(server, ROOT_DN, ROOT_PW, auto_bind=True)
    # the refusals are logged with the client's address and bind DN, never the password
    wrong = ldap3.Connection(ldap3.Server(node.url, get_info=ldap3.NONE, tls=tls_for(node)),
                             ROOT_DN, "Typed-Wrong-Secret-9")
    assert not wrong.bind()
    wrong.unbind()
    def log_text() -> str:
        return node.daemon.log_file.read_text(errors="replace")

    wait_until(lambda: "err=49" in log_text(), 5, "slapd to log the refused bind")
    log = log_text()
    assert "ACCEPT from IP=127.0.0.1:" in log
    assert f'BIND dn="{ROOT_DN}" method=128' in log
    assert "err=13" in log and "confidentiality required" in log
    assert "err=49" in log
    assert ROOT_PW not in log and "Typed-Wrong-Secret-9" not in log


def test_ldaps_replication_with_config_init_certificates(tmp_path: Path) -> None:
    ca = pki.create_ca("OxSwarm Test")
    server = pki.issue_server_cert(
        ca.cert_pem, ca.key_pem, ["localhost", "127.0.0.1"], client_auth=True
    )
    files = TLSFiles(tmp_path / "ldap.crt", tmp_path / "ldap.key", tmp_path / "ca.crt")
    files.cert_file.write_text(server.cert_pem)
    files.key_file.write_text(server.key_pem)
    files.key_file.chmod(0o600)
    files.ca_file.write_text(ca.cert_pem)
    nodes = plan_nodes(tmp_path / "cluster", 2, ROOT_PW, tls=files)
    assert all(url.startswith("ldaps://") for url in nodes[0].spec.peers)
    start_nodes(nodes)
    try:
        wait_until(lambda: has_entry(nodes[1], "o=gluu"), 10, "base over ldaps syncrepl")
        conn = bind(nodes[1])
        assert conn.server.ssl
        assert conn.add("ou=tls,o=gluu", ["organizationalUnit"], {"ou": "tls"}), conn.result
        conn.unbind()
        wait_until(lambda: has_entry(nodes[0], "ou=tls,o=gluu"), 10, "ldaps write on node 1")
    finally:
        stop_nodes(nodes)
