"""People and groups on real slapd: CRUD, search, passwords, authentication, ACLs."""

from __future__ import annotations

import ssl

import ldap3
import pytest

from oxswarm.directory.connection import Directory
from oxswarm.directory.models import Group, Person
from oxswarm.directory.people import GroupRepository, PeopleRepository
from oxswarm.directory.tree import Tree
from oxswarm.errors import Conflict, InvalidInput, NotFound
from oxswarm.local.slapd import SlapdNode

pytestmark = pytest.mark.integration


def setup_tree(directory: Directory) -> None:
    for ou in ("people", "groups"):
        directory.add(f"ou={ou},o=gluu", {"objectClass": ["organizationalUnit"], "ou": [ou]})


def alice() -> Person:
    return Person(
        inum="p-alice",
        uid="alice",
        given_name="Alice",
        family_name="Liddell",
        email="alice@example.org",
        email_verified=True,
        phone="+44 20 7946 0000",
        street_address="1 Rabbit Hole",
        locality="Oxford",
        postal_code="OX1",
        country="GB",
    )


def test_people_crud_and_search(directory: Directory) -> None:
    setup_tree(directory)
    people = PeopleRepository(directory)
    added = people.add(alice(), password="Alice-Pw-1")
    assert added.model_dump(exclude={"created", "updated"}) == alice().model_dump(
        exclude={"created", "updated"}
    )
    assert added.created is not None
    assert people.get_by_uid("alice") == added
    assert people.get_by_uid("nobody") is None
    with pytest.raises(Conflict):
        people.add(alice().model_copy(update={"inum": "p-other"}))
    people.add(Person(inum="p-bob", uid="bob", family_name="Builder"))
    assert [p.uid for p in people.search("lidd")] == ["alice"]
    assert sorted(p.uid for p in people.list()) == ["alice", "bob"]
    changed = people.update(added.model_copy(update={"phone": None, "status": "inactive"}))
    assert changed.phone is None and changed.status == "inactive"
    people.remove("p-bob")
    with pytest.raises(NotFound):
        people.get_by_inum("p-bob")
    with pytest.raises(NotFound):
        people.remove("p-bob")


def test_authenticate_by_bind(directory: Directory) -> None:
    setup_tree(directory)
    people = PeopleRepository(directory)
    people.add(alice(), password="Alice-Pw-1")
    assert people.authenticate("alice", "Alice-Pw-1") is not None
    assert people.authenticate("alice", "alice-pw-1") is None
    assert people.authenticate("alice", "") is None
    assert people.authenticate("nobody", "Alice-Pw-1") is None
    people.set_password("p-alice", "New-Pw-2")
    assert people.authenticate("alice", "Alice-Pw-1") is None
    assert people.authenticate("alice", "New-Pw-2") is not None
    stored = directory.read(Tree().person("p-alice"), ["userPassword"]).get("userPassword")
    assert stored is not None and stored.startswith(ARGON2ID)
    people.update(people.get_by_uid("alice").model_copy(update={"status": "inactive"}))  # type: ignore[union-attr]
    assert people.authenticate("alice", "New-Pw-2") is None


ARGON2ID = "{ARGON2}$argon2id$v=19$m=7168,t=5,p=1$"  # OWASP's setting (passwords.py)


def test_passwords_are_stored_as_argon2id_and_old_argon2i_hashes_still_verify(
    directory: Directory,
) -> None:
    setup_tree(directory)
    people = PeopleRepository(directory)
    dn = Tree().person("p-alice")
    # an old hash: what slapd's argon2 module wrote through Password Modify (RFC 3062)
    people.add(alice())
    directory.run(lambda c: c.extend.standard.modify_password(user=dn, new_password="Old-Pw-1"),
                  "set an Argon2i password")
    old = directory.read(dn, ["userPassword"]).all("userPassword")
    assert len(old) == 1 and old[0].startswith("{ARGON2}$argon2i$"), old
    assert directory.check_password(dn, "Old-Pw-1") and not directory.check_password(dn, "x-1")
    assert people.authenticate("alice", "Old-Pw-1") is not None

    before = directory.read(dn, ["pwdChangedTime"]).get("pwdChangedTime")
    people.set_password("p-alice", "New Pw 2\u00a0é")  # SASLprep maps U+00A0 to a space
    entry = directory.read(dn, ["userPassword", "pwdChangedTime"])
    stored = entry.all("userPassword")
    assert len(stored) == 1 and stored[0].startswith(ARGON2ID), stored
    assert "New Pw" not in stored[0]
    assert entry.get("pwdChangedTime") is not None  # ppolicy saw the change
    assert before is None or entry.get("pwdChangedTime") >= before
    assert people.authenticate("alice", "New Pw 2\u00a0é") is not None
    assert people.authenticate("alice", "New Pw 2 é") is not None  # what a bind sends
    assert people.authenticate("alice", "Old-Pw-1") is None
    with pytest.raises(InvalidInput):
        people.set_password("p-alice", "bad\u0007control")  # SASLprep refuses it
    assert people.authenticate("alice", "New Pw 2 é") is not None  # nothing half-written
    with pytest.raises(NotFound):
        directory.set_password(Tree().person("p-nobody"), "Some-Pw-3")


def test_acl_people_cannot_read_passwords_or_others(
    cluster: list[SlapdNode], directory: Directory
) -> None:
    setup_tree(directory)
    people = PeopleRepository(directory)
    people.add(alice(), password="Alice-Pw-1")
    people.add(Person(inum="p-bob", uid="bob", family_name="Builder"), password="Bob-Pw-1")
    server = ldap3.Server(cluster[0].url, get_info=ldap3.NONE, tls=ldap3.Tls(
        ca_certs_file=str(cluster[0].ca_file), validate=ssl.CERT_REQUIRED))
    conn = ldap3.Connection(server, Tree().person("p-alice"), "Alice-Pw-1", auto_bind=True)
    conn.search(Tree().person("p-alice"), "(objectClass=*)", ldap3.BASE, attributes=["*"])
    own = conn.entries[0].entry_attributes_as_dict
    assert own["uid"] == ["alice"] and "userPassword" not in own
    conn.search(Tree().person("p-bob"), "(objectClass=*)", ldap3.BASE, attributes=["*"])
    assert conn.entries == []
    conn.unbind()
    with pytest.raises(ldap3.core.exceptions.LDAPBindError):  # disallow bind_anon
        ldap3.Connection(server, auto_bind=True)
    unbound = ldap3.Connection(server)
    unbound.open()  # no bind at all: searching finds nothing
    unbound.search("o=gluu", "(objectClass=*)", attributes=["*"])
    assert unbound.entries == []
    unbound.unbind()


def test_groups(directory: Directory) -> None:
    setup_tree(directory)
    groups = GroupRepository(directory)
    group = groups.add(Group(inum="g1", display_name="Staff", members=["p-alice"]))
    assert group.members == ["p-alice"]
    assert groups.add_members("g1", ["p-bob", "p-alice"]).members == ["p-alice", "p-bob"]
    assert groups.remove_members("g1", ["p-alice"]).members == ["p-bob"]
    assert groups.remove_members("g1", ["p-bob"]).members == []
    assert [g.inum for g in groups.list()] == ["g1"]
    with pytest.raises(Conflict):
        groups.add(Group(inum="g1", display_name="Again"))
    groups.remove("g1")
    with pytest.raises(NotFound):
        groups.get("g1")
