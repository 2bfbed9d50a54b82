"""The admin API's oxPassport providers (``/passport/providers``) on a real ``oxswarm run
oxtrust`` with real oxAuth tokens: the rules and the store of ``oxswarm providers``, the
secret write-only and encrypted, scopes, the audit log; bad input 400 naming the field,
nothing written."""

from __future__ import annotations

import uuid

import httpx
import pytest
from tests.oxtrust.test_admin_api import (  # noqa: F401  (the admin API's fixtures)
    Api,
    _error,
    admin,
    api,
    api_client,
    api_token,
)

from oxswarm.directory.people import PeopleRepository
from oxswarm.local.stack import Stack
from oxswarm.oxtrust.api.routes import READ, WRITE

pytestmark = pytest.mark.integration

SECRET = "api-secret-" + uuid.uuid4().hex


def test_provider_crud_through_the_api(admin: httpx.Client, api: Api) -> None:  # noqa: F811
    pid = "api" + uuid.uuid4().hex[:8]
    r = admin.post("/passport/providers", json={
        "id": pid, "issuer": "https://op.example.org", "client_id": "abc",
        "client_secret": SECRET, "scopes": ["email"], "linking": "link_by_email",
        "mapping": {"nickname": "display_name"}, "name": "Example"})
    assert r.status_code == 201, r.text
    made = r.json()
    assert made["client_secret_set"] is True and SECRET not in r.text
    assert made["scopes"] == ["openid", "email"] and made["linking"] == "link_by_email"
    listed = api(READ).get("/passport/providers", params={"q": "example"}).json()
    assert pid in [p["id"] for p in listed["items"]] and SECRET not in str(listed)
    assert api(READ).get(f"/passport/providers/{pid}").json() == made
    assert api(READ).post("/passport/providers", json={}).status_code == 403
    # a PUT replaces; without client_secret the secret stays
    r = admin.put(f"/passport/providers/{pid}", json={
        "issuer": "https://op.example.org", "client_id": "abc", "enabled": False})
    assert r.status_code == 200, r.text
    assert r.json()["enabled"] is False and r.json()["linking"] == "create"
    assert r.json()["client_secret_set"] is True
    _error(admin.put(f"/passport/providers/{pid}", json={
        "id": "other", "issuer": "https://op.example.org", "client_id": "abc"}), 400, "id")
    _error(admin.post("/passport/providers", json={
        "id": pid, "issuer": "https://op.example.org", "client_id": "abc",
        "client_secret": "x"}), 400, "id")
    audit = api(READ).get("/audit", params={"limit": 5}).json()["items"]
    assert [e["action"] for e in audit[:2]] == ["passport_provider.update",
                                                "passport_provider.create"]
    assert SECRET not in str(audit)
    assert admin.delete(f"/passport/providers/{pid}").status_code == 204
    _error(api(READ).get(f"/passport/providers/{pid}"), 404)


def test_bad_providers_are_400_naming_the_field(admin: httpx.Client, api: Api) -> None:  # noqa: F811
    before = api(READ).get("/passport/providers", params={"limit": 200}).json()["total"]
    good = {"id": "bad" + uuid.uuid4().hex[:6], "issuer": "https://op.example.org",
            "client_id": "c", "client_secret": "s"}
    for change, field in (({"id": "Bad Id"}, "id"), ({"issuer": "ftp://x"}, "issuer"),
                          ({"linking": "merge"}, "linking"),
                          ({"mapping": {"x": "userPassword"}}, "mapping"),
                          ({"client_secret": None}, "client_secret"),
                          ({"extra": 1}, "extra"), ({"scopes": ["a b"]}, "scope")):
        _error(admin.post("/passport/providers", json={**good, **change}), 400, field)
    assert api(READ).get("/passport/providers", params={"limit": 200}).json()["total"] == before


def test_saml_provider_through_the_api(admin: httpx.Client, api: Api) -> None:  # noqa: F811
    from tests.passport.test_saml_unit import metadata

    pid = "saml" + uuid.uuid4().hex[:8]
    r = admin.post("/passport/providers", json={
        "id": pid, "type": "saml", "metadata": metadata(), "subject_attribute": "uid"})
    assert r.status_code == 201, r.text
    made = r.json()
    assert (made["type"], made["issuer"], made["subject_attribute"]) == (
        "saml", "https://idp.example/md", "uid")
    assert made["client_secret_set"] is False
    assert api(READ).get(f"/passport/providers/{pid}").json() == made
    _error(admin.post("/passport/providers", json={
        "id": pid + "x", "type": "saml", "metadata": metadata(key=False)}), 400, "metadata")
    _error(admin.post("/passport/providers", json={
        "id": pid + "y", "type": "saml"}), 400, "metadata")
    assert admin.delete(f"/passport/providers/{pid}").status_code == 204


def test_person_links_shown_and_removed(admin: httpx.Client, api: Api,  # noqa: F811
                                        stack: Stack) -> None:
    r = admin.post("/people", json={"uid": "linked" + uuid.uuid4().hex[:8],
                                    "family_name": "Linked"})
    assert r.status_code == 201, r.text
    inum = r.json()["inum"]
    links = ["passport-partner:248289761001", "passport-idp:https://idp.example/u/7"]
    with stack.directory() as directory:
        for link in links:
            PeopleRepository(directory).add_external_uid(inum, link)
    assert api(READ).get(f"/people/{inum}/links").json() == {"links": sorted(links)}
    assert api(READ).delete(f"/people/{inum}/links/{links[0]}").status_code == 403
    # a subject with slashes stays one path parameter
    assert admin.delete(f"/people/{inum}/links/{links[1]}").status_code == 204
    assert admin.get(f"/people/{inum}/links").json() == {"links": [links[0]]}
    _error(admin.delete(f"/people/{inum}/links/{links[1]}"), 404)
    _error(admin.get("/people/no-such-inum/links"), 404)
    audit = api(READ).get("/audit", params={"limit": 1}).json()["items"][0]
    assert (audit["action"], audit["target"]) == ("person.unlink", inum)
    with stack.directory() as directory:
        assert PeopleRepository(directory).external_uids(inum) == [links[0]]


def test_concurrent_edits_lose_nothing_and_a_stale_one_is_refused(
        api: Api, stack: Stack) -> None:  # noqa: F811
    """Four clients PUT their own provider at once, three times each (If-Match from their
    GET): every last PUT is stored. A PUT or DELETE whose If-Match names a version another
    writer replaced is 412 with the error body, nothing written."""
    import concurrent.futures
    import dataclasses

    from oxswarm.passport.providers import ProviderStore

    run = uuid.uuid4().hex[:6]
    ids = [f"par{run}{n}" for n in range(4)]
    writer = api(WRITE)
    for pid in ids:
        assert writer.post("/passport/providers", json={
            "id": pid, "issuer": "https://op.example.org", "client_id": "c",
            "client_secret": SECRET}).status_code == 201

    def edits(pid: str) -> None:
        http = api(WRITE)
        for step in range(3):
            tag = http.get(f"/passport/providers/{pid}").headers["etag"]
            r = http.put(f"/passport/providers/{pid}", headers={"If-Match": tag}, json={
                "issuer": "https://op.example.org", "client_id": "c", "name": f"{pid} {step}"})
            assert r.status_code == 200, r.text

    with concurrent.futures.ThreadPoolExecutor(len(ids)) as pool:
        for done in [pool.submit(edits, pid) for pid in ids]:
            done.result()
    names = {p["id"]: p["name"] for p in api(READ).get(
        "/passport/providers", params={"q": run, "limit": 50}).json()["items"]}
    assert names == {pid: f"{pid} 2" for pid in ids}
    # a stale If-Match: another writer (the store, as the CLI) changed the provider
    stale = writer.get(f"/passport/providers/{ids[0]}").headers["etag"]
    manager = stack.manager()
    try:
        store = ProviderStore(manager)
        store.replace(dataclasses.replace(store.get(ids[0]), linking="existing_only"))
    finally:
        manager.store.close()
    body = _error(writer.put(f"/passport/providers/{ids[0]}", headers={"If-Match": stale},
                             json={"issuer": "https://op.example.org", "client_id": "c",
                                   "name": "stale"}), 412, "If-Match")
    assert body["error"] == "precondition_failed"
    _error(writer.delete(f"/passport/providers/{ids[0]}", headers={"If-Match": stale}), 412,
           "If-Match")
    kept = writer.get(f"/passport/providers/{ids[0]}").json()
    assert (kept["name"], kept["linking"]) == (f"{ids[0]} 2", "existing_only")
    for pid in ids:
        assert writer.delete(f"/passport/providers/{pid}").status_code == 204
