"""``private_key_jwt`` with a ``jwks_uri`` on real ``oxswarm run oxauth`` processes: the
JWK Set is fetched through the guarded outbound client. With ``--dev`` a loopback
``jwks_uri`` works and a 10 MB answer is dropped at the cap; without it, loopback is
refused before any connection, and the client only ever reads the generic error."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterator

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import RSAKey
from tests.oxauth.conftest import DirectoryTools, Server
from tests.oxauth.endpoints.test_register_sector import BigSite, SectorSite

from oxswarm.directory.models import Client
from oxswarm.oauth.rfc6749.client_auth import JWT_BEARER_ASSERTION

pytestmark = pytest.mark.integration

TOKEN = "/oxauth/restv1/token"
KEY = RSAKey.generate_key(2048, parameters={"kid": "k1", "alg": "RS256", "use": "sig"})
GENERIC = "client's jwks_uri could not be fetched"


@pytest.fixture(scope="module")
def dev(oxauth_servers: Callable[..., Server]) -> Server:
    return oxauth_servers(issuer="http://dev.oxswarm.test", dev=True)


@pytest.fixture(scope="module")
def strict(oxauth_servers: Callable[..., Server]) -> Server:
    return oxauth_servers(issuer="http://strict.oxswarm.test")


@pytest.fixture(scope="module")
def site() -> Iterator[SectorSite]:
    running = SectorSite()
    yield running
    running.stop()


def client_with(tools: DirectoryTools, jwks_uri: str) -> Client:
    return tools.add_client(
        token_endpoint_auth_method="private_key_jwt", jwks_uri=jwks_uri,
        client_secret=None, grant_types=["client_credentials"],
    )


def token(server: Server, issuer: str, client: Client) -> httpx.Response:
    now = int(time.time())
    claims = {"iss": client.client_id, "sub": client.client_id, "aud": issuer,
              "exp": now + 60, "iat": now, "jti": str(uuid.uuid4())}
    signed = jwt.encode({"alg": "RS256", "kid": "k1"}, claims, KEY, algorithms=["RS256"])
    with server.client() as http:
        return http.post(TOKEN, data={
            "grant_type": "client_credentials", "client_assertion_type": JWT_BEARER_ASSERTION,
            "client_assertion": signed, "client_id": client.client_id,
        })


def assert_generic(r: httpx.Response) -> None:
    assert r.status_code == 401, r.text
    assert r.json() == {"error": "invalid_client", "error_description": GENERIC}


def test_loopback_jwks_uri_works_in_dev(
    dev: Server, site: SectorSite, directory_tools: DirectoryTools
) -> None:
    uri = site.publish("/jwks-dev.json", {"keys": [KEY.as_dict(private=False)]})
    r = token(dev, "http://dev.oxswarm.test", client_with(directory_tools, uri))
    assert r.status_code == 200, r.text
    assert site.hits["/jwks-dev.json"] == 1


def test_loopback_jwks_uri_refused_without_dev(
    strict: Server, site: SectorSite, directory_tools: DirectoryTools
) -> None:
    uri = site.publish("/jwks-strict.json", {"keys": [KEY.as_dict(private=False)]})
    assert_generic(token(strict, "http://strict.oxswarm.test", client_with(directory_tools, uri)))
    closed = client_with(directory_tools, "http://127.0.0.1:9/jwks.json")
    assert_generic(token(strict, "http://strict.oxswarm.test", closed))  # the same answer
    assert "/jwks-strict.json" not in site.hits


def test_a_large_jwks_is_cut_at_the_cap(dev: Server, directory_tools: DirectoryTools) -> None:
    big = BigSite()
    try:
        client = client_with(directory_tools, f"http://127.0.0.1:{big.port}/jwks.json")
        assert_generic(token(dev, "http://dev.oxswarm.test", client))
        assert big.finished.wait(10)
        assert big.sent < 1024 * 1024, big.sent
    finally:
        big.stop()


def test_jwks_answer_is_json(
    dev: Server, site: SectorSite, directory_tools: DirectoryTools
) -> None:
    uri = site.publish("/jwks-text", b"<html>")
    r = token(dev, "http://dev.oxswarm.test", client_with(directory_tools, uri))
    assert r.status_code == 401 and "document is not valid JSON" in r.json()["error_description"]
    assert json.dumps(r.json()).count("127.0.0.1") == 0
