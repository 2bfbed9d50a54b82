#!/usr/bin/env python3
"""Full sign-ins per second: our oxAuth beside node-oidc-provider, in the same run.

A sign-in is what a browser and its relying party do: ``GET authorize`` (code flow, PKCE
S256, ``prompt=consent`` so that both sides show their consent page every time), the login
form (ours checks the password against the directory: a real Argon2id verification in
slapd; the peer's development pages, ``DEV_INTERACTIONS=1``, check none), the consent
form, the code exchanged at the token endpoint with the PKCE verifier (Basic client
auth, an ID token signed), then ``userinfo`` with the access token. Each sign-in starts
with an empty cookie jar (no single sign-on). ``--browsers`` (8) run at the same time,
one ``httpx.AsyncClient`` each, for ``--seconds`` per side and round; a round counts only
when every answer was the expected one.

    python bench/signin_bench.py [--rounds 6] [--seconds 8] [--browsers 8]

Prints each round, the medians, their ratio, the median of the per-round ratios and the
resident memory of both processes at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import secrets
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import parse_qs, urljoin, urlsplit

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

import peer as pb

from oxswarm.directory.clients import ClientRepository
from oxswarm.directory.models import Client, Person
from oxswarm.directory.people import PeopleRepository
from oxswarm.local.stack import start_stack

CB = "http://127.0.0.1:9/cb"
CLIENT_ID = "web"
CLIENT_SECRET = "web-secret-0123456789"
PASSWORD = "correct horse battery staple"


class _Form(HTMLParser):
    """The first POST form of a page: its action and the fields a browser would send
    (hidden inputs, and the ``allow`` button when there is a choice)."""

    def __init__(self) -> None:
        super().__init__()
        self.action: str | None = None
        self.fields: dict[str, str] = {}
        self._inside = False
        self._done = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form" and not self._done and a.get("method", "").lower() == "post":
            self.action, self._inside = a.get("action", ""), True
        elif self._inside and tag == "input" and a.get("name"):
            self.fields[a["name"]] = a.get("value", "")
        elif self._inside and tag == "button" and a.get("name") and a.get("value") == "allow":
            self.fields[a["name"]] = "allow"

    def handle_endtag(self, tag: str) -> None:
        if tag == "form" and self._inside:
            self._inside, self._done = False, True


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


@dataclass(frozen=True)
class Side:
    name: str
    authorize: str
    token: str
    userinfo: str
    users: list[str]


async def sign_in(http: httpx.AsyncClient, side: Side, user: str) -> None:
    """One full sign-in; raises on any unexpected answer."""
    http.cookies.clear()
    verifier = secrets.token_urlsafe(48)
    params = {
        "client_id": CLIENT_ID, "redirect_uri": CB, "response_type": "code",
        "scope": "openid profile", "state": secrets.token_urlsafe(8), "prompt": "consent",
        "code_challenge": b64url(hashlib.sha256(verifier.encode()).digest()),
        "code_challenge_method": "S256",
    }
    r = await http.get(side.authorize, params=params)
    code = None
    for _ in range(12):
        if r.status_code in (302, 303):
            location = r.headers["location"]
            if location.startswith(CB):
                got = parse_qs(urlsplit(location).query)
                if got.get("state") != [params["state"]] or "code" not in got:
                    raise RuntimeError(f"{side.name}: bad redirect {location}")
                code = got["code"][0]
                break
            r = await http.get(urljoin(str(r.url), location))
        elif r.status_code == 200:
            form = _Form()
            form.feed(r.text)
            if form.action is None:
                raise RuntimeError(f"{side.name}: no form at {r.url}")
            data = dict(form.fields)
            if "password" in data:
                data["password"] = PASSWORD
                data["login" if "login" in data else "username"] = user
            r = await http.post(urljoin(str(r.url), form.action), data=data)
        else:
            raise RuntimeError(f"{side.name}: {r.status_code} at {r.url}: {r.text[:200]}")
    if code is None:
        raise RuntimeError(f"{side.name}: no code after 12 steps")
    r = await http.post(side.token, auth=(CLIENT_ID, CLIENT_SECRET), data={
        "grant_type": "authorization_code", "code": code, "redirect_uri": CB,
        "code_verifier": verifier})
    if r.status_code != 200 or "id_token" not in r.json():
        raise RuntimeError(f"{side.name}: token {r.status_code} {r.text[:200]}")
    access = r.json()["access_token"]
    r = await http.get(side.userinfo, headers={"Authorization": f"Bearer {access}"})
    if r.status_code != 200 or "sub" not in r.json():
        raise RuntimeError(f"{side.name}: userinfo {r.status_code} {r.text[:200]}")


async def drive(side: Side, browsers: int, seconds: float) -> tuple[float, bool]:
    """(sign-ins/s, valid) of ``browsers`` concurrent browsers for ``seconds``."""
    done = 0
    failures: list[str] = []
    stop = time.perf_counter() + seconds

    async def browser(index: int) -> None:
        nonlocal done
        async with httpx.AsyncClient(timeout=30, trust_env=False) as http:
            while time.perf_counter() < stop:
                try:
                    await sign_in(http, side, side.users[index % len(side.users)])
                except (RuntimeError, httpx.HTTPError, ValueError) as exc:
                    failures.append(str(exc))
                    return
                done += 1

    began = time.perf_counter()
    await asyncio.gather(*(browser(i) for i in range(browsers)))
    elapsed = time.perf_counter() - began
    if failures:
        print(f"  {side.name}: {len(failures)} failed, e.g. {failures[0]}", flush=True)
    return done / elapsed, not failures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--seconds", type=float, default=8)
    parser.add_argument("--browsers", type=int, default=8)
    parser.add_argument("--warmup", type=float, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="oxswarm-signin-") as tmp:
        root = Path(tmp)
        stack = start_stack(root / "stack")
        ours = None
        peer_started = False
        try:
            users = [f"bench{uuid.uuid4().hex[:8]}" for _ in range(args.browsers)]
            with stack.directory() as directory:
                ClientRepository(directory, stack.box()).add(Client(
                    client_id=CLIENT_ID, client_secret=CLIENT_SECRET, name="Bench RP",
                    redirect_uris=[CB], response_types=["code"],
                    grant_types=["authorization_code"], scopes=["openid", "profile"]))
                people = PeopleRepository(directory)
                for uid in users:
                    people.add(Person(inum=str(uuid.uuid4()), uid=uid, family_name="Bench",
                                      given_name="Bea", email=f"{uid}@example.org"), PASSWORD)
            ours, our_base = pb.start_ours(stack, root / "oxauth")
            peer_started = True
            peer_pid, peer_base = pb.start_peer(
                stack, WEB_REDIRECT_URI=CB, DEV_INTERACTIONS="1",
                WEB_CLIENT_ID=CLIENT_ID, WEB_CLIENT_SECRET=CLIENT_SECRET)
            sides = {
                "ours": Side("ours", f"{our_base}/oxauth/restv1/authorize",
                             f"{our_base}/oxauth/restv1/token",
                             f"{our_base}/oxauth/restv1/userinfo", users),
                "peer": Side("peer", f"{peer_base}/auth", f"{peer_base}/token",
                             f"{peer_base}/me", users),
            }
            for side in sides.values():
                _rate, valid = asyncio.run(drive(side, args.browsers, args.warmup))
                if not valid:
                    return 1
            rounds = pb.Rounds("sign-ins/s", {  # ours: oxAuth and slapd (the hash)
                "ours": (ours.pid or 0, stack.slapd[0].daemon.pid or 0), "peer": (peer_pid,)})
            rounds.run(args.rounds,
                       lambda s: asyncio.run(drive(sides[s], args.browsers, args.seconds)))
            print(f"resident memory: ours {pb.rss_mib(ours.pid or 0):.0f} MiB, "
                  f"peer {pb.rss_mib(peer_pid):.0f} MiB")
            return 0 if rounds.report() is not None else 1
        finally:
            if peer_started:
                pb.stop_peer()
            if ours is not None:
                ours.stop()
            stack.stop()


if __name__ == "__main__":
    sys.exit(main())
