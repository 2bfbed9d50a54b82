"""The admin REST API on a real ``oxswarm run oxtrust`` with real oxAuth tokens.

Scopes are checked before the body (a read-only token with a bad body: 403, not 400);
each resource's CRUD; bad input: 400 naming the field and nothing written; client
metadata refused with ``client_metadata.py``'s wording; oxAuth settings validated and
followed by a running oxAuth; the audit log of API and CLI changes.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from tests.oxauth.conftest import DirectoryTools, Server
from tests.oxtrust.conftest import Tokens

from oxswarm.config import keys as K
from oxswarm.directory.models import Client
from oxswarm.directory.people import PeopleRepository
from oxswarm.local.stack import Stack
from oxswarm.oauth.client_metadata import RedirectUriError, validate
from oxswarm.oxauth.clients_admin import ADMIN_POLICY
from oxswarm.oxtrust.api.routes import API_SCOPES, PREFIX, READ, WRITE

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def api_client(directory_tools: DirectoryTools) -> Client:
    return directory_tools.add_client(grant_types=["client_credentials"], scopes=list(API_SCOPES))


@pytest.fixture(scope="module")
def api_token(oxauth: Server, api_client: Client) -> Tokens:
    def get(*scopes: str) -> str:
        with oxauth.client() as http:
            r = http.post(
                "/oxauth/restv1/token",
                auth=(api_client.client_id, api_client.client_secret or ""),
                data={"grant_type": "client_credentials", "scope": " ".join(scopes)},
            )
        assert r.status_code == 200, r.text
        return str(r.json()["access_token"])

    return get


Api = Callable[..., httpx.Client]


@pytest.fixture(scope="module")
def api(oxtrust: Server, api_token: Tokens) -> Iterator[Api]:
    opened: list[httpx.Client] = []

    def make(*scopes: str) -> httpx.Client:
        headers = {"Authorization": f"Bearer {api_token(*scopes)}"} if scopes else {}
        http = httpx.Client(
            base_url=oxtrust.url + PREFIX, timeout=20.0, trust_env=False, headers=headers
        )
        opened.append(http)
        return http

    yield make
    for http in opened:
        http.close()


@pytest.fixture(scope="module")
def admin(api: Api) -> httpx.Client:
    return api(WRITE)


def _error(r: httpx.Response, status: int, field: str | None = None) -> dict[str, Any]:
    assert r.status_code == status, r.text
    body = r.json()
    assert set(body) == {"error", "error_description", "field"}, body
    if field is not None:
        assert body["field"] == field, body
        assert body["error_description"].startswith(f"{field}: "), body
    return body


def _all(http: httpx.Client, path: str) -> list[dict[str, Any]]:
    r = http.get(path, params={"limit": 200})
    assert r.status_code == 200, r.text
    return list(r.json()["items"])


# -- authentication and scope, before the body --------------------------------------------
def test_no_token_is_401_with_a_bearer_challenge(api: Api) -> None:
    r = api().post("/people", content=b"{not json")
    _error(r, 401)
    assert r.headers["www-authenticate"].startswith("Bearer")
    r = api().get("/people", headers={"Authorization": "Bearer not-a-token"})
    _error(r, 401)
    assert 'error="invalid_token"' in r.headers["www-authenticate"]


def test_read_token_with_a_bad_body_is_403_not_400(api: Api) -> None:
    reader = api(READ)
    for path in ("/people", "/clients", "/groups", "/scopes"):
        r = reader.post(path, content=b'{"uid": 5, "redirect_uris": ["javascript:x"]}')
        body = _error(r, 403)
        assert body["error"] == "insufficient_scope"
        assert 'error="insufficient_scope"' in r.headers["www-authenticate"]
    r = reader.put("/configuration/oxauth/settings",
                   json={"oxauth_lockout_user_failures": "-1"})  # fmt: skip
    _error(r, 403)
    assert reader.get("/people").status_code == 200


# -- people ---------------------------------------------------------------------------------
def test_people_crud_with_a_hashed_password(admin: httpx.Client, stack: Stack) -> None:
    uid = f"api{uuid.uuid4().hex[:8]}"
    r = admin.post("/people", json={"uid": uid, "family_name": "Doe", "given_name": "Ann",
                                    "email": f"{uid}@example.org", "password": "Pass-word-9"})
    assert r.status_code == 201, r.text
    person = r.json()
    assert "password" not in person and person["uid"] == uid
    with stack.directory() as directory:
        people = PeopleRepository(directory)
        assert people.authenticate(uid, "Pass-word-9") is not None
        entry = directory.read(f"inum={person['inum']},ou=people,o=gluu", ["userPassword"])
        stored = entry.get("userPassword")
        assert stored is not None and "Pass-word-9" not in stored
        assert stored.startswith("{ARGON2}$argon2id$v=19$m=7168,t=5,p=1$")
    assert admin.get(f"/people/{person['inum']}").json()["email"] == f"{uid}@example.org"
    found = admin.get("/people", params={"q": uid}).json()
    assert [p["uid"] for p in found["items"]] == [uid] and found["total"] == 1
    tag = admin.get(f"/people/{person['inum']}").headers["etag"]
    r = admin.put(f"/people/{person['inum']}", json={"uid": uid, "family_name": "Smith"},
                  headers={"If-Match": tag})  # fmt: skip
    assert r.status_code == 200 and r.json()["family_name"] == "Smith"
    assert r.json()["given_name"] is None and r.headers["etag"] != tag
    stale = admin.put(f"/people/{person['inum']}", json={"uid": uid, "family_name": "Old"},
                      headers={"If-Match": tag})  # fmt: skip
    _error(stale, 412, "If-Match")
    _error(admin.delete(f"/people/{person['inum']}", headers={"If-Match": tag}), 412)
    assert admin.get(f"/people/{person['inum']}").json()["family_name"] == "Smith"
    assert admin.delete(f"/people/{person['inum']}").status_code == 204
    _error(admin.get(f"/people/{person['inum']}"), 404)


def test_people_bad_input_names_the_field_and_writes_nothing(admin: httpx.Client) -> None:
    before = len(_all(admin, "/people"))
    _error(admin.post("/people", json={"uid": "bad uid", "family_name": "X"}), 400, "uid")
    _error(admin.post("/people", json={"uid": "okuid1", "family_name": ""}), 400, "family_name")
    _error(admin.post("/people", json={"uid": "okuid2", "family_name": "X", "email": "no-at"}),
           400, "email")  # fmt: skip
    _error(admin.post("/people", json={"uid": "okuid3", "family_name": "X", "inum": "x"}),
           400, "inum")  # fmt: skip
    _error(admin.post("/people", content=b"[1]"), 400, "body")
    _error(admin.get("/people", params={"limit": "1000"}), 400, "limit")
    _error(admin.get("/people", params={"start": "-1"}), 400, "start")
    assert len(_all(admin, "/people")) == before
    r = admin.post("/people", json={"uid": "admin", "family_name": "Dup"})
    assert r.status_code == 409, r.text


# -- groups ---------------------------------------------------------------------------------
def test_groups_and_members(admin: httpx.Client, directory_tools: DirectoryTools) -> None:
    ann, bob = directory_tools.add_person(), directory_tools.add_person()
    before = len(_all(admin, "/groups"))
    _error(admin.post("/groups", json={"display_name": "G", "members": [ann.inum, "nobody"]}),
           400, "members.1")  # fmt: skip
    assert len(_all(admin, "/groups")) == before
    r = admin.post("/groups", json={"display_name": "Editors", "members": [ann.inum]})
    assert r.status_code == 201, r.text
    inum = r.json()["inum"]
    r = admin.post(f"/groups/{inum}/members", json={"members": [bob.inum]})
    assert r.status_code == 200 and set(r.json()["members"]) == {ann.inum, bob.inum}
    assert set(admin.get(f"/groups/{inum}/members").json()["members"]) == {ann.inum, bob.inum}
    assert admin.delete(f"/groups/{inum}/members/{ann.inum}").status_code == 204
    _error(admin.delete(f"/groups/{inum}/members/{ann.inum}"), 404)
    r = admin.put(f"/groups/{inum}", json={"display_name": "Writers", "members": []})
    assert r.json() == {"inum": inum, "display_name": "Writers", "description": None,
                        "members": [], "status": "active"}  # fmt: skip
    assert admin.delete(f"/groups/{inum}").status_code == 204
    _error(admin.get(f"/groups/{inum}"), 404)


# -- clients --------------------------------------------------------------------------------
def test_clients_crud_and_the_admin_flags(admin: httpx.Client, oxauth: Server) -> None:
    r = admin.post("/clients", json={
        "client_name": "api-made", "grant_types": ["client_credentials"],
        "scope": "phone", "trusted": True, "resource_server": True,
    })  # fmt: skip
    assert r.status_code == 201, r.text
    made = r.json()
    assert made["trusted"] is True and made["resource_server"] is True and made["client_secret"]
    client_id = made["client_id"]
    shown = admin.get(f"/clients/{client_id}").json()
    assert "client_secret" not in shown and shown["client_name"] == "api-made"
    with oxauth.client() as http:  # the new client works at oxAuth at once
        r = http.post("/oxauth/restv1/token", auth=(client_id, made["client_secret"]),
                      data={"grant_type": "client_credentials", "scope": "phone"})  # fmt: skip
    assert r.status_code == 200, r.text
    r = admin.put(f"/clients/{client_id}", json={"client_name": "renamed",
                                                 "grant_types": ["client_credentials"]})
    assert r.status_code == 200, r.text
    assert r.json()["client_name"] == "renamed" and r.json()["trusted"] is True
    assert "client_secret" not in r.json()  # kept, not shown again
    assert admin.delete(f"/clients/{client_id}").status_code == 204
    _error(admin.get(f"/clients/{client_id}"), 404)


def test_clients_refused_like_client_metadata_refuses(admin: httpx.Client) -> None:
    before = len(_all(admin, "/clients"))
    bad = {"client_name": "x", "redirect_uris": ["javascript:alert(1)"]}
    with pytest.raises(RedirectUriError) as refused:
        validate(bad, ADMIN_POLICY, client_id="probe")
    body = _error(admin.post("/clients", json=bad), 400, "redirect_uris")
    assert body["error"] == "invalid_redirect_uri"
    assert body["error_description"] == refused.value.description
    body = _error(admin.post("/clients", json={"grant_types": ["client_credentials"],
                                               "token_endpoint_auth_method": "none"}),
                  400, "grant_types")  # fmt: skip
    assert body["error"] == "invalid_client_metadata"
    _error(admin.post("/clients", json={"access_token_format": "xml"}), 400,
           "access_token_format")  # fmt: skip
    assert len(_all(admin, "/clients")) == before


# -- scopes and attributes -----------------------------------------------------------------------
def test_scopes_crud_with_a_url_name(admin: httpx.Client) -> None:
    name = f"https://api.example/{uuid.uuid4().hex[:6]}.read"
    _error(admin.post("/scopes", json={"name": "has space"}), 400, "name")
    r = admin.post("/scopes", json={"name": name, "description": "d", "scope_type": "oauth"})
    assert r.status_code == 201, r.text
    assert admin.post("/scopes", json={"name": name}).status_code == 409
    r = admin.put(f"/scopes/{name}", json={"name": name, "claims": ["email"]})
    assert r.status_code == 200 and r.json()["claims"] == ["email"], r.text
    assert r.json()["description"] is None
    assert admin.get(f"/scopes/{name}").json()["claims"] == ["email"]
    assert name in [s["name"] for s in admin.get("/scopes", params={"q": name}).json()["items"]]
    assert admin.delete(f"/scopes/{name}").status_code == 204
    _error(admin.get(f"/scopes/{name}"), 404)
    api_scopes = {s["name"]: s for s in _all(admin, "/scopes") if s["name"] in API_SCOPES}
    assert set(api_scopes) == set(API_SCOPES)
    assert not any(s["default"] for s in api_scopes.values())


def test_attributes_crud(admin: httpx.Client) -> None:
    name = f"attr{uuid.uuid4().hex[:6]}"
    _error(admin.post("/attributes", json={"name": "1bad"}), 400, "name")
    r = admin.post("/attributes", json={"name": name, "claim": "nick_name"})
    assert r.status_code == 201, r.text
    inum = r.json()["inum"]
    assert admin.post("/attributes", json={"name": name}).status_code == 409
    r = admin.put(f"/attributes/{inum}", json={"name": name, "status": "inactive"})
    assert r.json()["status"] == "inactive" and r.json()["claim"] is None
    assert admin.delete(f"/attributes/{inum}").status_code == 204
    _error(admin.get(f"/attributes/{inum}"), 404)


# -- configuration ----------------------------------------------------------------------------
def test_configuration_masks_secrets(api: Api, stack: Stack) -> None:
    r = api(READ).get("/configuration")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["secret"] and set(body["secret"].values()) == {"**********"}
    manager = stack.manager()
    try:
        password = manager.get_secret(K.LDAP_ADMIN_PW)
    finally:
        manager.store.close()
    assert password and password not in r.text


def _registration_status(oxauth: Server) -> int:
    with oxauth.client() as http:
        r = http.post("/oxauth/restv1/register",
                      json={"redirect_uris": ["https://rp.example/cb"]})  # fmt: skip
    return r.status_code


def test_settings_validated_and_followed_by_oxauth(admin: httpx.Client, oxauth: Server) -> None:
    before = admin.get("/configuration/oxauth/settings").json()
    r = admin.put("/configuration/oxauth/settings",
                  json={"oxauth_lockout_window": "60", "oxauth_lockout_user_failures": "0"})
    _error(r, 400, "oxauth_lockout_user_failures")
    _error(admin.put("/configuration/oxauth/settings", json={"oxauth_registration": "maybe"}),
           400, "oxauth_registration")  # fmt: skip
    _error(admin.put("/configuration/oxauth/settings", json={"nope": "1"}), 400, "nope")
    _error(admin.put("/configuration/oxauth/settings", json={"oxauth_session_lifetime": "5"}),
           400, "oxauth_session_lifetime")  # fmt: skip
    _error(admin.put("/configuration/oxauth/settings", json={"oxauth_default_acr": "otp"}),
           400, "oxauth_default_acr")  # fmt: skip
    _error(admin.put("/configuration/oxauth/settings", json={"oxauth_fetch_ca": "a CA"}),
           400, "oxauth_fetch_ca")  # fmt: skip
    assert admin.get("/configuration/oxauth/settings").json() == before  # nothing written
    assert _registration_status(oxauth) == 201
    r = admin.put("/configuration/oxauth/settings", json={"oxauth_registration": "off"})
    try:
        assert r.status_code == 200 and r.json()["oxauth_registration"] == "off", r.text
        deadline = time.monotonic() + 15
        while _registration_status(oxauth) == 201 and time.monotonic() < deadline:
            time.sleep(0.3)
        assert _registration_status(oxauth) != 201
    finally:
        admin.put("/configuration/oxauth/settings",
                  json={"oxauth_registration": before["oxauth_registration"]})  # fmt: skip


# -- audit log --------------------------------------------------------------------------------
def _cli(stack: Stack, *args: str) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, "-m", "oxswarm", *args, "--store", stack.store_url,
            "--cluster", stack.cluster, "--master-key-file", str(stack.master_key_file),
            "--ldap-url", stack.ldap_urls[0]]  # fmt: skip
    return subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False,
                          env={**os.environ})  # fmt: skip


def test_audit_log_of_api_and_cli_changes(
    admin: httpx.Client, api: Api, api_client: Client, stack: Stack
) -> None:
    name = f"https://audit.example/{uuid.uuid4().hex[:6]}"
    assert admin.post("/scopes", json={"name": name}).status_code == 201
    done = _cli(stack, "clients", "add", "--name", "cli-audited", "--grant-type",
                "client_credentials", "--scope", "openid")  # fmt: skip
    assert done.returncode == 0, done.stderr
    cli_client = json.loads(done.stdout)
    r = api(READ).get("/audit", params={"limit": 2})
    assert r.status_code == 200, r.text
    page = r.json()
    assert page["total"] >= 2 and page["limit"] == 2 and len(page["items"]) == 2
    newest, second = page["items"]
    assert newest["action"] == "client.create" and newest["target"] == cli_client["client_id"]
    assert newest["actor"].startswith("cli:") and newest["address"] is None
    assert "client_secret" not in newest["detail"]
    assert cli_client["client_secret"] not in r.text
    assert second["action"] == "scope.create" and second["target"] == name
    assert second["actor"] == f"client:{api_client.client_id}"
    assert second["address"] == "127.0.0.1"
    assert newest["time"] > second["time"]
    r = api(READ).get("/audit", params={"start": 1, "limit": 1})
    assert r.json()["items"] == [second]
    listed = _cli(stack, "audit", "list", "--limit", "2")
    assert listed.returncode == 0, listed.stderr
    lines = listed.stdout.splitlines()
    assert lines[0].split()[:3] == ["TIME", "(UTC)", "ACTOR"]
    assert "client.create" in lines[1] and "scope.create" in lines[2]
    as_json = json.loads(_cli(stack, "audit", "list", "--limit", "1", "--json").stdout)
    assert as_json["items"] == [newest]


def test_openapi_document_is_served(api: Api) -> None:
    r = api().get("/openapi.json")
    assert r.status_code == 200
    doc = r.json()
    assert doc["openapi"].startswith("3.") and "/configuration/oxauth/settings" in doc["paths"]
