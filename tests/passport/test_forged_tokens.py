"""ID tokens no honest provider signs, from a provider in Python that plays the attacker
(or a careless provider): another audience, expired, a wrong nonce or issuer, signed with a
key it does not publish; and a provider that rotates its keys (the new ``kid`` makes oxAuth
fetch the JWKS again). The provider also checks that our PKCE verifier matches the
challenge and our client authentication, so a passing sign-in proves both.

Each refusal is a 403 page with the reason and a link back, is logged, and links or
provisions nobody.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from joserfc import jwt
from joserfc.jwk import RSAKey
from tests.passport.conftest import ISSUER, Browser, Passport, code_of, refused_page

from oxswarm.local.process import free_port

pytestmark = pytest.mark.integration

CLIENT = "forged-client"
SECRET = "forged-secret-" + uuid.uuid4().hex
PROVIDER = "forge"
CALLBACK = f"{ISSUER}/passport/auth/{PROVIDER}/callback"


@dataclass
class Forger:
    port: int
    published: list[RSAKey]
    signer: RSAKey
    claims: dict[str, Any] = field(default_factory=dict)  # overrides of the next token
    subject: str = "s"
    authorize_error: str | None = None
    requests: dict[str, dict[str, str]] = field(default_factory=dict)  # code -> request
    problems: list[str] = field(default_factory=list)

    @property
    def issuer(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def s256(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(
        b"=").decode()


def handler(forger: Forger) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def send(self, status: int, body: object, headers: dict[str, str] | None = None
                 ) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            url = urlsplit(self.path)
            query = {k: v[0] for k, v in parse_qs(url.query).items()}
            if url.path == "/.well-known/openid-configuration":
                self.send(200, {"issuer": forger.issuer,
                                "authorization_endpoint": f"{forger.issuer}/authorize",
                                "token_endpoint": f"{forger.issuer}/token",
                                "userinfo_endpoint": f"{forger.issuer}/userinfo",
                                "jwks_uri": f"{forger.issuer}/jwks"})
            elif url.path == "/jwks":
                self.send(200, {"keys": [k.as_dict(private=False) for k in forger.published]})
            elif url.path == "/authorize":
                if query.get("redirect_uri") != CALLBACK or query.get("client_id") != CLIENT:
                    forger.problems.append(f"authorize: {query}")
                code = secrets.token_urlsafe(16)
                forger.requests[code] = query
                back = {"state": query.get("state", "")}
                back.update({"error": forger.authorize_error} if forger.authorize_error
                            else {"code": code})
                self.send(302, {}, {"Location": f"{CALLBACK}?{urlencode(back)}"})
            elif url.path == "/userinfo":
                self.send(200, {"sub": forger.subject, "email": f"{forger.subject}@forge.test",
                                "email_verified": True})
            else:
                self.send(404, {})

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
            basic = base64.b64encode(f"{CLIENT}:{SECRET}".encode()).decode()
            request = forger.requests.pop(form.get("code", ""), None)
            if self.headers.get("Authorization") != f"Basic {basic}":
                forger.problems.append("token: client authentication")
                self.send(401, {"error": "invalid_client"})
                return
            if request is None or s256(form.get("code_verifier", "")) != request.get(
                    "code_challenge") or form.get("redirect_uri") != CALLBACK:
                forger.problems.append("token: code, PKCE or redirect_uri")
                self.send(400, {"error": "invalid_grant"})
                return
            now = int(time.time())
            claims = {"iss": forger.issuer, "aud": CLIENT, "sub": forger.subject,
                      "iat": now, "exp": now + 300, "nonce": request.get("nonce")}
            claims.update(forger.claims)
            claims = {k: v for k, v in claims.items() if v is not None}
            token = jwt.encode({"alg": "RS256", "kid": forger.signer.kid}, claims,
                               forger.signer, algorithms=["RS256"])
            self.send(200, {"access_token": "at-" + secrets.token_urlsafe(8),
                            "token_type": "Bearer", "id_token": token})

    return Handler


@pytest.fixture(scope="module")
def forger(passport: Passport) -> Iterator[Forger]:
    key = RSAKey.generate_key(2048, {"kid": "first", "use": "sig"})
    made = Forger(free_port(), [key], key)
    server = ThreadingHTTPServer(("127.0.0.1", made.port), handler(made))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    passport.add_provider(PROVIDER, made.issuer, secret=SECRET, client_id=CLIENT)
    time.sleep(2)
    try:
        yield made
    finally:
        server.shutdown()
        server.server_close()


def attempt(browser: Browser, passport: Passport, forger: Forger) -> Any:
    start = browser.start(passport.client(), PROVIDER, 0)
    assert start.headers["location"].startswith(f"{forger.issuer}/authorize?")
    back = browser.http.get(start.headers["location"])
    assert back.status_code == 302
    return browser.http.get(browser.ours(back.headers["location"], 1))


def test_a_honest_token_signs_in_and_key_rotation_is_followed(
        passport: Passport, forger: Forger, new_browser: Callable[[], Browser]) -> None:
    forger.subject = "honest-" + uuid.uuid4().hex[:8]
    code_of(attempt(new_browser(), passport, forger))
    assert passport.linked(f"passport-{PROVIDER}:{forger.subject}") is not None
    # the provider rotates: a new key, published, signs; the old one is gone
    new = RSAKey.generate_key(2048, {"kid": "second", "use": "sig"})
    forger.published, forger.signer = [new], new
    code_of(attempt(new_browser(), passport, forger))
    assert forger.problems == []


@pytest.mark.parametrize(("forge", "reason"), [
    ({"aud": "another-client"}, "aud is another client"),
    ({"aud": [CLIENT, "another"], "azp": "another"}, "azp is not this client"),
    ({"exp": int(time.time()) - 600, "iat": int(time.time()) - 700}, "expired"),
    ({"nonce": "not-the-one-we-sent"}, "nonce does not match"),
    ({"iss": "https://someone-else.example"}, "is not the provider"),
    ("unknown key", "a key the provider does not publish"),
    ("error", "the provider answered access_denied"),
])
def test_forged_tokens_are_refused(passport: Passport, forger: Forger,
                                   new_browser: Callable[[], Browser],
                                   forge: Any, reason: str) -> None:
    forger.subject = "forged-" + uuid.uuid4().hex[:8]
    published, signer = forger.published, forger.signer
    if forge == "unknown key":
        forger.signer = RSAKey.generate_key(2048, {"kid": "stolen", "use": "sig"})
    elif forge == "error":
        forger.authorize_error = "access_denied"
    else:
        forger.claims = forge
    try:
        response = attempt(new_browser(), passport, forger)
    finally:
        forger.claims, forger.published, forger.signer = {}, published, signer
        forger.authorize_error = None
    refused_page(response, 403, reason)
    assert passport.linked(f"passport-{PROVIDER}:{forger.subject}") is None
    assert passport.with_email(f"{forger.subject}@forge.test") == []
    assert f"passport {PROVIDER}: sign-in refused" in passport.logs()
    assert forger.problems == []
