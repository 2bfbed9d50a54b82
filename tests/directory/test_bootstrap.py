"""``init_directory`` on three real slapd: the tree, idempotence, hashed and encrypted secrets."""

from __future__ import annotations

import pytest

from oxswarm.config.secrets import SecretBox
from oxswarm.directory.bootstrap import InitialData, OwnClient, init_directory
from oxswarm.directory.clients import ClientRepository
from oxswarm.directory.connection import BASE, LEVEL, Directory
from oxswarm.directory.people import GroupRepository, PeopleRepository
from oxswarm.directory.scopes import ScopeRepository
from oxswarm.directory.tree import OUS, Tree
from oxswarm.errors import InvalidInput
from oxswarm.local.process import wait_until
from oxswarm.local.slapd import SlapdNode

from .conftest import config_for

DATA = InitialData(
    admin_inum="a1b2-admin",
    admin_password="Admin-Pw-123",
    admin_email="admin@example.org",
    hostname="idp.example.org",
    own_clients=(
        OwnClient("oxTrust", "1001.aaaa", "oxtrust-secret-value"),
        OwnClient("SCIM RS", "1201.bbbb", "scim-secret-value"),
    ),
)


@pytest.mark.integration
def test_init_loads_tree_once_and_replicates(
    cluster: list[SlapdNode], directory: Directory, box: SecretBox
) -> None:
    first = init_directory(directory, DATA, box)
    tree = Tree()
    assert "o=gluu" in first.present  # seeded by the launcher
    for ou in OUS:
        assert tree.ou(ou) in first.added
    assert "ou=oxauth,ou=configuration,o=gluu" in first.added
    assert tree.person(DATA.admin_inum) in first.added

    second = init_directory(directory, DATA, box)
    assert second.added == []
    assert not second.changed
    assert sorted(second.present) == sorted(first.added + first.present)

    # the whole tree reaches the two other nodes
    count = len(directory.search("o=gluu", attributes=["1.1"]))
    for node in cluster[1:]:
        with Directory(config_for(node)) as other:
            wait_until(
                lambda o=other: len(o.search("o=gluu", attributes=["1.1"])) == count,
                10,
                f"{count} entries on {node.url}",
            )


@pytest.mark.integration
def test_admin_password_hashed_by_slapd(directory: Directory, box: SecretBox) -> None:
    init_directory(directory, DATA, box)
    people = PeopleRepository(directory)
    stored = directory.read(Tree().person(DATA.admin_inum), ["userPassword"]).all("userPassword")
    assert len(stored) == 1
    assert stored[0].startswith("{ARGON2}$argon2")
    assert DATA.admin_password not in stored[0]
    admin = people.authenticate("admin", DATA.admin_password)
    assert admin is not None and admin.inum == DATA.admin_inum
    assert people.authenticate("admin", "wrong") is None
    managers = GroupRepository(directory).get("managers")
    assert managers.members == [DATA.admin_inum]


@pytest.mark.integration
def test_scopes_and_own_clients(directory: Directory, box: SecretBox) -> None:
    init_directory(directory, DATA, box)
    scopes = {s.name: s for s in ScopeRepository(directory).list()}
    scim = {
        f"https://gluu.org/scim/{n}"
        for n in ("users.read", "users.write", "groups.read", "groups.write", "bulk")
    }
    assert (
        set(scopes) == {"openid", "profile", "email", "address", "phone", "offline_access"} | scim
    )
    assert not any(scopes[name].default for name in scim)  # never granted unasked
    assert {scopes[name].scope_type for name in scim} == {"oauth"}
    assert scopes["email"].claims == ["email", "email_verified"]
    assert scopes["phone"].claims == ["phone_number", "phone_number_verified"]
    assert scopes["address"].claims == ["address"]
    clients = ClientRepository(directory, box)
    oxtrust = clients.get("1001.aaaa")
    assert oxtrust.client_secret == "oxtrust-secret-value"
    assert oxtrust.redirect_uris == ["https://idp.example.org/identity/authcode.htm"]
    assert clients.get("1201.bbbb").grant_types == ["client_credentials"]
    raw = directory.search(Tree().ou("clients"), "(objectClass=oxClient)", LEVEL, ["*"])
    for entry in raw:
        text = repr(entry.attrs)
        assert "secret-value" not in text
        assert (entry.get("oxClientSecret") or "").startswith("oxs1:")
    assert directory.search("o=gluu", "(objectClass=*)", BASE, ["1.1"])


def test_initial_data_validated() -> None:
    with pytest.raises(InvalidInput) as err:
        InitialData(admin_inum="x", admin_password="")
    assert err.value.field == "admin_pw"
    assert "Admin-Pw" not in repr(DATA)
