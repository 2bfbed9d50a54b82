"""OAuth clients on real slapd: CRUD, the secret stored encrypted, fast lookups."""

from __future__ import annotations

import time

import pytest

from oxswarm.config.secrets import SecretBox
from oxswarm.directory.clients import ClientRepository, secret_name
from oxswarm.directory.connection import Directory
from oxswarm.directory.models import Client
from oxswarm.directory.tree import Tree
from oxswarm.errors import Conflict, NotFound, SecretError

pytestmark = pytest.mark.integration

CLIENT = Client(
    client_id="client-1",
    client_secret="very-secret-42",
    name="Shop",
    redirect_uris=["https://shop.example/cb", "https://shop.example/cb2"],
    grant_types=["authorization_code", "refresh_token"],
    scopes=["openid", "email"],
    jwks={"keys": [{"kty": "oct", "k": "AA"}]},
    access_token_format="jwt",
    subject_type="pairwise",
    sector_identifier_uri="https://shop.example/sector.json",
    backchannel_logout_uri="https://shop.example/bcl",
    registration_access_token_hash="abc",
    allow_password_grant=True,
    metadata={"logo_uri": "https://shop.example/logo.png", "contacts": ["a@shop.example"]},
)


def test_client_crud(directory: Directory, box: SecretBox) -> None:
    directory.add("ou=clients,o=gluu", {"objectClass": ["organizationalUnit"], "ou": ["clients"]})
    clients = ClientRepository(directory, box)
    stored = clients.add(CLIENT)
    assert stored.model_dump(exclude={"created_at"}) == CLIENT.model_dump(exclude={"created_at"})
    assert stored.created_at is not None
    with pytest.raises(Conflict):
        clients.add(CLIENT)
    raw = directory.read(Tree().client("client-1"))
    assert "very-secret-42" not in repr(raw.attrs)
    token = raw.get("oxClientSecret")
    assert token is not None and box.decrypt(secret_name("client-1"), token) == "very-secret-42"
    with pytest.raises(SecretError):  # bound to its client: not usable under another name
        box.decrypt(secret_name("client-2"), token)

    updated = clients.update(stored.model_copy(update={"redirect_uris": [], "name": "Shop 2"}))
    assert updated.redirect_uris == [] and updated.name == "Shop 2"
    assert updated.client_secret == "very-secret-42"
    assert [c.client_id for c in clients.list()] == ["client-1"]

    started = time.perf_counter()
    for _ in range(100):
        clients.get("client-1")
    per_lookup = (time.perf_counter() - started) / 100
    assert per_lookup < 0.05  # one search on an open connection, no bind

    clients.remove("client-1")
    with pytest.raises(NotFound):
        clients.get("client-1")
    with pytest.raises(NotFound):
        clients.remove("client-1")
