"""Every back-channel endpoint of a real ``oxswarm run oxauth`` on a real stack.

Success paths and each error path with its exact status and OAuth error code.
"""

from __future__ import annotations

import secrets
import socket
import time
from typing import Any

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import KeySet
from tests.oxauth.conftest import DirectoryTools, Issue, Server

from oxswarm.oauth.rfc7636 import s256

pytestmark = pytest.mark.integration

TOKEN = "/oxauth/restv1/token"
CB = "https://rp.example/cb"


@pytest.fixture(scope="module")
def person(directory_tools: DirectoryTools) -> Any:
    return directory_tools.add_person(given_name="Jane", family_name="Roe")


@pytest.fixture(scope="module")
def client(directory_tools: DirectoryTools) -> Any:
    return directory_tools.add_client()


def basic(client: Any) -> tuple[str, str]:
    return (client.client_id, client.client_secret)


def jwks(http: httpx.Client) -> KeySet:
    return KeySet.import_key_set(http.get("/oxauth/restv1/jwks").json())


def redeem(http: httpx.Client, client: Any, code: str, **extra: str) -> httpx.Response:
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": CB, **extra}
    return http.post(TOKEN, data=form, auth=basic(client))


def assert_error(resp: httpx.Response, status: int, error: str) -> None:
    assert resp.status_code == status, resp.text
    assert resp.json()["error"] == error
    assert resp.headers["cache-control"] == "no-store"


def introspect(http: httpx.Client, client: Any, token: str) -> dict[str, Any]:
    resp = http.post("/oxauth/restv1/introspection", data={"token": token}, auth=basic(client))
    assert resp.status_code == 200, resp.text
    body: dict[str, Any] = resp.json()
    return body


def test_discovery_webfinger_jwks_health(http: httpx.Client, server: Server) -> None:
    doc = http.get("/.well-known/openid-configuration").json()
    assert doc == http.get("/oxauth/.well-known/openid-configuration").json()
    assert doc["issuer"] == server.url
    assert doc["token_endpoint"] == server.url + TOKEN
    assert "RS256" in doc["id_token_signing_alg_values_supported"]
    assert doc["code_challenge_methods_supported"] == ["S256"]
    finger = http.get(
        "/.well-known/webfinger",
        params={
            "resource": "acct:jane@id.oxswarm.test",
            "rel": "http://openid.net/specs/connect/1.0/issuer",
        },
    )
    assert finger.json()["links"][0]["href"] == server.url
    assert_error(http.get("/oxauth/.well-known/webfinger"), 400, "invalid_request")
    keys = http.get("/oxauth/restv1/jwks").json()["keys"]
    assert keys and all("d" not in k and "p" not in k for k in keys)
    assert http.get("/oxauth/health").json() == {"status": "ok"}


@pytest.mark.parametrize(("path", "max_age"), [
    ("/.well-known/openid-configuration", 300),
    ("/oxauth/.well-known/openid-configuration", 300),
    ("/oxauth/restv1/jwks", 60),
])
def test_documents_etag_and_not_modified(http: httpx.Client, path: str, max_age: int) -> None:
    first = http.get(path)
    assert first.status_code == 200 and first.headers["content-type"] == "application/json"
    assert first.headers["cache-control"] == f"public, max-age={max_age}"
    etag = first.headers["etag"]
    assert etag.startswith('"') and etag.endswith('"') and len(etag) > 10
    assert http.get(path).content == first.content and http.get(path).headers["etag"] == etag
    for names in (etag, f'"other", W/{etag}', "*"):
        again = http.get(path, headers={"If-None-Match": names})
        assert again.status_code == 304 and again.content == b"", names
        assert again.headers["etag"] == etag
    assert http.get(path, headers={"If-None-Match": '"other"'}).content == first.content
    head = http.head(path)
    assert head.status_code == 200 and head.content == b"" and head.headers["etag"] == etag
    assert http.post(path).status_code == 405


def _raw_exchange(server: Server, data: bytes, answers: int) -> list[bytes]:
    """Send ``data`` on one TCP connection; the status lines of the first ``answers``."""
    host, port = server.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(data)
        received = b""
        while received.count(b"HTTP/1.1 ") < answers or not received.endswith((b"}", b"\r\n\r\n")):
            chunk = sock.recv(65536)
            if not chunk:
                break
            received += chunk
    return [line.split(b"\r\n", 1)[0] for line in received.split(b"HTTP/1.1 ")[1:]]


def test_documents_pipelined_in_order(server: Server) -> None:
    """Pipelined requests (documents answered by the parser, a token request by the app)
    come back in order, whatever answers them; HTTP/1.0 and Connection: close are
    answered too."""
    get = b"GET /oxauth/restv1/jwks HTTP/1.1\r\nHost: x\r\n\r\n"
    token = (b"POST /oxauth/restv1/token HTTP/1.1\r\nHost: x\r\n"
             b"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 0\r\n\r\n")
    disco = b"GET /.well-known/openid-configuration HTTP/1.1\r\nHost: x\r\n\r\n"
    lines = _raw_exchange(server, get + token + disco + get, 4)
    assert [line[:3] for line in lines] == [b"200", b"400", b"200", b"200"], lines
    assert _raw_exchange(server, b"GET /oxauth/restv1/jwks HTTP/1.0\r\n\r\n", 1)[0][:3] == b"200"
    closing = b"GET /oxauth/restv1/jwks HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    assert _raw_exchange(server, closing, 1)[0][:3] == b"200"


def test_a_connection_closed_after_a_document_logs_no_error(server: Server) -> None:
    """uvicorn's ``connection_lost`` touches the last request's cycle: one answered from
    the parser must bear it (it raised AttributeError in the server's log)."""
    before = server.daemon.log_file.read_text(errors="replace")
    for _ in range(3):
        assert _raw_exchange(server, b"GET /oxauth/restv1/jwks HTTP/1.1\r\nHost: x\r\n\r\n",
                             1)[0][:3] == b"200"
    time.sleep(0.5)
    added = server.daemon.log_file.read_text(errors="replace")[len(before):]
    assert "Traceback" not in added and "connection_lost" not in added, added


def test_code_flow_userinfo_introspection(
    http: httpx.Client, client: Any, person: Any, issue: Issue
) -> None:
    resp = redeem(http, client, issue(client, person))
    assert resp.status_code == 200, resp.text
    body = resp.json()
    id_token = jwt.decode(body["id_token"], jwks(http))
    assert id_token.claims["sub"] == person.inum and id_token.claims["nonce"] == "nonce-1"
    assert id_token.claims["aud"] == client.client_id and "at_hash" in id_token.claims
    bearer = {"Authorization": f"Bearer {body['access_token']}"}
    info = http.get("/oxauth/restv1/userinfo", headers=bearer).json()
    assert isinstance(info.pop("updated_at"), int)
    assert info == {
        "sub": person.inum,
        "name": "Jane Roe",
        "given_name": "Jane",
        "family_name": "Roe",
        "preferred_username": person.uid,
        "email": person.email,
        "email_verified": False,
    }
    posted = http.post("/oxauth/restv1/userinfo", data={"access_token": body["access_token"]})
    assert posted.json() == {**info, "updated_at": posted.json()["updated_at"]}
    active = introspect(http, client, body["access_token"])
    assert active["active"] and active["sub"] == person.inum
    assert active["client_id"] == client.client_id and active["scope"] == "openid profile email"
    assert introspect(http, client, body["refresh_token"])["token_type"] == "refresh_token"
    clientinfo = http.get("/oxauth/restv1/clientinfo", headers=bearer).json()
    assert clientinfo["client_id"] == client.client_id


def test_reused_code_fails_and_revokes(
    http: httpx.Client, client: Any, person: Any, issue: Issue
) -> None:
    code = issue(client, person)
    first = redeem(http, client, code).json()
    assert_error(redeem(http, client, code), 400, "invalid_grant")
    assert introspect(http, client, first["access_token"]) == {"active": False}
    resp = http.get(
        "/oxauth/restv1/userinfo", headers={"Authorization": f"Bearer {first['access_token']}"}
    )
    assert_error(resp, 401, "invalid_token")
    assert resp.headers["www-authenticate"].startswith('Bearer error="invalid_token"')
    refresh = http.post(
        TOKEN,
        auth=basic(client),
        data={"grant_type": "refresh_token", "refresh_token": first["refresh_token"]},
    )
    assert_error(refresh, 400, "invalid_grant")


def test_code_errors(http: httpx.Client, client: Any, person: Any, issue: Issue) -> None:
    assert_error(redeem(http, client, "no-such-code"), 400, "invalid_grant")
    code = issue(client, person)
    assert_error(
        redeem(http, client, code, redirect_uri="https://rp.example/x"), 400, "invalid_grant"
    )
    verifier = secrets.token_urlsafe(40)
    code = issue(client, person, code_challenge=s256(verifier), code_challenge_method="S256")
    assert_error(
        redeem(http, client, code, code_verifier=secrets.token_urlsafe(40)), 400, "invalid_grant"
    )
    code = issue(client, person, code_challenge=s256(verifier), code_challenge_method="S256")
    assert redeem(http, client, code, code_verifier=verifier).status_code == 200
    import time

    code = issue(client, person, expires_at=int(time.time()) - 1)
    assert_error(redeem(http, client, code), 400, "invalid_grant")


def test_refresh_rotation_and_reuse(
    http: httpx.Client, client: Any, person: Any, issue: Issue
) -> None:
    first = redeem(http, client, issue(client, person)).json()
    form = {"grant_type": "refresh_token", "refresh_token": first["refresh_token"]}
    second = http.post(TOKEN, data=form, auth=basic(client))
    assert second.status_code == 200, second.text
    rotated = second.json()
    assert rotated["refresh_token"] != first["refresh_token"]
    assert introspect(http, client, first["refresh_token"]) == {"active": False}
    assert_error(http.post(TOKEN, data=form, auth=basic(client)), 400, "invalid_grant")
    assert introspect(http, client, rotated["access_token"]) == {"active": False}
    again = {"grant_type": "refresh_token", "refresh_token": rotated["refresh_token"]}
    assert_error(http.post(TOKEN, data=again, auth=basic(client)), 400, "invalid_grant")


def test_client_credentials_introspect_revoke(http: httpx.Client, client: Any) -> None:
    resp = http.post(
        TOKEN, data={"grant_type": "client_credentials", "scope": "read write"}, auth=basic(client)
    )
    token = resp.json()["access_token"]
    assert introspect(http, client, token)["scope"] == "read write"
    revoked = http.post("/oxauth/restv1/revoke", data={"token": token}, auth=basic(client))
    assert revoked.status_code == 200 and revoked.content == b""
    assert introspect(http, client, token) == {"active": False}
    unknown = http.post("/oxauth/restv1/revoke", data={"token": "nope"}, auth=basic(client))
    assert unknown.status_code == 200
    assert_error(
        http.post("/oxauth/restv1/revoke", data={}, auth=basic(client)), 400, "invalid_request"
    )


def test_token_endpoint_errors(http: httpx.Client, client: Any) -> None:
    cc = {"grant_type": "client_credentials"}
    wrong = http.post(TOKEN, data=cc, auth=(client.client_id, "wrong"))
    assert_error(wrong, 401, "invalid_client")
    assert wrong.headers["www-authenticate"] == 'Basic realm="oxauth"'
    assert_error(http.post(TOKEN, data=cc, auth=("nobody", "x")), 401, "invalid_client")
    assert_error(http.post(TOKEN, data=cc), 401, "invalid_client")
    assert_error(
        http.post(TOKEN, data={"grant_type": "urn:x"}, auth=basic(client)),
        400,
        "unsupported_grant_type",
    )
    assert_error(http.post(TOKEN, data={}, auth=basic(client)), 400, "invalid_request")
    assert_error(
        http.post(TOKEN, data={**cc, "scope": "admin"}, auth=basic(client)), 400, "invalid_scope"
    )
    assert_error(
        http.post(
            TOKEN,
            data={"grant_type": "password", "username": "a", "password": "b"},
            auth=basic(client),
        ),
        400,
        "unauthorized_client",
    )
    assert_error(
        http.post(
            TOKEN,
            content=b'{"grant_type": "client_credentials"}',
            headers={"content-type": "application/json"},
            auth=basic(client),
        ),
        400,
        "invalid_request",
    )
    assert_error(
        http.post(
            TOKEN,
            content=b"grant_type=a&grant_type=b",
            auth=basic(client),
            headers={"content-type": "application/x-www-form-urlencoded"},
        ),
        400,
        "invalid_request",
    )


def test_introspection_needs_client_authentication(http: httpx.Client) -> None:
    resp = http.post("/oxauth/restv1/introspection", data={"token": "x"})
    assert_error(resp, 401, "invalid_client")


def test_userinfo_errors(http: httpx.Client, client: Any) -> None:
    missing = http.get("/oxauth/restv1/userinfo")
    assert missing.status_code == 401 and missing.headers["www-authenticate"].startswith("Bearer")
    assert_error(
        http.get("/oxauth/restv1/userinfo", headers={"Authorization": "Bearer nope"}),
        401,
        "invalid_token",
    )
    token = http.post(TOKEN, data={"grant_type": "client_credentials"}, auth=basic(client)).json()[
        "access_token"
    ]
    assert_error(
        http.get("/oxauth/restv1/userinfo", headers={"Authorization": f"Bearer {token}"}),
        403,
        "insufficient_scope",
    )


def test_password_grant_against_the_directory(
    http: httpx.Client, directory_tools: DirectoryTools, person: Any
) -> None:
    client = directory_tools.add_client(grant_types=["password"], allow_password_grant=True)
    form = {
        "grant_type": "password",
        "username": person.uid,
        "password": "Pass-word-1",
        "scope": "openid email",
    }
    body = http.post(TOKEN, data=form, auth=basic(client)).json()
    assert jwt.decode(body["id_token"], jwks(http)).claims["sub"] == person.inum
    assert_error(
        http.post(TOKEN, data={**form, "password": "wrong"}, auth=basic(client)),
        400,
        "invalid_grant",
    )


def test_signed_userinfo_and_jwt_access_token(
    http: httpx.Client, directory_tools: DirectoryTools, person: Any, server: Server, issue: Issue
) -> None:
    client = directory_tools.add_client(
        userinfo_signed_response_alg="RS256", access_token_format="jwt"
    )
    body = redeem(http, client, issue(client, person)).json()
    access = jwt.decode(body["access_token"], jwks(http))
    assert access.header["typ"] == "at+jwt" and access.claims["iss"] == server.url
    resp = http.get(
        "/oxauth/restv1/userinfo", headers={"Authorization": f"Bearer {body['access_token']}"}
    )
    assert resp.headers["content-type"].startswith("application/jwt")
    claims = jwt.decode(resp.text, jwks(http)).claims
    assert claims["sub"] == person.inum and claims["aud"] == client.client_id


def test_dynamic_registration_and_management(http: httpx.Client) -> None:
    meta = {
        "redirect_uris": [CB],
        "client_name": "RP",
        "grant_types": ["authorization_code", "refresh_token"],
        "scope": "openid email nonsense",
    }
    resp = http.post("/oxauth/restv1/register", json=meta)
    assert resp.status_code == 201, resp.text
    reg = resp.json()
    assert reg["client_secret"] and reg["scope"] == "openid email"
    uri, token = reg["registration_client_uri"], reg["registration_access_token"]
    auth = {"Authorization": f"Bearer {token}"}
    read = http.get(uri, headers=auth)
    assert read.status_code == 200 and read.json()["client_name"] == "RP"
    update = {**meta, "client_id": reg["client_id"], "client_name": "RP 2"}
    assert http.put(uri, json=update, headers=auth).json()["client_name"] == "RP 2"
    assert_error(http.get(uri, headers={"Authorization": "Bearer wrong"}), 401, "invalid_token")
    assert http.delete(uri, headers=auth).status_code == 204
    assert_error(http.get(uri, headers=auth), 401, "invalid_token")
    bad = http.post("/oxauth/restv1/register", json={"redirect_uris": ["https://x/#frag"]})
    assert_error(bad, 400, "invalid_redirect_uri")
    bad = http.post(
        "/oxauth/restv1/register",
        json={"redirect_uris": [CB], "token_endpoint_auth_method": "magic"},
    )
    assert_error(bad, 400, "invalid_client_metadata")
