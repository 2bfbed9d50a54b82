"""Introspection (RFC 7662) on a real oxAuth process: a token's data only for a client an
administrator marked ``resource_server`` or for the token's own client; ``username`` only
for a resource server and a public subject (issue 8.8)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from tests.oxauth.conftest import DirectoryTools, Issue

pytestmark = pytest.mark.integration

INTROSPECT = "/oxauth/restv1/introspection"
CB = "https://rp.example/cb"


def tokens(http: httpx.Client, client: Any, code: str) -> dict[str, Any]:
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": CB}
    resp = http.post(
        "/oxauth/restv1/token", data=form, auth=(client.client_id, client.client_secret)
    )
    assert resp.status_code == 200, resp.text
    body: dict[str, Any] = resp.json()
    return body


def introspect(http: httpx.Client, caller: Any, token: str, **form: str) -> dict[str, Any]:
    resp = http.post(
        INTROSPECT, data={"token": token, **form}, auth=(caller.client_id, caller.client_secret)
    )
    assert resp.status_code == 200, resp.text
    body: dict[str, Any] = resp.json()
    return body


@pytest.fixture(scope="module")
def person(directory_tools: DirectoryTools) -> Any:
    return directory_tools.add_person()


@pytest.fixture(scope="module")
def rs(directory_tools: DirectoryTools) -> Any:
    return directory_tools.add_client(resource_server=True)


def test_another_client_learns_nothing(
    http: httpx.Client, directory_tools: DirectoryTools, person: Any, issue: Issue
) -> None:
    owner, other = directory_tools.add_client(), directory_tools.add_client()
    got = tokens(http, owner, issue(owner, person))
    for token, hint in ((got["access_token"], ""), (got["refresh_token"], "refresh_token")):
        assert introspect(http, other, token, token_type_hint=hint) == {"active": False}
        own = introspect(http, owner, token, token_type_hint=hint)
        assert own["active"] and own["client_id"] == owner.client_id
        assert own["sub"] == person.inum and "username" not in own


def test_a_resource_server_sees_public_subjects_with_username(
    http: httpx.Client, directory_tools: DirectoryTools, person: Any, issue: Issue, rs: Any
) -> None:
    owner = directory_tools.add_client()
    got = tokens(http, owner, issue(owner, person))
    for token in (got["access_token"], got["refresh_token"]):
        body = introspect(http, rs, token)
        assert body["active"] and body["client_id"] == owner.client_id
        assert body["sub"] == person.inum and body["username"] == person.uid


def test_a_resource_server_never_gets_the_username_of_a_pairwise_subject(
    http: httpx.Client, directory_tools: DirectoryTools, person: Any, issue: Issue, rs: Any
) -> None:
    owner = directory_tools.add_client(subject_type="pairwise")
    got = tokens(http, owner, issue(owner, person))
    for token in (got["access_token"], got["refresh_token"]):
        body = introspect(http, rs, token)
        assert body["active"] and body["sub"] != person.inum
        assert "username" not in body and person.uid not in str(body)
        own = introspect(http, owner, token)
        assert own["sub"] == body["sub"] and "username" not in own
