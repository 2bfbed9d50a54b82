"""``init_directory`` on three real slapd: the tree, idempotence, hashed and encrypted secrets."""

from __future__ import annotations

import dataclasses

import pytest

from oxswarm.config.secrets import SecretBox
from oxswarm.directory.bootstrap import (
    InitialData,
    OwnClient,
    init_directory,
    own_client,
    upgrade_oxtrust_client,
)
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
    assert managers.display_name == "Gluu Manager Group"


@pytest.mark.integration
def test_scopes_and_own_clients(directory: Directory, box: SecretBox) -> None:
    init_directory(directory, DATA, box)
    scopes = {s.name: s for s in ScopeRepository(directory).list()}
    scim = {
        f"https://gluu.org/scim/{n}"
        for n in ("users.read", "users.write", "groups.read", "groups.write", "bulk")
    } | {"https://gluu.org/oxtrust/api.read", "https://gluu.org/oxtrust/api.write"}
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
    assert oxtrust.redirect_uris == ["https://idp.example.org/identity/auth/callback"]
    assert oxtrust.post_logout_redirect_uris == ["https://idp.example.org/identity/auth/signed-out"]
    assert oxtrust.trusted  # the admin UI signs in with no consent page
    assert clients.get("1201.bbbb").grant_types == ["client_credentials"]
    raw = directory.search(Tree().ou("clients"), "(objectClass=oxClient)", LEVEL, ["*"])
    for entry in raw:
        text = repr(entry.attrs)
        assert "secret-value" not in text
        assert (entry.get("oxClientSecret") or "").startswith("oxs1:")
    assert directory.search("o=gluu", "(objectClass=*)", BASE, ["1.1"])


@pytest.mark.integration
def test_an_oxtrust_client_from_before_the_ui_gets_its_sign_in(
        directory: Directory, box: SecretBox) -> None:
    """A directory loaded before the admin UI had oxTrust's client as a machine client:
    ``ldap init`` (which every ``up`` runs) gives it the code flow and the cluster's URIs,
    keeping what it had; a second run changes nothing."""
    old = OwnClient("oxTrust", "1001.before-ui", "old-secret-value")
    init_directory(directory, DATA, box)  # the tree
    clients = ClientRepository(directory, box)
    clients.add(own_client(old, None))  # as loaded without a hostname's UI
    assert clients.get(old.client_id).redirect_uris == []
    init_directory(directory, dataclasses.replace(DATA, own_clients=(old,)), box)
    client = clients.get(old.client_id)
    assert client.redirect_uris == ["https://idp.example.org/identity/auth/callback"]
    assert client.post_logout_redirect_uris == ["https://idp.example.org/identity/auth/signed-out"]
    assert client.trusted and client.client_secret == "old-secret-value"
    assert client.grant_types == ["client_credentials", "authorization_code", "refresh_token"]
    assert {"openid", "profile", "email"} <= set(client.scopes)
    assert upgrade_oxtrust_client(clients, old.client_id, "idp.example.org") is False


def test_initial_data_validated() -> None:
    with pytest.raises(InvalidInput) as err:
        InitialData(admin_inum="x", admin_password="")
    assert err.value.field == "admin_pw"
    assert "Admin-Pw" not in repr(DATA)
