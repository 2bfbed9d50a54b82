"""People and groups on real slapd: CRUD, search, passwords, authentication, ACLs."""

from __future__ import annotations

import ssl

import ldap3
import pytest

from oxswarm.directory.connection import Directory
from oxswarm.directory.models import Group, Person
from oxswarm.directory.people import GroupRepository, PeopleRepository
from oxswarm.directory.tree import Tree
from oxswarm.errors import Conflict, NotFound
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
    assert stored is not None and stored.startswith("{ARGON2}")
    people.update(people.get_by_uid("alice").model_copy(update={"status": "inactive"}))  # type: ignore[union-attr]
    assert people.authenticate("alice", "New-Pw-2") is None


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
