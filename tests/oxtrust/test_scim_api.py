"""SCIM 2.0 on a real ``oxswarm run oxtrust`` process: real slapd, cache, oxAuth tokens."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from tests.oxtrust.conftest import PREFIX, DirectoryTools, Server, Tokens

from oxswarm.directory.connection import REPLACE
from oxswarm.directory.models import Client
from oxswarm.local.stack import Stack
from oxswarm.oxtrust.scim.auth import USERS_READ
from oxswarm.scim.schemas import BULK_REQUEST, GLUU_USER, GROUP, PATCH_OP, SEARCH_REQUEST, USER

pytestmark = pytest.mark.integration
PASSWORD = "Scim-pass-word-1"
ARGON2ID = "{ARGON2}$argon2id$v=19$m=7168,t=5,p=1$"  # hashed by oxswarm at OWASP's setting


def new_user(**extra: Any) -> dict[str, Any]:
    name = f"u{uuid.uuid4().hex[:10]}"
    return {
        "schemas": [USER],
        "userName": name,
        "name": {"familyName": "Jensen", "givenName": "Barbara"},
        "emails": [{"value": f"{name}@work.example", "type": "work", "primary": True}],
        **extra,
    }


def create(scim: httpx.Client, body: dict[str, Any], kind: str = "Users") -> dict[str, Any]:
    r = scim.post(f"/{kind}", json=body)
    assert r.status_code == 201, r.text
    return dict(r.json())


def assert_error(r: httpx.Response, status: int, scim_type: str | None, words: str = "") -> None:
    assert r.status_code == status, r.text
    body = r.json()
    assert body["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"]
    assert body["status"] == str(status)
    assert body.get("scimType") == scim_type
    assert words in body["detail"]


# -- bearer tokens and scopes ---------------------------------------------------------------
def test_no_token_401_bad_token_401_missing_scope_403(oxtrust: Server, token: Tokens) -> None:
    with httpx.Client(base_url=oxtrust.url + PREFIX, trust_env=False, timeout=20) as http:
        r = http.post("/Users", content=b"not even json")  # refused before the body is read
        assert_error(r, 401, None, "bearer")
        assert r.headers["www-authenticate"] == 'Bearer realm="scim"'
        r = http.get("/Users", headers={"Authorization": "Bearer not-a-token"})
        assert_error(r, 401, None, "invalid")
        assert 'error="invalid_token"' in r.headers["www-authenticate"]
        reader = {"Authorization": f"Bearer {token(USERS_READ)}"}
        assert http.get("/Users", headers=reader).status_code == 200
        r = http.post("/Users", headers=reader, content=b"not even json")
        assert_error(r, 403, None, "users.write")
        assert 'error="insufficient_scope"' in r.headers["www-authenticate"]
        assert_error(http.get("/Groups", headers=reader), 403, None, "groups.read")
        assert_error(http.post("/Bulk", headers=reader, json={}), 403, None, "bulk")
        # discovery is public
        assert http.get("/ServiceProviderConfig").json()["bulk"]["maxOperations"] == 100


def test_jwt_access_tokens_and_revocation(
    oxtrust: Server, oxauth: Server, directory_tools: DirectoryTools
) -> None:
    """A JWT access token (RFC 9068) is accepted like an opaque one; a revoked one is not."""
    client = directory_tools.add_client(
        grant_types=["client_credentials"], scopes=[USERS_READ], access_token_format="jwt"
    )
    auth = (client.client_id, client.client_secret or "")
    with oxauth.client() as http:
        r = http.post(
            "/oxauth/restv1/token",
            auth=auth,
            data={"grant_type": "client_credentials", "scope": USERS_READ},
        )
        assert r.status_code == 200, r.text
        jwt = r.json()["access_token"]
        assert jwt.count(".") == 2
        with httpx.Client(base_url=oxtrust.url + PREFIX, trust_env=False, timeout=20) as scim:
            bearer = {"Authorization": f"Bearer {jwt}"}
            assert scim.get("/Users", headers=bearer, params={"count": 1}).status_code == 200
            r = http.post("/oxauth/restv1/revoke", auth=auth, data={"token": jwt})
            assert r.status_code == 200, r.text
            assert_error(scim.get("/Users", headers=bearer), 401, None, "revoked")
            assert scim.get(oxtrust.url + "/identity/health").json() == {"status": "ok"}
            for path in ("/.well-known/scim-configuration", "/identity/restv1/scim-configuration"):
                wk = scim.get(oxtrust.url + path).json()  # the second: where NGINX sends it
                assert wk[0]["user_endpoint"] == f"{oxtrust.url}{PREFIX}/Users"


# -- users -----------------------------------------------------------------------------------
def test_user_lifecycle_with_etags(scim: httpx.Client) -> None:
    body = new_user(externalId="ext-1", **{GLUU_USER: {"emailVerified": True}})
    r = scim.post("/Users", json=body)
    assert r.status_code == 201, r.text
    user = r.json()
    assert r.headers["location"] == user["meta"]["location"]
    assert r.headers["etag"] == user["meta"]["version"]
    assert user["userName"] == body["userName"] and user["externalId"] == "ext-1"
    assert user[GLUU_USER] == {"emailVerified": True} and "password" not in user
    uid = user["id"]

    r = scim.get(f"/Users/{uid}")
    assert r.json() == user
    assert (
        scim.get(f"/Users/{uid}", headers={"If-None-Match": r.headers["etag"]}).status_code == 304
    )
    stale = r.headers["etag"]

    put = dict(body, displayName="Babs", active=False)
    r = scim.put(f"/Users/{uid}", json=put, headers={"If-Match": stale})
    assert r.status_code == 200, r.text
    assert r.json()["displayName"] == "Babs" and r.json()["active"] is False
    assert r.headers["etag"] != stale

    # a writer that read the old version is refused, nothing changes
    r = scim.put(f"/Users/{uid}", json=dict(body, displayName="Lost"), headers={"If-Match": stale})
    assert_error(r, 412, None, "If-Match")
    patch = {
        "schemas": [PATCH_OP],
        "Operations": [{"op": "replace", "path": "displayName", "value": "X"}],
    }
    assert_error(scim.patch(f"/Users/{uid}", json=patch, headers={"If-Match": stale}), 412, None)
    assert_error(scim.delete(f"/Users/{uid}", headers={"If-Match": stale}), 412, None)
    assert scim.get(f"/Users/{uid}").json()["displayName"] == "Babs"

    patch = {
        "schemas": [PATCH_OP],
        "Operations": [
            {"op": "add", "path": "emails", "value": [{"value": "b@home.example", "type": "home"}]},
            {"op": "replace", "path": 'emails[type eq "work"].value', "value": "new@work.example"},
            {"op": "replace", "path": "active", "value": True},
        ],
    }
    r = scim.patch(f"/Users/{uid}", json=patch)
    assert r.status_code == 200, r.text
    assert [e["value"] for e in r.json()["emails"]] == ["new@work.example", "b@home.example"]
    assert r.json()["active"] is True

    assert scim.delete(f"/Users/{uid}", headers={"If-Match": r.headers["etag"]}).status_code == 204
    assert_error(scim.get(f"/Users/{uid}"), 404, None)


def test_bad_input_names_the_field_and_writes_nothing(scim: httpx.Client) -> None:
    body = new_user()
    create(scim, body)
    assert_error(
        scim.post("/Users", json=dict(new_user(), userName=body["userName"].upper())),
        409,
        "uniqueness",
        "userName",
    )
    assert_error(scim.post("/Users", json={"schemas": [USER]}), 400, "invalidValue", "userName")
    bad_mail = new_user(emails=[{"value": "not-an-address"}])
    assert_error(scim.post("/Users", json=bad_mail), 400, "invalidValue", "emails")
    assert_error(
        scim.post("/Users", json=dict(new_user(), active="yes")), 400, "invalidValue", "active"
    )
    assert_error(scim.post("/Users", content=b"{"), 400, "invalidSyntax")
    for name in (body["userName"].upper(), bad_mail["userName"]):
        found = scim.get("/Users", params={"filter": f'userName eq "{name}"'}).json()
        assert found["totalResults"] == (1 if name != bad_mail["userName"] else 0)
    uid = scim.get("/Users", params={"filter": f'userName eq "{body["userName"]}"'}).json()[
        "Resources"
    ][0]["id"]
    patch = {
        "schemas": [PATCH_OP],
        "Operations": [
            {"op": "replace", "path": "displayName", "value": "Half"},
            {"op": "replace", "path": "id", "value": "mine"},
        ],
    }
    assert_error(scim.patch(f"/Users/{uid}", json=patch), 400, "mutability", "id")
    assert "displayName" not in scim.get(f"/Users/{uid}").json()
    assert_error(scim.get("/Users", params={"filter": 'userName eq "x" and'}), 400, "invalidFilter")
    assert_error(
        scim.get("/Users", params={"filter": 'password eq "x"'}), 400, "invalidFilter", "password"
    )
    assert_error(scim.get("/Users", params={"sortOrder": "up"}), 400, "invalidValue", "sortOrder")


def test_password_is_hashed_once_and_signs_in_at_once(
    scim: httpx.Client,
    stack: Stack,
    oxauth: Server,
    oxauth_servers: Callable[..., Server],
    scim_client: Client,
) -> None:
    user = create(scim, new_user(password=PASSWORD))
    with stack.directory() as directory:
        stored = directory.read(f"inum={user['id']},ou=people,o=gluu", ["userPassword"]).all(
            "userPassword"
        )
    # hashed once as Argon2id at OWASP's setting (the plain password binds, below)
    assert len(stored) == 1 and stored[0].startswith(ARGON2ID), stored
    assert PASSWORD not in stored[0] and stored[0].count("{ARGON2}") == 1
    nodes = [oxauth, oxauth_servers()]  # two oxAuth processes on the shared stores
    for node in nodes:  # the user signs in on every node, with no wait
        with node.client() as http:
            r = http.post(
                "/oxauth/restv1/token",
                auth=(scim_client.client_id, scim_client.client_secret or ""),
                data={
                    "grant_type": "password",
                    "username": user["userName"],
                    "password": PASSWORD,
                    "scope": "openid",
                },
            )
        assert r.status_code == 200, r.text
    # a new password through PATCH replaces it, hashed once too
    patch = {
        "schemas": [PATCH_OP],
        "Operations": [{"op": "replace", "path": "password", "value": PASSWORD + "2"}],
    }
    assert scim.patch(f"/Users/{user['id']}", json=patch).status_code == 200
    with nodes[0].client() as http:
        r = http.post(
            "/oxauth/restv1/token",
            auth=(scim_client.client_id, scim_client.client_secret or ""),
            data={
                "grant_type": "password",
                "username": user["userName"],
                "password": PASSWORD + "2",
                "scope": "openid",
            },
        )
    assert r.status_code == 200, r.text
    with stack.directory() as directory:
        changed = directory.read(f"inum={user['id']},ou=people,o=gluu", ["userPassword"])
    now = changed.all("userPassword")
    assert len(now) == 1 and now[0].startswith(ARGON2ID) and now != stored


def test_put_keeps_what_scim_does_not_manage(scim: httpx.Client, stack: Stack) -> None:
    body = new_user()
    body.pop("name")  # no family name: sn is the userName, and SCIM shows none
    user = create(scim, body)
    assert "name" not in user
    dn = f"inum={user['id']},ou=people,o=gluu"
    with stack.directory() as directory:
        assert directory.read(dn).get("sn") == body["userName"]
        directory.modify(dn, {"oxMetadata": [(REPLACE, ['{"other": 1}'])]})
    r = scim.put(f"/Users/{user['id']}", json=dict(body, name={"familyName": "Set"}))
    assert r.json()["name"] == {"familyName": "Set"}
    with stack.directory() as directory:
        assert directory.read(dn).get("oxMetadata") == '{"other": 1}'
        assert directory.read(dn).get("sn") == "Set"


def test_every_bad_request_is_a_scim_error_never_a_500(scim: httpx.Client) -> None:
    missing = str(uuid.uuid4())
    assert_error(scim.get(f"/Users/{missing}"), 404, None, missing)
    assert_error(
        scim.put(f"/Groups/{missing}", json={"schemas": [GROUP], "displayName": "x"}), 404, None
    )
    assert_error(scim.patch(f"/Users/{missing}", json=[]), 404, None)
    assert_error(scim.delete(f"/Users/{missing}"), 404, None)
    assert_error(scim.get("/Users", params={"count": "many"}), 400, "invalidValue", "count")
    assert_error(scim.get("/Users", params={"attributes": "a b"}), 400, "invalidFilter")
    assert_error(scim.get("/Users", params={"filter": "x" * 5000}), 400, "invalidFilter", "longer")
    assert_error(
        scim.get("/Users", params={"sortBy": "password"}), 400, "invalidFilter", "password"
    )
    assert_error(scim.post("/Users", json=[1, 2]), 400, "invalidSyntax")
    assert_error(scim.post("/Users", json=new_user(password=12)), 400, "invalidValue", "password")
    assert_error(
        scim.post("/Users", json=new_user(userName="has space")), 400, "invalidValue", "userName"
    )
    assert_error(scim.post("/Users/.search", json={"filter": "userName pr"}), 400, "invalidSyntax")
    assert_error(scim.post("/Users", content=b"{" + b" " * 1_100_000 + b"}"), 413, None)
    assert_error(scim.delete("/Users"), 405, None)
    assert_error(scim.get("/Nothing/here"), 404, None)
    assert_error(
        scim.post("/Bulk", json={"schemas": [BULK_REQUEST], "Operations": [{}] * 101}),
        413,
        None,
        "maxOperations",
    )
    r = scim.get("/Users", params={"count": 100000, "startIndex": -5})
    assert r.status_code == 200 and r.json()["startIndex"] == 1
    assert r.json()["itemsPerPage"] <= 200


# -- filters, sorting, paging, projection ----------------------------------------------------
def test_filters_sorting_paging_attributes(scim: httpx.Client) -> None:
    tag = uuid.uuid4().hex[:6]
    names = [f"f{tag}{c}" for c in "dbeac"]
    for i, name in enumerate(names):
        create(
            scim,
            {
                "schemas": [USER],
                "userName": name,
                "displayName": f"D{tag} {4 - i}",
                "name": {"familyName": f"Fam{i}"},
                "emails": [
                    {
                        "value": f"{name}@{'work' if i % 2 else 'home'}.example",
                        "type": "work" if i % 2 else "home",
                        "primary": True,
                    }
                ],
                "active": i != 2,
            },
        )

    def ids(params: dict[str, Any]) -> list[str]:
        r = scim.get("/Users", params=params)
        assert r.status_code == 200, r.text
        return [u["userName"] for u in r.json()["Resources"]]

    mine = f'userName sw "f{tag}"'
    assert sorted(ids({"filter": mine})) == sorted(names)
    assert ids({"filter": mine, "sortBy": "userName"}) == sorted(names)
    assert (
        ids({"filter": mine, "sortBy": "userName", "sortOrder": "descending"})
        == sorted(names)[::-1]
    )
    assert ids({"filter": mine, "sortBy": "displayName"}) == names[::-1]
    page = scim.get(
        "/Users", params={"filter": mine, "sortBy": "userName", "startIndex": 2, "count": 2}
    ).json()
    assert (page["totalResults"], page["startIndex"], page["itemsPerPage"]) == (5, 2, 2)
    assert [u["userName"] for u in page["Resources"]] == sorted(names)[1:3]
    assert ids({"filter": mine, "count": 0}) == []
    assert set(ids({"filter": f'{mine} and emails[type eq "work"]'})) == {names[1], names[3]}
    assert set(ids({"filter": f"{mine} and not (active eq true)"})) == {names[2]}
    assert set(ids({"filter": f'{mine} and (name.familyName eq "Fam0" or emails co "@work")'})) == {
        names[0],
        names[1],
        names[3],
    }
    assert set(ids({"filter": f'userName ew "{tag}e" or userName eq "F{tag.upper()}A"'})) == {
        names[2],
        names[3],
    }
    assert ids({"filter": f'{mine} and meta.created gt "2000-01-01T00:00:00Z"', "count": 1})
    assert ids({"filter": f'{mine} and meta.created lt "2000-01-01T00:00:00Z"'}) == []
    one = scim.get(
        "/Users",
        params={"filter": f'userName eq "{names[0]}"', "attributes": "userName,name.familyName"},
    ).json()
    assert set(one["Resources"][0]) == {"schemas", "id", "meta", "userName", "name"}
    one = scim.get(
        "/Users",
        params={"filter": f'userName eq "{names[0]}"', "excludedAttributes": "emails,name"},
    ).json()
    assert "emails" not in one["Resources"][0] and "userName" in one["Resources"][0]
    r = scim.post(
        "/Users/.search",
        json={"schemas": [SEARCH_REQUEST], "filter": mine, "sortBy": "userName", "count": 1},
    )
    assert [u["userName"] for u in r.json()["Resources"]] == sorted(names)[:1]
    r = scim.post("/.search", json={"schemas": [SEARCH_REQUEST], "filter": mine})
    assert r.json()["totalResults"] == 5  # the group map has no userName: users only


# -- groups and bulk -------------------------------------------------------------------------
def test_groups_and_members(scim: httpx.Client) -> None:
    a, b = create(scim, new_user()), create(scim, new_user())
    group = create(
        scim, {"schemas": [GROUP], "displayName": "Team", "members": [{"value": a["id"]}]}, "Groups"
    )
    assert [m["value"] for m in group["members"]] == [a["id"]]
    assert scim.get(f"/Users/{a['id']}").json()["groups"][0]["value"] == group["id"]
    patch = {
        "schemas": [PATCH_OP],
        "Operations": [
            {"op": "add", "path": "members", "value": [{"value": b["id"]}]},
            {"op": "remove", "path": f'members[value eq "{a["id"]}"]'},
        ],
    }
    r = scim.patch(f"/Groups/{group['id']}", json=patch)
    assert [m["value"] for m in r.json()["members"]] == [b["id"]]
    found = scim.get("/Groups", params={"filter": f'members[value eq "{b["id"]}"]'}).json()
    assert [g["id"] for g in found["Resources"]] == [group["id"]]
    bad = {"schemas": [GROUP], "displayName": "x", "members": [{"value": "nobody"}]}
    assert_error(scim.post("/Groups", json=bad), 400, "invalidValue", "nobody")
    assert scim.delete(f"/Users/{b['id']}").status_code == 204  # and leaves the group
    assert "members" not in scim.get(f"/Groups/{group['id']}").json()


def test_bulk_resolves_bulk_ids_in_any_order(scim: httpx.Client) -> None:
    user = new_user()
    body = {
        "schemas": [BULK_REQUEST],
        "Operations": [
            {
                "method": "POST",
                "path": "/Groups",
                "bulkId": "g1",
                "data": {
                    "schemas": [GROUP],
                    "displayName": "Bulk",
                    "members": [{"type": "User", "value": "bulkId:u1"}],
                },
            },
            {"method": "POST", "path": "/Users", "bulkId": "u1", "data": user},
            {
                "method": "PATCH",
                "path": "/Users/bulkId:u1",
                "data": {
                    "schemas": [PATCH_OP],
                    "Operations": [{"op": "replace", "path": "displayName", "value": "From bulk"}],
                },
            },
            {"method": "POST", "path": "/Users", "bulkId": "dup", "data": user},
            {"method": "POST", "path": "/Users", "bulkId": "x", "data": {"schemas": [USER]}},
            {"method": "DELETE", "path": "/Users/bulkId:never"},
        ],
    }
    r = scim.post("/Bulk", json=body)
    assert r.status_code == 200, r.text
    ops = r.json()["Operations"]
    assert [o["status"] for o in ops] == ["201", "201", "200", "409", "400", "409"]
    assert ops[3]["response"]["scimType"] == "uniqueness"
    group = scim.get(ops[0]["location"].split(PREFIX, 1)[1]).json()
    created = scim.get(ops[1]["location"].split(PREFIX, 1)[1]).json()
    assert group["members"][0]["value"] == created["id"]
    assert created["displayName"] == "From bulk"
    body["failOnErrors"] = 1
    body["Operations"] = [body["Operations"][3], body["Operations"][4]]
    ops = scim.post("/Bulk", json=body).json()["Operations"]
    assert [o["status"] for o in ops] == ["409"]  # stopped after the first error


def best_of_three(call: Callable[[], httpx.Response]) -> tuple[httpx.Response, float]:
    """The last answer of three calls, and the shortest time one took."""
    times = []
    for _ in range(3):
        started = time.perf_counter()
        answer = call()
        times.append(time.perf_counter() - started)
    return answer, min(times)


def test_group_of_5000_members_reads_under_a_second(scim: httpx.Client, stack: Stack) -> None:
    """The group renders from its own ``member`` DNs: no member entry is read. 100 of the
    5,000 members are real people (adding 5,000 costs ~50 s on slapd's synchronous
    writes); a lookup per member, even of a missing entry, would cost well over 1 s."""
    tag = uuid.uuid4().hex[:8]
    with stack.directory() as directory:
        for i in range(100):
            directory.add(
                f"inum={tag}-{i},ou=people,o=gluu",
                {
                    "objectClass": [
                        "top",
                        "person",
                        "organizationalPerson",
                        "inetOrgPerson",
                        "oxPerson",
                    ],
                    "inum": f"{tag}-{i}",
                    "uid": f"m{tag}{i}",
                    "sn": "M",
                    "cn": "M",
                },
            )
        members = [f"inum={tag}-{i},ou=people,o=gluu" for i in range(5000)]
        directory.add(
            f"inum=g{tag},ou=groups,o=gluu",
            {
                "objectClass": ["top", "oxGroup"],
                "inum": f"g{tag}",
                "displayName": "Big",
                "member": members,
            },
        )
    scim.get(f"/Groups/g{tag}")  # warm the connection
    # the best of three: a lookup per member costs well over 1 s every time, while one
    # read slowed by other work on a busy 2-core CI machine must not fail the test
    r, elapsed = best_of_three(lambda: scim.get(f"/Groups/g{tag}"))
    assert r.status_code == 200 and len(r.json()["members"]) == 5000
    assert elapsed < 1.0, elapsed
    r, elapsed = best_of_three(lambda: scim.get("/Groups", params={"filter": f'id eq "g{tag}"'}))
    assert r.json()["Resources"][0]["members"][4999]["value"] == f"{tag}-4999"
    assert elapsed < 1.0, elapsed
    patch = {
        "schemas": [PATCH_OP],
        "Operations": [{"op": "remove", "path": f'members[value eq "{tag}-0"]'}],
    }
    started = time.perf_counter()
    r = scim.patch(f"/Groups/g{tag}", json=patch)
    assert r.status_code == 200 and len(r.json()["members"]) == 4999
    assert time.perf_counter() - started < 2.0
