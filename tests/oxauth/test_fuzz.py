"""Fuzzing a real oxAuth process: no malformed request may crash it (issue 8).

A real ``oxswarm run oxauth`` on a real stack (etcd, slapd, Redis + Twemproxy) gets
``FUZZ_REQUESTS`` (default 6,000) requests drawn by :mod:`tests.fuzzkit` from a seeded
random source (``OXSWARM_FUZZ_SEED`` replays a run; the seed is printed) against every
route of the app: the test enumerates the app's routes and fails naming any route and
method no target covers, so a new route is fuzzed or noticed. Each request starts from a
valid one (real clients, a signed-in session, real tokens and forms) and is mutated.

It asserts: no answer is a 5xx (each is reported with the request that caused it), no
connection is dropped, no body carries a stack trace, the process is alive and serves
discovery afterwards, and the directory holds the same entries and attributes as before
(clients created or changed through the registration endpoint, the one endpoint that
writes on purpose, are listed and left out explicitly).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import os
import random
import secrets
import time
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlsplit

import httpx
import pytest
from starlette.routing import Route
from tests.fuzzkit import LOOPBACK_URL, Fuzzer, FuzzRequest, Target, b64url, nested_json
from tests.oxauth.conftest import DirectoryTools, Server
from tests.oxauth.web.conftest import hidden_fields

from oxswarm.config import keys as K
from oxswarm.local.stack import Stack
from oxswarm.oxauth.app import create_app

pytestmark = pytest.mark.integration

REQUESTS = int(os.environ.get("OXSWARM_FUZZ_REQUESTS", "6000"))
CONCURRENCY = 12
DEADLINE = 150.0  # a bound on the sending (about 20 s on an idle 2-core machine)
CB = "https://rp.example/cb"
BYE = "https://rp.example/bye"
PASSWORD = "Fuzz-correct-horse-1"
JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


def basic(client_id: str, secret: str) -> bytes:
    return b"Basic " + base64.b64encode(f"{client_id}:{secret}".encode())


def hs256(secret: str, header: dict[str, Any], payload: str) -> str:
    """A JWT correctly signed with ``secret`` whose payload is the raw text ``payload``."""
    signing = f"{b64url(json.dumps(header).encode())}.{b64url(payload.encode())}"
    mac = hmac.new(secret.encode(), signing.encode(), hashlib.sha256).digest()
    return f"{signing}.{b64url(mac)}"


def directory_dump(stack: Stack) -> dict[str, dict[str, list[str]]]:
    """Every entry under the suffix: DN -> user attributes (operational ones are not
    returned for ``*``), values sorted."""
    with stack.directory() as directory:
        entries = directory.search("o=gluu", "(objectClass=*)", attributes=["*"])
    return {e.dn.lower(): {k: sorted(v) for k, v in e.attrs.items()} for e in entries}


def client_of(dn: str) -> str | None:
    """The client id of a client entry's DN (lower case), else None."""
    rdn, _, parent = dn.partition(",")
    if parent != "ou=clients,o=gluu" or not rdn.startswith("inum="):
        return None
    return rdn.removeprefix("inum=")


class Context:
    """What a valid request needs: clients, a person, a signed-in browser, real tokens."""

    def __init__(self, server: Server, tools: DirectoryTools) -> None:
        self.url = server.url
        self.rng = random.Random()
        self.a = tools.add_client(
            redirect_uris=[CB],
            post_logout_redirect_uris=[BYE],
            grant_types=["authorization_code", "refresh_token", "client_credentials", "password"],
            response_types=["code"],
            scopes=["openid", "profile", "email"],
            allow_password_grant=True,
        )
        self.post_client = tools.add_client(token_endpoint_auth_method="client_secret_post")
        self.jwt_client = tools.add_client(token_endpoint_auth_method="client_secret_jwt")
        self.person = tools.add_person(PASSWORD, uid=f"fuzz{secrets.token_hex(4)}")
        with httpx.Client(base_url=self.url, timeout=20, trust_env=False) as http:
            self._sign_in(http)
            self._register(http)

    def _sign_in(self, http: httpx.Client) -> None:
        params = {
            "client_id": self.a.client_id,
            "redirect_uri": CB,
            "response_type": "code",
            "scope": "openid profile",
            "state": "s",
            "nonce": "n",
        }
        login = http.get("/oxauth/restv1/authorize", params=params)
        assert login.status_code == 200, login.text
        self.login_form = hidden_fields(login.text)
        self.browser_cookie = http.cookies.get("oxauth_browser") or ""
        consent = http.post(
            "/oxauth/login",
            data={**self.login_form, "username": self.person.uid, "password": PASSWORD},
        )
        assert consent.status_code == 200 and 'name="decision"' in consent.text, consent.text
        self.consent_form = hidden_fields(consent.text)
        self.session_cookie = http.cookies.get("oxauth_session") or ""
        done = http.post("/oxauth/consent", data={**self.consent_form, "decision": "allow"})
        code = parse_qs(urlsplit(done.headers["location"]).query)["code"][0]
        tokens = http.post(
            "/oxauth/restv1/token",
            auth=(self.a.client_id, self.a.client_secret or ""),
            data={"grant_type": "authorization_code", "code": code, "redirect_uri": CB},
        ).json()
        self.access_token = tokens["access_token"]
        self.refresh_token = tokens["refresh_token"]
        self.id_token = tokens["id_token"]

    def _register(self, http: httpx.Client) -> None:
        r = http.post("/oxauth/restv1/register", json={"redirect_uris": [CB], "client_name": "fz"})
        assert r.status_code == 201, r.text
        self.registered = r.json()

    # -- signed assertions with malformed claims (they pass the signature check) -------------
    def assertions(self) -> list[str]:
        cid = self.jwt_client.client_id
        secret = self.jwt_client.client_secret or ""
        aud = self.url + "/oxauth/restv1/token"
        head = {"alg": "HS256", "typ": "JWT"}
        good = {"iss": cid, "sub": cid, "aud": aud, "jti": "j"}
        payloads = [
            json.dumps({**good, "exp": 4102444800})[:-1] + ', "exp": NaN}',
            json.dumps(good)[:-1] + ', "exp": 1e400}',
            json.dumps(good)[:-1] + ', "exp": -1e400}',
            json.dumps({**good, "exp": int(time.time()) + 60, "jti": ["x"]}),
            json.dumps({**good, "exp": int(time.time()) + 60, "jti": "é\x00" * 1000}),
            json.dumps({**good, "exp": int(time.time()) + 60, "aud": [[aud]]}),
            json.dumps({**good, "exp": int(time.time()) + 60, "nbf": "x"}),
            json.dumps({**good, "exp": str(int(time.time()) + 60)}),
            json.dumps({**good, "exp": True}),
            json.dumps({**good, "exp": int(time.time()) + 60, "x": "placeholder"}).replace(
                '"placeholder"', nested_json(50_000)
            ),
        ]
        return [hs256(secret, head, p) for p in payloads] + [
            hs256(secret, {"alg": "HS256", "crit": ["x"], "x": 1}, json.dumps(good)),
            hs256("wrong", head, json.dumps(good)),
        ]

    # -- base values ------------------------------------------------------------------------
    def authorize(self) -> dict[str, Any]:
        return {
            "client_id": self.a.client_id,
            "redirect_uri": CB,
            "response_type": "code",
            "scope": "openid profile",
            "state": "st",
            "nonce": "no",
            "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
            "code_challenge_method": "S256",
            "prompt": "consent",
            "max_age": "60",
            "claims": '{"userinfo":{"email":{"essential":true}}}',
            "acr_values": "pwd",
            "login_hint": self.person.uid,
            "id_token_hint": self.id_token,
            "response_mode": "query",
            "ui_locales": "en",
            "display": "page",
        }

    def cookies(self) -> dict[str, Any]:
        return {"oxauth_session": self.session_cookie, "oxauth_browser": self.browser_cookie}

    def targets(self) -> list[Target]:
        t = "/oxauth/restv1/"
        basic_a = basic(self.a.client_id, self.a.client_secret or "")
        bearer = b"Bearer " + self.access_token.encode()
        reg_bearer = b"Bearer " + self.registered["registration_access_token"].encode()
        fake_refresh = f"{secrets.token_urlsafe(16)}.{secrets.token_urlsafe(32)}"
        jwt_client = self.jwt_client.client_id
        post = self.post_client
        return [
            Target("/.well-known/openid-configuration", ("GET",), "query"),
            Target("/oxauth/.well-known/openid-configuration", ("GET",), "query"),
            *(
                Target(
                    p,
                    ("GET",),
                    "query",
                    lambda: {
                        "resource": f"acct:{self.person.uid}@id.oxswarm.test",
                        "rel": "http://openid.net/specs/connect/1.0/issuer",
                    },
                )
                for p in ("/.well-known/webfinger", "/oxauth/.well-known/webfinger")
            ),
            Target(t + "jwks", ("GET",), "query"),
            Target("/oxauth/health", ("GET", "HEAD"), "query"),
            Target("/oxauth/branding/style.css", ("GET",), "query", lambda: {"v": "x"}),
            Target("/oxauth/branding/logo", ("GET",), "query", lambda: {"v": "x"}),
            Target("/oxauth/branding/pages.js", ("GET",), "query"),
            *(  # a sector identifier id is a path segment: unknown, odd and oversized ones
                Target("/oxauth/sectoridentifier/" + quote(sid, safe=""), ("GET",), "query")
                for sid in ("0123456789abcdef", "..", "a" * 5000, "é\x00%", "{sector_id}")
            ),
            Target(
                t + "authorize",
                ("GET", "POST"),
                "form",
                self.authorize,
                jwt_params=("id_token_hint", "request"),
                json_params=("claims",),
                cookies=self.cookies,
            ),
            Target(
                "/oxauth/login",
                ("POST",),
                "form",
                lambda: {
                    **self.login_form,
                    "username": self.person.uid,
                    "password": "wrong-" + PASSWORD,
                },
                cookies=lambda: {"oxauth_browser": self.browser_cookie},
            ),
            *(  # oxPassport (docs/passport.md): no provider is configured here, so
                # starts and callbacks end in refusals; the parsing is what is fuzzed
                Target("/passport/auth/" + quote(pid, safe=""), ("GET",), "query",
                       lambda: {"authz": self.login_form.get("authz", "x")},
                       cookies=lambda: {"oxpassport_browser": secrets.token_urlsafe(32)})
                for pid in ("fuzz", "a" * 300, "{provider}")
            ),
            *(
                Target("/passport/auth/" + quote(pid, safe="") + "/callback", ("GET",),
                       "query",
                       lambda: {"state": secrets.token_urlsafe(32), "code": "c" * 20,
                                "error": "access_denied", "error_description": "d"},
                       cookies=lambda: {"oxpassport_browser": secrets.token_urlsafe(32)})
                for pid in ("fuzz", "{provider}")
            ),
            *(  # oxPassport's SAML ACS and SP metadata (no provider configured here)
                Target("/passport/auth/saml/" + quote(pid, safe="") + "/callback", ("POST",),
                       "form",
                       lambda: {"RelayState": secrets.token_urlsafe(32),
                                "SAMLResponse": base64.b64encode(b"<samlp:Response/>").decode()},
                       cookies=lambda: {"oxpassport_browser": secrets.token_urlsafe(32)})
                for pid in ("fuzz", "{provider}")
            ),
            Target("/passport/auth/meta/idp/fuzz", ("GET",), "query"),
            Target(
                "/oxauth/consent",
                ("POST",),
                "form",
                lambda: {**self.consent_form, "decision": "deny"},
                cookies=self.cookies,
            ),
            Target(
                t + "end_session",
                ("GET", "POST"),
                "form",
                lambda: {
                    "id_token_hint": self.id_token,
                    "post_logout_redirect_uri": BYE,
                    "state": "s",
                    "client_id": self.a.client_id,
                    "logout": "yes",
                    "csrf_token": "x" * 43,
                },
                jwt_params=("id_token_hint",),
                cookies=self.cookies,
            ),
            Target(
                t + "token",
                ("POST",),
                "form",
                lambda: {
                    "grant_type": "authorization_code",
                    "code": secrets.token_urlsafe(32),
                    "redirect_uri": CB,
                    "code_verifier": "v" * 43,
                },
                auth=(basic_a,),
            ),
            Target(
                t + "token",
                ("POST",),
                "form",
                lambda: {
                    "grant_type": "refresh_token",
                    "refresh_token": fake_refresh,
                    "scope": "openid",
                },
                auth=(basic_a,),
            ),
            Target(
                t + "token",
                ("POST",),
                "form",
                lambda: {"grant_type": "client_credentials", "scope": "profile"},
                auth=(basic_a,),
            ),
            Target(
                t + "token",
                ("POST",),
                "form",
                lambda: {
                    "grant_type": "password",
                    "username": self.person.uid,
                    "password": "wrong-" + PASSWORD,
                    "scope": "openid",
                },
                auth=(basic_a,),
            ),
            Target(
                t + "token",
                ("POST",),
                "form",
                lambda: {
                    "grant_type": "client_credentials",
                    "client_id": post.client_id,
                    "client_secret": post.client_secret or "",
                },
            ),
            Target(
                t + "token",
                ("POST",),
                "form",
                lambda: {
                    "grant_type": "client_credentials",
                    "client_assertion_type": JWT_BEARER,
                    "client_assertion": self.rng.choice(self.assertions()),
                    "client_id": jwt_client,
                },
                jwt_params=("client_assertion",),
            ),
            *(
                Target(
                    t + name,
                    ("GET", "POST"),
                    "form",
                    lambda: {"access_token": self.access_token, "schema": "openid"},
                    auth=(bearer,),
                )
                for name in ("userinfo", "clientinfo")
            ),
            Target(
                t + "introspection",
                ("POST",),
                "form",
                lambda: {
                    "token": self.rng.choice([self.access_token, self.refresh_token, fake_refresh]),
                    "token_type_hint": "access_token",
                },
                auth=(basic_a, bearer),
            ),
            Target(
                t + "revoke",
                ("POST",),
                "form",
                lambda: {"token": fake_refresh, "token_type_hint": "refresh_token"},
                auth=(basic_a,),
            ),
            Target(
                t + "register",
                ("POST",),
                "json",
                lambda: {  # a valid registration: each mutation is the only fault
                    "redirect_uris": json.dumps([CB]),
                    "client_name": "fuzz",
                    "grant_types": '["authorization_code","refresh_token"]',
                    "response_types": '["code"]',
                    "token_endpoint_auth_method": "client_secret_basic",
                    "contacts": '["a@b.c"]',
                    "subject_type": "public",
                    "id_token_signed_response_alg": "RS256",
                    "scope": "openid",
                },
                json_params=("redirect_uris", "grant_types", "response_types"),
            ),
            Target(
                t + "register",
                ("POST",),
                "json",
                lambda: {  # the fields that fetch or carry keys (refused as given here)
                    "redirect_uris": json.dumps([CB, "https://rp2.example/cb"]),
                    "token_endpoint_auth_method": "private_key_jwt",
                    "jwks": '{"keys":[{"kty":"RSA","n":"AQAB","e":"AQAB"}]}',
                    "jwks_uri": LOOPBACK_URL,
                    "sector_identifier_uri": LOOPBACK_URL,
                    "subject_type": "pairwise",
                    "backchannel_logout_uri": LOOPBACK_URL,
                    "frontchannel_logout_uri": "https://rp.example/fc",
                    "access_token_format": "jwt",
                },
                json_params=("jwks", "redirect_uris"),
            ),
            Target(
                t + "register",
                ("GET", "PUT", "DELETE"),
                "json",
                lambda: {
                    "client_id": self.registered["client_id"],
                    "redirect_uris": json.dumps([CB]),
                    "client_name": "fuzz2",
                },
                auth=(reg_bearer, b"Bearer wrong"),
            ),
        ]


def uncovered(targets: list[Target], stack: Stack) -> list[str]:
    """Routes and methods of the app that no target fuzzes (HEAD that Starlette adds to
    GET routes aside)."""
    app = create_app(stack.settings())
    missing = []
    for route in app.routes:
        assert isinstance(route, Route), route
        for method in sorted((route.methods or set()) - {"HEAD"}):
            if not any(method in t.methods and route.path_regex.match(unquote(t.path))
                       for t in targets):
                missing.append(f"{method} {route.path}")
    return missing


async def send_all(
    url: str, requests: list[FuzzRequest], deadline: float, registered: set[str]
) -> tuple[list[tuple[FuzzRequest, httpx.Response | Exception]], int]:
    """Send ``requests`` with bounded concurrency; the failures and how many were sent.
    ``registered`` collects the ids of clients that registrations created."""
    failures: list[tuple[FuzzRequest, httpx.Response | Exception]] = []
    sent = 0
    limits = httpx.Limits(max_connections=CONCURRENCY, max_keepalive_connections=CONCURRENCY)
    queue = list(reversed(requests))
    async with httpx.AsyncClient(base_url=url, timeout=30, limits=limits, trust_env=False) as http:

        async def worker() -> None:
            nonlocal sent
            while queue and time.monotonic() < deadline:
                req = queue.pop()
                try:
                    response = await http.request(
                        req.method,
                        httpx.URL(url + req.url_tail()),
                        headers=req.headers,
                        content=req.body,
                    )
                except (httpx.LocalProtocolError, httpx.InvalidURL):
                    continue  # the client refused to send it: nothing reached the server
                except httpx.HTTPError as exc:
                    failures.append((req, exc))
                    sent += 1
                    continue
                sent += 1
                if response.status_code == 201 and req.path.endswith("/register"):
                    registered.add(response.json()["client_id"])
                if not acceptable(req, response):
                    failures.append((req, response))

        await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
    return failures, sent


def acceptable(req: FuzzRequest, response: httpx.Response) -> bool:
    """No 5xx, no stack trace, and a JSON refusal carries an ``error`` code. The one 503
    allowed is the health endpoint's own verdict
    on a backing store that did not answer in time (its contract with the load balancer,
    seen when other work saturates this machine)."""
    if b"Traceback" in response.content or b'File "' in response.content:
        return False
    if response.status_code == 503 and req.path == "/oxauth/health":
        return bool(response.json().get("status") == "unavailable")
    ctype = response.headers.get("content-type", "")
    if (
        400 <= response.status_code < 500
        and ctype.startswith("application/json")
        and req.method != "HEAD"
    ):
        try:  # a refused request names its error (RFC 6749 5.2 and its kin)
            body = response.json()
        except ValueError:
            return False
        return isinstance(body, dict) and isinstance(body.get("error"), str)
    return response.status_code < 500


# Rate limits and slow-downs would turn most fuzzed requests into the same 429 or delay
# before their input is even read: lifted for the fuzzed process, restored afterwards.
LIFTED = {
    K.OXAUTH_REGISTRATION_RATE_LIMIT: "1000000",
    K.OXAUTH_LOCKOUT_USER_FAILURES: "1000000",
    K.OXAUTH_LOCKOUT_ADDRESS_FAILURES: "1000000",
    K.OXAUTH_LOCKOUT_ADDRESS_DELAY_MS: "0",
}


@pytest.fixture(scope="module")
def fuzz_server(oxauth_servers: Callable[..., Server], stack: Stack) -> Iterator[Server]:
    manager = stack.manager()
    before = {key: manager.get(key) for key in LIFTED}
    try:
        for key, value in LIFTED.items():
            manager.set(key, value)
        yield oxauth_servers(registration="open")
    finally:
        for key, value in before.items():
            if value is None:
                manager.store.delete(manager.config_key(key))
            else:
                manager.set(key, value)
        manager.store.close()


def test_no_request_crashes_oxauth(
    fuzz_server: Server, stack: Stack, directory_tools: DirectoryTools
) -> None:
    seed = int(os.environ.get("OXSWARM_FUZZ_SEED") or random.SystemRandom().randrange(2**32))
    print(f"\nfuzz seed: {seed} (replay with OXSWARM_FUZZ_SEED={seed})")
    ctx = Context(fuzz_server, directory_tools)
    targets = ctx.targets()
    missing = uncovered(targets, stack)
    assert not missing, f"routes no fuzz target covers: {missing}"

    before = directory_dump(stack)
    fuzzer = Fuzzer(seed, ctx.assertions())
    ctx.rng.seed(seed)
    requests = [fuzzer.request(targets[i % len(targets)]) for i in range(REQUESTS)]
    started = time.monotonic()
    registered: set[str] = set()
    failures, sent = asyncio.run(
        send_all(fuzz_server.url, requests, started + DEADLINE, registered)
    )
    elapsed = time.monotonic() - started
    print(f"fuzz: {sent} requests in {elapsed:.1f} s, {len(failures)} failures")

    report = []
    for req, outcome in failures[:40]:
        what = (
            f"{outcome.status_code} {outcome.text[:200]!r}"
            if isinstance(outcome, httpx.Response)
            else repr(outcome)
        )
        report.append(f"{what}\n    <- {req.describe()}")
    assert not failures, f"{len(failures)} failures (seed {seed}):\n" + "\n".join(report)
    assert sent >= min(REQUESTS, 5000), f"only {sent} requests in {DEADLINE} s"

    assert fuzz_server.daemon.running(), "the oxAuth process died"
    with fuzz_server.client() as http:
        assert http.get("/.well-known/openid-configuration").status_code == 200

    after = directory_dump(stack)
    managed = {cid.lower() for cid in (ctx.registered["client_id"], *registered)}
    changed = sorted(
        dn
        for dn in before.keys() | after.keys()
        if before.get(dn) != after.get(dn) and client_of(dn) not in managed
    )
    print(f"fuzz: {len(registered)} clients registered by the fuzz (left out of the comparison)")
    assert not changed, f"directory entries changed: {changed[:20]}"
