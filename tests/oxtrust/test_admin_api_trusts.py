"""The admin API's SAML trust relationships (``/trusts``) on a real ``oxswarm run oxtrust``
with real oxAuth tokens: the same rules as ``oxswarm saml trust`` (metadata through
pysaml2, no DOCTYPE, released attributes, NameID formats), CRUD, scopes, the audit log."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from tests.oxshibboleth.sp import ServiceProvider
from tests.oxtrust.test_admin_api import (  # noqa: F401  (the admin API's fixtures)
    Api,
    _error,
    admin,
    api,
    api_client,
    api_token,
)

from oxswarm.crypto import pki
from oxswarm.oxshibboleth.idp import IdpKeys, KeyFiles, idp_config, metadata_xml
from oxswarm.oxtrust.api.routes import READ

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def idp_md() -> Iterator[str]:
    pair = pki.self_signed_cert("idp")
    files = KeyFiles(IdpKeys(pair.cert_pem, pair.key_pem, pair.cert_pem, pair.key_pem))
    try:
        yield metadata_xml(idp_config("https://id.example.org", files, [], want_signed=False))
    finally:
        files.close()


def new_sp(idp_md: str, tmp_path: Path) -> ServiceProvider:
    return ServiceProvider(f"https://sp-{uuid.uuid4().hex[:8]}.test/sp", tmp_path, idp_md)


def test_trust_crud_through_the_api(
    admin: httpx.Client, api: Api, idp_md: str, tmp_path: Path  # noqa: F811
) -> None:
    sp = new_sp(idp_md, tmp_path)
    r = admin.post("/trusts", json={"metadata": sp.metadata, "name": "Wiki",
                                    "release": ["uid", "sn"], "nameid_format": "persistent"})
    assert r.status_code == 201, r.text
    made = r.json()
    assert made["entity_id"] == sp.entity_id and made["acs"] == [sp.acs]
    assert made["release"] == ["uid", "sn"] and made["nameid_format"] == "persistent"
    listed = api(READ).get("/trusts", params={"q": "wiki"}).json()
    assert sp.entity_id in [t["entity_id"] for t in listed["items"]]
    assert api(READ).get(f"/trusts/{made['inum']}").json() == made
    assert api(READ).post("/trusts", json={"metadata": sp.metadata}).status_code == 403
    r = admin.put(f"/trusts/{made['inum']}", json={"metadata": sp.metadata, "name": "Wiki 2",
                                                   "encrypt_assertions": True})
    assert r.status_code == 200, r.text
    assert r.json()["name"] == "Wiki 2" and r.json()["encrypt_assertions"] is True
    assert r.json()["release"] == ["uid", "mail"]  # a PUT replaces: the default release
    _error(admin.post("/trusts", json={"metadata": sp.metadata}), 409)
    other = new_sp(idp_md, tmp_path / "other")
    _error(admin.put(f"/trusts/{made['inum']}", json={"metadata": other.metadata}), 400,
           "metadata")
    audit = api(READ).get("/audit", params={"limit": 5}).json()["items"]
    assert [e["action"] for e in audit[:2]] == ["saml_trust.update", "saml_trust.create"]
    assert admin.delete(f"/trusts/{made['inum']}").status_code == 204
    _error(api(READ).get(f"/trusts/{made['inum']}"), 404)


def test_bad_trusts_are_400_naming_the_field_and_nothing_is_written(
    admin: httpx.Client, api: Api, idp_md: str, tmp_path: Path  # noqa: F811
) -> None:
    sp = new_sp(idp_md, tmp_path)
    before = api(READ).get("/trusts", params={"limit": 200}).json()["total"]
    doctype = '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e "b">]>' + sp.metadata
    for body, field in (({"metadata": doctype}, "metadata"),
                        ({"metadata": "<x/>"}, "metadata"),
                        ({"metadata": sp.metadata, "release": ["userPassword"]}, "release"),
                        ({"metadata": sp.metadata, "nameid_format": "x"}, "nameid_format"),
                        ({"metadata": sp.metadata, "extra": 1}, "extra"),
                        ({}, "metadata")):
        _error(admin.post("/trusts", json=body), 400, field)
    assert api(READ).get("/trusts", params={"limit": 200}).json()["total"] == before
