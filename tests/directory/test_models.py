"""Model validation and the LDAP mapping of people and clients (no server)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from oxswarm.config.secrets import SecretBox
from oxswarm.directory.clients import client_attributes, client_from_entry
from oxswarm.directory.connection import Entry
from oxswarm.directory.models import Client, Person, Scope
from oxswarm.directory.people import person_attributes, person_from_entry
from oxswarm.directory.scopes import STANDARD_SCOPES
from oxswarm.directory.tree import Tree, base_entry, parse_generalized_time


@pytest.mark.parametrize(
    ("field", "value"),
    [("uid", "a b"), ("inum", ""), ("email", "no-at"), ("country", "GBR"), ("status", "gone")],
)
def test_person_rejects(field: str, value: str) -> None:
    values = {"inum": "i1", "uid": "u1", "family_name": "F", field: value}
    with pytest.raises(ValidationError):
        Person(**values)  # type: ignore[arg-type]


def test_person_round_trip() -> None:
    person = Person(inum="i1", uid="u1", family_name="Doe", given_name="Jane", country="DE")
    attrs = person_attributes(person)
    assert attrs["cn"] == ["Jane Doe"] and attrs["sn"] == ["Doe"] and attrs["mail"] == []
    entry = Entry("inum=i1,ou=people,o=gluu", {k.lower(): v for k, v in attrs.items() if v})
    assert person_from_entry(entry) == person


def test_client_round_trip_encrypts_secret() -> None:
    box = SecretBox(b"k" * 32)
    client = Client(client_id="c1", client_secret="s3", redirect_uris=["https://a/cb"])
    attrs = client_attributes(client, box)
    assert attrs["oxClientSecret"][0].startswith("oxs1:")
    assert "s3" not in attrs["oxClientSecret"][0]
    entry = Entry("inum=c1,ou=clients,o=gluu", {k.lower(): v for k, v in attrs.items() if v})
    assert client_from_entry(entry, box) == client
    with pytest.raises(ValidationError):
        Client(client_id="c1", access_token_format="paseto")  # type: ignore[arg-type]


def test_scope_tokens_and_standard_claims() -> None:
    with pytest.raises(ValidationError):
        Scope(name="two words")
    claims = {s.name: s.claims for s in STANDARD_SCOPES}
    assert "preferred_username" in claims["profile"] and "updated_at" in claims["profile"]
    assert claims["offline_access"] == []


def test_tree_and_helpers() -> None:
    assert Tree().client("a,b") == "inum=a\\,b,ou=clients,o=gluu"
    assert base_entry("dc=example,dc=org")["objectClass"] == ["top", "dcObject", "organization"]
    assert parse_generalized_time("20261126005355Z") is not None
    assert parse_generalized_time("garbage") is None
