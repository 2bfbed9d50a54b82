"""Two oxAuth processes behind round-robin: nothing one needs lives only in the other.

Requests alternate between the processes: a code stored through one process's store
interface is redeemed at A, its refresh token used at B, the tokens introspected at both,
a revocation at A seen at B, a reused code at B revoking what A issued.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from tests.oxauth.conftest import DirectoryTools, Issue, Server

pytestmark = pytest.mark.integration

CB = "https://rp.example/cb"
TOKEN = "/oxauth/restv1/token"


class RoundRobin:
    def __init__(self, servers: list[Server]) -> None:
        self.clients = [s.client() for s in servers]
        self._next = itertools.cycle(range(len(servers)))
        self.used: list[int] = []

    def __getattr__(self, method: str) -> Callable[..., httpx.Response]:
        def call(*args: Any, **kwargs: Any) -> httpx.Response:
            index = next(self._next)
            self.used.append(index)
            response: httpx.Response = getattr(self.clients[index], method)(*args, **kwargs)
            return response

        return call

    def close(self) -> None:
        for client in self.clients:
            client.close()


@pytest.fixture(scope="module")
def lb(oxauth_servers: Callable[..., Server]) -> Iterator[RoundRobin]:
    issuer = "https://id.oxswarm.test"  # both processes serve the same issuer
    balancer = RoundRobin([oxauth_servers(issuer=issuer), oxauth_servers(issuer=issuer)])
    yield balancer
    balancer.close()


def test_code_refresh_introspection_across_processes(
    lb: RoundRobin, directory_tools: DirectoryTools, issue: Issue
) -> None:
    client = directory_tools.add_client()
    person = directory_tools.add_person()
    auth = (client.client_id, client.client_secret)
    code = issue(client, person)
    issued = lb.post(TOKEN, auth=auth, data={"grant_type": "authorization_code", "code": code,
                                             "redirect_uri": CB})  # process A
    assert issued.status_code == 200, issued.text
    tokens = issued.json()
    refreshed = lb.post(TOKEN, auth=auth, data={"grant_type": "refresh_token",
                                                "refresh_token": tokens["refresh_token"]})  # B
    assert refreshed.status_code == 200, refreshed.text
    new = refreshed.json()
    for _ in range(2):  # A then B
        body = lb.post("/oxauth/restv1/introspection", auth=auth,
                       data={"token": new["access_token"]}).json()
        assert body["active"] and body["sub"] == person.inum
    for _ in range(2):
        info = lb.get("/oxauth/restv1/userinfo",
                      headers={"Authorization": f"Bearer {new['access_token']}"})
        assert info.json()["sub"] == person.inum
    reuse = lb.post(TOKEN, auth=auth, data={"grant_type": "refresh_token",
                                            "refresh_token": tokens["refresh_token"]})
    assert reuse.json()["error"] == "invalid_grant"
    for _ in range(2):
        body = lb.post("/oxauth/restv1/introspection", auth=auth,
                       data={"token": new["access_token"]}).json()
        assert body == {"active": False}
    assert set(lb.used) == {0, 1}


def test_replayed_code_at_the_other_process_revokes(
    lb: RoundRobin, directory_tools: DirectoryTools, issue: Issue
) -> None:
    client = directory_tools.add_client()
    person = directory_tools.add_person()
    auth = (client.client_id, client.client_secret)
    form = {"grant_type": "authorization_code", "code": issue(client, person), "redirect_uri": CB}
    first = lb.post(TOKEN, auth=auth, data=form).json()
    replay = lb.post(TOKEN, auth=auth, data=form)
    assert (replay.status_code, replay.json()["error"]) == (400, "invalid_grant")
    for _ in range(2):
        body = lb.post("/oxauth/restv1/introspection", auth=auth,
                       data={"token": first["access_token"]}).json()
        assert body == {"active": False}


def test_revocation_and_registration_seen_by_both(lb: RoundRobin) -> None:
    reg = lb.post("/oxauth/restv1/register", json={
        "redirect_uris": [CB], "grant_types": ["client_credentials"], "response_types": []})
    assert reg.status_code == 201, reg.text
    body = reg.json()
    auth = (body["client_id"], body["client_secret"])
    token = lb.post(TOKEN, auth=auth, data={"grant_type": "client_credentials"})  # other one
    assert token.status_code == 200, token.text
    access = token.json()["access_token"]
    assert lb.post("/oxauth/restv1/revoke", auth=auth, data={"token": access}).status_code == 200
    for _ in range(2):
        out = lb.post("/oxauth/restv1/introspection", auth=auth, data={"token": access}).json()
        assert out == {"active": False}
