"""The directory's protections on three real slapd (slapd.access(5), slapo-ppolicy(5)):
a person's bind reads its own entry only, never clients, grants or consents; anonymous
reads nothing; five wrong passwords lock a person, on every node (replicated)."""

from __future__ import annotations

import ssl

import ldap3
import pytest

from oxswarm.config.secrets import SecretBox
from oxswarm.directory.bootstrap import init_directory
from oxswarm.directory.connection import Directory
from oxswarm.directory.models import Person
from oxswarm.directory.people import PeopleRepository
from oxswarm.directory.slapdconf import DEFAULT_POLICY
from oxswarm.directory.tree import Tree
from oxswarm.local.process import wait_until
from oxswarm.local.slapd import SlapdNode

from .test_bootstrap import DATA

pytestmark = pytest.mark.integration
TREE = Tree()
PRIVATE = ("clients", "tokens", "authorizations", "sessions")


def server(node: SlapdNode) -> ldap3.Server:
    tls = ldap3.Tls(ca_certs_file=str(node.ca_file), validate=ssl.CERT_REQUIRED)
    return ldap3.Server(node.url, get_info=ldap3.NONE, tls=tls, connect_timeout=2)


def person_bind(node: SlapdNode, inum: str, password: str) -> ldap3.Connection:
    conn = ldap3.Connection(server(node), TREE.person(inum), password, receive_timeout=5)
    conn.open()
    conn.bind()
    return conn


def visible(conn: ldap3.Connection, base: str) -> list[str]:
    conn.search(base, "(objectClass=*)", ldap3.SUBTREE, attributes=["*"])
    return [entry.entry_dn for entry in conn.entries]


@pytest.fixture
def loaded(cluster: list[SlapdNode], directory: Directory, box: SecretBox) -> list[SlapdNode]:
    init_directory(directory, DATA, box)
    people = PeopleRepository(directory, TREE)
    people.add(Person(inum="p-alice", uid="alice", family_name="A"), password="Alice-Pw-1")
    people.add(Person(inum="p-bob", uid="bob", family_name="B"), password="Bob-Pw-1")
    # stand-ins for a grant and a consent (the ACL is by subtree, whatever the entry)
    for ou in ("tokens", "authorizations", "sessions"):
        directory.add(f"ou=x1,{TREE.ou(ou)}", {"objectClass": ["organizationalUnit"], "ou": ["x1"]})
    return cluster


def test_the_root_dn_sees_the_private_subtrees(loaded: list[SlapdNode],
                                                directory: Directory) -> None:
    """The control for the tests below: the entries are there."""
    for ou in PRIVATE:
        assert len(directory.search(TREE.ou(ou))) >= 2, ou


def test_a_person_reads_its_own_entry_only(loaded: list[SlapdNode]) -> None:
    conn = person_bind(loaded[0], "p-alice", "Alice-Pw-1")
    assert conn.bound, conn.result
    try:
        own = visible(conn, TREE.person("p-alice"))
        assert own == [TREE.person("p-alice")]
        conn.search(TREE.person("p-alice"), "(objectClass=*)", ldap3.BASE,
                    attributes=["userPassword"])
        assert not conn.response[0]["raw_attributes"].get("userPassword")
        assert visible(conn, TREE.person("p-bob")) == []
        for ou in (*PRIVATE, "policies", "configuration"):
            assert visible(conn, TREE.ou(ou)) == [], ou
        # nor by searching from the top
        found = visible(conn, "o=gluu")
        assert not [dn for dn in found if any(f"ou={ou}," in dn for ou in PRIVATE)], found
    finally:
        conn.unbind()


def test_anonymous_sees_nothing(loaded: list[SlapdNode]) -> None:
    conn = ldap3.Connection(server(loaded[0]), receive_timeout=5)
    conn.open()
    try:
        assert visible(conn, "o=gluu") == []
        assert visible(conn, TREE.ou("clients")) == []
    finally:
        conn.unbind()
    with pytest.raises(ldap3.core.exceptions.LDAPBindError):  # disallow bind_anon
        ldap3.Connection(server(loaded[0]), auto_bind=True)


def test_wrong_passwords_lock_the_person_on_every_node(loaded: list[SlapdNode],
                                                      directory: Directory) -> None:
    people = PeopleRepository(directory, TREE)
    assert people.authenticate("bob", "Bob-Pw-1") is not None
    for _ in range(int(DEFAULT_POLICY["pwdMaxFailure"])):
        conn = person_bind(loaded[0], "p-bob", "wrong-password")
        assert conn.result["description"] == "invalidCredentials"
        conn.unbind()
    # locked: the right password is refused now, on this node and (replicated) the others
    for node in loaded:
        def refused(n: SlapdNode = node) -> bool:
            conn = person_bind(n, "p-bob", "Bob-Pw-1")
            conn.unbind()
            return not conn.bound
        wait_until(refused, 10, f"bob locked on {node.url}")
    assert people.authenticate("bob", "Bob-Pw-1") is None
    locked = directory.read(TREE.person("p-bob"), ["pwdAccountLockedTime"])
    assert locked.get("pwdAccountLockedTime")
    # another person is not affected
    assert people.authenticate("alice", "Alice-Pw-1") is not None
    # an administrator's new password (an Argon2id hash written by oxswarm) unlocks, as
    # slapd's Password Modify did: ppolicy clears the lock and the failures
    people.set_password("p-bob", "Bob-Pw-2")
    after = directory.read(TREE.person("p-bob"),
                           ["pwdAccountLockedTime", "pwdFailureTime", "userPassword"])
    assert after.get("pwdAccountLockedTime") is None and after.all("pwdFailureTime") == []
    assert (after.get("userPassword") or "").startswith("{ARGON2}$argon2id$")
    assert people.authenticate("bob", "Bob-Pw-2") is not None
