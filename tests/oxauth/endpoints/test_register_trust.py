"""Dynamic registration on real ``oxswarm run oxauth`` processes (real etcd, slapd, Redis):
what a request may not set, the size and rate limits, and ``token`` mode with initial
access tokens issued by ``oxswarm clients registration-token`` into the real directory."""

from __future__ import annotations

import hashlib
import json
import secrets
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from click.testing import CliRunner
from tests.oxauth.conftest import Server

from oxswarm.cli.main import cli
from oxswarm.config import keys as K
from oxswarm.directory.clients import ClientRepository
from oxswarm.directory.registration_tokens import RegistrationTokenRepository
from oxswarm.local.stack import Stack
from oxswarm.oauth.tokens import token_hash

pytestmark = pytest.mark.integration

REGISTER = "/oxauth/restv1/register"
CB = "https://rp.example/cb"
RATE_LIMIT = 6


def address() -> str:
    """A client address of this test's own (uvicorn takes X-Forwarded-For from loopback),
    so the per-address rate limit of one test does not count another's requests."""
    return "10." + ".".join(str(secrets.randbelow(250) + 1) for _ in range(3))


def client_for(server: Server, **headers: str) -> httpx.Client:
    return httpx.Client(base_url=server.url, timeout=20.0, trust_env=False,
                        headers={"X-Forwarded-For": address(), **headers})


def cli_env(stack: Stack) -> dict[str, str]:
    return {
        "OXSWARM_STORE": stack.store_url,
        "OXSWARM_CLUSTER": stack.cluster,
        "OXSWARM_MASTER_KEY_FILE": str(stack.master_key_file),
        "OXSWARM_LDAP_URLS": ",".join(stack.ldap_urls),
    }


def issue_token(stack: Stack, *args: str) -> dict[str, Any]:
    result = CliRunner().invoke(cli, ["clients", "registration-token", "--json", *args],
                                env=cli_env(stack))
    assert result.exit_code == 0, result.output
    issued: dict[str, Any] = json.loads(result.stdout)
    return issued


@pytest.fixture(scope="module")
def servers(stack: Stack, oxauth_servers: Callable[..., Server]) -> Iterator[dict[str, Server]]:
    """An open server and two token-mode servers, started with a low registration rate
    limit in the store (set back afterwards)."""
    manager = stack.manager()
    before = manager.get(K.OXAUTH_REGISTRATION_RATE_LIMIT)
    try:
        manager.set(K.OXAUTH_REGISTRATION_RATE_LIMIT, str(RATE_LIMIT))
        yield {
            "open": oxauth_servers(),
            "token": oxauth_servers(registration="token"),
            "token2": oxauth_servers(registration="token"),
        }
    finally:
        manager.set(K.OXAUTH_REGISTRATION_RATE_LIMIT, before or "")
        manager.store.close()


def stored(stack: Stack, client_id: str) -> Any:
    with stack.directory() as directory:
        return ClientRepository(directory, stack.box()).get(client_id)


# -- what a request may not set --------------------------------------------------------------
def test_policy_and_unknown_metadata_are_not_taken(servers: dict[str, Server],
                                                   stack: Stack) -> None:
    meta = {"redirect_uris": [CB], "skip_consent": True, "trusted": True,
            "resource_server": True, "allow_password_grant": True,
            "access_token_lifetime": 864000, "scope": "openid email admin",
            "logo_uri": "https://rp.example/logo.png"}
    with client_for(servers["open"]) as http:
        r = http.post(REGISTER, json=meta)
        assert r.status_code == 201, r.text
        body = r.json()
        for name in ("skip_consent", "trusted", "resource_server", "allow_password_grant",
                     "access_token_lifetime"):
            assert name not in body
        assert body["scope"] == "openid email" and body["logo_uri"] == meta["logo_uri"]
        auth = {"Authorization": f"Bearer {body['registration_access_token']}"}
        read = http.get(REGISTER, params={"client_id": body["client_id"]}, headers=auth).json()
        assert "skip_consent" not in read and "trusted" not in read
        # RFC 7592 update: still no policy from the body
        put = http.put(REGISTER, params={"client_id": body["client_id"]}, headers=auth,
                       json={**meta, "client_id": body["client_id"]})
        assert put.status_code == 200, put.text
        assert "skip_consent" not in put.json()
    client = stored(stack, body["client_id"])
    assert (client.trusted, client.resource_server, client.allow_password_grant) == (False,) * 3
    assert "skip_consent" not in json.dumps(client.metadata)
    assert "access_token_lifetime" not in client.metadata


def test_password_grant_refused(servers: dict[str, Server]) -> None:
    with client_for(servers["open"]) as http:
        r = http.post(REGISTER, json={"redirect_uris": [CB],
                                      "grant_types": ["authorization_code", "password"]})
    assert r.status_code == 400
    assert r.json()["error"] == "invalid_client_metadata"
    assert r.json()["error_description"].startswith("grant_types:")


@pytest.mark.parametrize(("meta", "error", "field"), [
    ({"redirect_uris": ["javascript:alert(1)"]}, "invalid_redirect_uri", "redirect_uris"),
    ({"redirect_uris": ["data:text/html,<script>alert(1)</script>"]}, "invalid_redirect_uri",
     "redirect_uris"),
    ({"redirect_uris": [CB], "post_logout_redirect_uris": ["javascript:alert(1)"]},
     "invalid_client_metadata", "post_logout_redirect_uris"),
    ({"redirect_uris": [CB], "frontchannel_logout_uri": "https://rp.example/x; script-src *"},
     "invalid_client_metadata", "frontchannel_logout_uri"),
    ({"redirect_uris": [CB], "frontchannel_logout_uri": "*"},
     "invalid_client_metadata", "frontchannel_logout_uri"),
    ({"redirect_uris": [f"https://rp.example/{i}" for i in range(200)]},
     "invalid_client_metadata", "redirect_uris"),
    ({"redirect_uris": [CB], "client_name": "n" * 2049}, "invalid_client_metadata",
     "client_name"),
])
def test_bad_metadata_names_the_field(servers: dict[str, Server], meta: dict[str, Any],
                                      error: str, field: str) -> None:
    with client_for(servers["open"]) as http:
        r = http.post(REGISTER, json=meta)
    assert r.status_code == 400, r.text
    assert r.json()["error"] == error
    assert r.json()["error_description"].startswith(f"{field}:")


@pytest.mark.parametrize("raw", [
    b"[]", b'"x"', b"not json", b"\xff\xfe{", b"[" * 60_000,
    b'{"redirect_uris": [null]}', b'{"redirect_uris": [{"a": 1}]}',
    b'{"redirect_uris": ["https://[::1/cb"]}', b'{"redirect_uris": ["https://a.example:99999/"]}',
    b'{"redirect_uris": ["https://rp.example/cb"], "jwks": {"keys": [1]}}',
    b'{"redirect_uris": ["https://rp.example/cb"], "scope": 5}',
    b'{"redirect_uris": ["https://rp.example/cb"], "default_max_age": 1e308}',
    b'{"redirect_uris": ["https://rp.example/cb"], "contacts": "a@b"}',
    rb'{"redirect_uris": ["https://rp.example/cb"], "client_name": "a\u0000b"}',
])
def test_malformed_bodies_are_400_never_500(servers: dict[str, Server], raw: bytes) -> None:
    with client_for(servers["open"]) as http:
        r = http.post(REGISTER, content=raw, headers={"content-type": "application/json"})
    assert r.status_code == 400, r.text
    assert r.json()["error"] in ("invalid_client_metadata", "invalid_redirect_uri")
    assert r.json()["error_description"]


# -- size and rate ---------------------------------------------------------------------------
def test_large_body_is_413(servers: dict[str, Server]) -> None:
    big = json.dumps({"redirect_uris": [CB], "client_name": "x" * (2 * 1024 * 1024)}).encode()
    with client_for(servers["open"]) as http:
        declared = http.post(REGISTER, content=big,
                             headers={"content-type": "application/json"})
        assert declared.status_code == 413
        assert declared.json()["error"] == "invalid_request"

        def chunks() -> Iterator[bytes]:  # no Content-Length: chunked, read with a cap
            for start in range(0, len(big), 65536):
                yield big[start:start + 65536]

        streamed = http.post(REGISTER, content=chunks(),
                             headers={"content-type": "application/json"})
        assert streamed.status_code == 413
        assert "65536 bytes" in streamed.json()["error_description"]
        just_under = {"redirect_uris": [CB], "client_name": "x" * 2000}
        assert http.post(REGISTER, json=just_under).status_code == 201


def test_rate_limit_per_address(servers: dict[str, Server]) -> None:
    with client_for(servers["open"]) as http, client_for(servers["open"]) as other:
        codes = [http.post(REGISTER, json={"redirect_uris": [CB]}).status_code
                 for _ in range(RATE_LIMIT)]
        assert codes == [201] * RATE_LIMIT
        r = http.post(REGISTER, json={"redirect_uris": [CB]})
        assert r.status_code == 429
        assert r.headers["retry-after"] == "600"
        assert r.json()["error"] == "temporarily_unavailable"
        # a refused request counts too; another address is not affected
        assert http.post(REGISTER, json={"redirect_uris": [CB]}).status_code == 429
        assert other.post(REGISTER, json={"redirect_uris": [CB]}).status_code == 201


def test_rate_limit_is_shared_by_processes(servers: dict[str, Server]) -> None:
    """The count lives in the shared cache: requests alternating between two processes
    reach the limit together (refused ones, here 401 without a token, count too)."""
    me = address()
    codes = []
    for i in range(RATE_LIMIT + 2):
        with client_for(servers["token" if i % 2 else "token2"], **{"X-Forwarded-For": me}) as h:
            codes.append(h.post(REGISTER, json={"redirect_uris": [CB]}).status_code)
    assert codes == [401] * RATE_LIMIT + [429, 429]


# -- token mode ------------------------------------------------------------------------------
def test_token_mode(servers: dict[str, Server], stack: Stack) -> None:
    meta = {"redirect_uris": [CB]}
    with client_for(servers["token"]) as http:
        none = http.post(REGISTER, json=meta)
        assert none.status_code == 401 and none.json()["error"] == "invalid_token"
        wrong = http.post(REGISTER, json=meta, headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401 and wrong.json()["error"] == "invalid_token"

        issued = issue_token(stack, "--uses", "2", "--ttl", "600")
        assert issued["uses"] == 2
        auth = {"Authorization": f"Bearer {issued['initial_access_token']}"}
        # a refused registration does not spend a use
        bad = http.post(REGISTER, json={"redirect_uris": ["javascript:x"]}, headers=auth)
        assert bad.status_code == 400
        assert http.post(REGISTER, json=meta, headers=auth).status_code == 201
        assert http.post(REGISTER, json=meta, headers=auth).status_code == 201
        spent = http.post(REGISTER, json=meta, headers=auth)
        assert spent.status_code == 401 and spent.json()["error"] == "invalid_token"

    with stack.directory() as directory:
        repo = RegistrationTokenRepository(directory)
        # only the hash is stored; the used-up entry is gone
        assert repo.state(token_hash(issued["initial_access_token"])) is None
        expired = secrets.token_urlsafe(32)
        repo.issue(token_hash(expired), ttl=5, uses=3,
                   now=datetime.now(UTC) - timedelta(seconds=60))
    with client_for(servers["token"]) as http:
        r = http.post(REGISTER, json=meta, headers={"Authorization": f"Bearer {expired}"})
        assert r.status_code == 401 and r.json()["error"] == "invalid_token"


@pytest.mark.parametrize("uses", [1, 3])
def test_concurrent_uses_are_taken_once(servers: dict[str, Server], stack: Stack,
                                        uses: int) -> None:
    """12 registrations at once on two processes with a token of ``uses`` uses: exactly
    ``uses`` succeed."""
    token = issue_token(stack, "--uses", str(uses))["initial_access_token"]
    statuses: list[int] = []
    start = threading.Barrier(12)

    def register(server: Server) -> None:
        with client_for(server, Authorization=f"Bearer {token}") as http:
            start.wait()
            statuses.append(http.post(REGISTER, json={"redirect_uris": [CB]}).status_code)

    threads = [threading.Thread(target=register, args=(servers["token" if i % 2 else "token2"],))
               for i in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [201] * uses + [401] * (12 - uses)


def test_old_single_secret_still_accepted(servers: dict[str, Server], stack: Stack,
                                          oxauth_servers: Callable[..., Server]) -> None:
    secret = secrets.token_urlsafe(24)
    manager = stack.manager()
    try:
        manager.set_secret("oxauth_registration_token", secret)
        server = oxauth_servers(registration="token")
        with client_for(server, Authorization=f"Bearer {secret}") as http:
            assert http.post(REGISTER, json={"redirect_uris": [CB]}).status_code == 201
            assert http.post(REGISTER, json={"redirect_uris": [CB]}).status_code == 201
    finally:
        manager.store.delete(manager.secret_key("oxauth_registration_token"))
        manager.store.close()


def test_token_is_stored_as_its_hash(stack: Stack) -> None:
    token = issue_token(stack)["initial_access_token"]
    with stack.directory() as directory:
        dn = f"oxTokenHash={hashlib.sha256(token.encode()).hexdigest()},ou=tokens,o=gluu"
        entry = directory.read(dn, ["*"])
    assert token not in json.dumps({k: entry.all(k) for k in ("oxtokenhash", "oxdata")})
    assert entry.get("oxData") == "1"
