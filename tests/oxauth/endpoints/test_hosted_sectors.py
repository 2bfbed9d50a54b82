"""Sector identifiers the provider hosts (``ou=sector_identifiers``, as the admin UI adds
them) on a real ``oxswarm run oxauth`` without ``--dev``: published at
``/oxauth/sectoridentifier/<id>``, and a registration naming one is checked against the
directory (oxAuth never fetches its own address), without any HTTP fetch."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest
from tests.oxauth.conftest import Server

from oxswarm.directory.sectors import SectorRepository, sector_uri
from oxswarm.local.stack import Stack

pytestmark = pytest.mark.integration

A = "https://a.rp.example/cb"
B = "https://b.rp.example/cb"


def register(http: httpx.Client, sector: str, uris: list[str]) -> httpx.Response:
    return http.post("/oxauth/restv1/register", json={
        "redirect_uris": uris, "subject_type": "pairwise", "sector_identifier_uri": sector})


def test_hosted_sector_published_and_used_at_registration(
        stack: Stack, oxauth_servers: Callable[..., Server]) -> None:
    server = oxauth_servers()  # not --dev: loopback (its own address) is never fetched
    with stack.directory() as directory:
        repo = SectorRepository(directory)
        sector = repo.add([A, B], "portal")
    try:
        uri = sector_uri(server.url, sector.id)
        with server.client() as http:
            doc = http.get(f"/oxauth/sectoridentifier/{sector.id}")
            assert doc.status_code == 200 and doc.json() == [A, B]
            assert doc.headers["content-type"] == "application/json"
            assert http.get("/oxauth/sectoridentifier/0000000000000000").status_code == 404
            assert http.get("/oxauth/sectoridentifier/..%2f..%2fx").status_code == 404
            ok = register(http, uri, [A, B])
            assert ok.status_code == 201, ok.text
            assert ok.json()["sector_identifier_uri"] == uri
            unlisted = register(http, uri, [A, "https://c.rp.example/cb"])
            assert unlisted.status_code == 400
            assert "'https://c.rp.example/cb' is not listed" in unlisted.json()[
                "error_description"]
            unknown = register(http, sector_uri(server.url, "ffffffffffffffff"), [A, B])
            assert unknown.status_code == 400
            assert unknown.json()["error_description"] == \
                "sector_identifier_uri could not be fetched"
            client_id = ok.json()["client_id"]
        with stack.directory() as directory:
            assert SectorRepository(directory).users(uri) == (client_id,)
    finally:
        with stack.directory() as directory:
            SectorRepository(directory).remove(sector.id)
