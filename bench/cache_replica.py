#!/usr/bin/env python3
"""What the cache's second copy costs: oxAuth with and without it, in the same run.

One stack with three Redis shards behind Twemproxy; two oxAuth processes (one worker
each) on it, one keeping every cache entry on two shards (the default), the other started
with ``OXSWARM_CACHE_REPLICA=0`` (one copy, as before). Rounds alternate the two:

- ``client_credentials`` tokens/s with ``wrk`` (as ``bench/token_bench.py``; each token
  is stored in the cache);
- full sign-ins/s, ``--browsers`` concurrent: authorize, login form (real password
  check), consent, code exchange, userinfo; a round counts only if every step answered.

    python bench/cache_replica.py [--rounds 5] [--seconds 8]

Prints every round and the medians (docs/cache.md, "What the second copy costs").
"""

from __future__ import annotations

import argparse
import html
import os
import re
import statistics
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
import token_bench
from token_bench import CLIENT_ID, CLIENT_SECRET, wrk

from oxswarm.config import keys as K
from oxswarm.directory.clients import ClientRepository
from oxswarm.directory.models import Client, Person
from oxswarm.directory.people import PeopleRepository
from oxswarm.local.process import Daemon, free_port
from oxswarm.local.stack import Stack, start_stack

# wrk's driver lives beside the checkout (a worktree's is one folder further up)
token_bench.PEER = next((p / "shared" / "bench" / "peer-oidc"
                         for p in Path(__file__).resolve().parents
                         if (p / "shared" / "bench" / "peer-oidc").is_dir()), token_bench.PEER)
RP, CB, PASSWORD = "bench-rp", "https://rp.example/cb", "Correct-horse-42"
_HIDDEN = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)"')


def seed(stack: Stack, people: int) -> list[str]:
    manager = stack.manager()
    try:
        manager.set(K.OXAUTH_TRUSTED_PROXIES, "127.0.0.1/32")  # a browser per X-Forwarded-For
    finally:
        manager.store.close()
    uids = [f"bench{i}" for i in range(people)]
    with stack.directory() as directory:
        clients = ClientRepository(directory, stack.box())
        clients.add(Client(client_id=CLIENT_ID, client_secret=CLIENT_SECRET,
                           grant_types=["client_credentials"], scopes=["openid", "api"]))
        clients.add(Client(client_id=RP, client_secret=CLIENT_SECRET, redirect_uris=[CB],
                           grant_types=["authorization_code"], scopes=["openid", "profile"]))
        for uid in uids:
            PeopleRepository(directory).add(Person(
                inum=str(uuid.uuid4()), uid=uid, family_name="Doe", given_name="Jane",
                email=f"{uid}@example.org"), PASSWORD)
    return uids


def start(stack: Stack, workdir: Path, replica: bool) -> tuple[Daemon, str]:
    port = free_port()
    env = {**os.environ, "OXSWARM_CACHE_REPLICA": "1" if replica else "0"}
    daemon = Daemon(f"oxauth-{port}", [
        sys.executable, "-m", "oxswarm", "run", "oxauth",
        "--store", stack.store_url, "--cluster", stack.cluster,
        "--master-key-file", str(stack.master_key_file),
        "--bind", f"127.0.0.1:{port}", "--workers", "1",
        "--issuer", f"http://127.0.0.1:{port}",
        "--cache", stack.cache_address, "--ldap-url", stack.ldap_urls[0],
    ], workdir, env=env).start()
    daemon.wait_tcp("127.0.0.1", port, 60)
    return daemon, f"http://127.0.0.1:{port}"


def sign_in(base: str, uid: str, n: int) -> bool:
    """One browser's whole sign-in; True when it ends with userinfo for ``uid``."""
    headers = {"X-Forwarded-For": f"10.{n // 65536 % 256}.{n // 256 % 256}.{n % 256}"}
    with httpx.Client(base_url=base, trust_env=False, timeout=30, headers=headers) as http:
        page = http.get("/oxauth/restv1/authorize", params={
            "client_id": RP, "redirect_uri": CB, "response_type": "code",
            "scope": "openid profile", "state": "s", "nonce": uuid.uuid4().hex})
        form = {k: html.unescape(v) for k, v in _HIDDEN.findall(page.text)}
        res = http.post("/oxauth/login", data=form | {"username": uid, "password": PASSWORD})
        if res.status_code == 200 and 'name="decision"' in res.text:
            form = {k: html.unescape(v) for k, v in _HIDDEN.findall(res.text)}
            res = http.post("/oxauth/consent", data=form | {"decision": "allow"})
        if res.status_code not in (302, 303):
            return False
        code = parse_qs(urlsplit(res.headers["location"]).query).get("code", [""])[0]
        token = http.post("/oxauth/restv1/token", auth=(RP, CLIENT_SECRET), data={
            "grant_type": "authorization_code", "code": code, "redirect_uri": CB})
        if token.status_code != 200:
            return False
        info = http.get("/oxauth/restv1/userinfo",
                        headers={"Authorization": f"Bearer {token.json()['access_token']}"})
        return info.status_code == 200 and info.json().get("sub") is not None


def sign_ins(base: str, uids: list[str], seconds: float, browsers: int) -> tuple[float, int]:
    """(sign-ins/s, failures) of ``browsers`` threads signing in for ``seconds``."""
    done, failed, end, lock = [0], [0], time.monotonic() + seconds, threading.Lock()

    def browser(index: int) -> None:
        n = index
        while time.monotonic() < end:
            ok = sign_in(base, uids[n % len(uids)], n)
            with lock:
                done[0] += ok
                failed[0] += not ok
            n += browsers

    began = time.monotonic()
    threads = [threading.Thread(target=browser, args=(i,)) for i in range(browsers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return done[0] / (time.monotonic() - began), failed[0]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--browsers", type=int, default=8)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="oxswarm-replica-bench-") as tmp:
        root = Path(tmp)
        stack = start_stack(root / "stack", cache_shards=3)
        daemons: list[Daemon] = []
        try:
            uids = seed(stack, 64)
            urls = {}
            for name, replica in (("two copies", True), ("one copy", False)):
                daemon, urls[name] = start(stack, root / name.replace(" ", "-"), replica)
                daemons.append(daemon)
            for url in urls.values():  # warm up both
                wrk(url + "/oxauth/restv1/token", 2, args.connections)
                sign_ins(url, uids, 2, args.browsers)
            tokens: dict[str, list[float]] = {n: [] for n in urls}
            signins: dict[str, list[float]] = {n: [] for n in urls}
            for index in range(args.rounds):
                order = list(urls.items())[::-1 if index % 2 else 1]
                for name, url in order:
                    rate, non2xx, sock = wrk(url + "/oxauth/restv1/token", args.seconds,
                                             args.connections)
                    ok = non2xx == sock == 0
                    print(f"round {index + 1} {name}: {rate:7.0f} tokens/s"
                          f"{'' if ok else '  (INVALID)'}", flush=True)
                    if ok:
                        tokens[name].append(rate)
                for name, url in order:
                    rate, failures = sign_ins(url, uids, args.seconds, args.browsers)
                    print(f"round {index + 1} {name}: {rate:7.1f} sign-ins/s"
                          f"{'' if not failures else f'  (INVALID: {failures} failed)'}",
                          flush=True)
                    if not failures:
                        signins[name].append(rate)
            for label, table in (("tokens/s", tokens), ("sign-ins/s", signins)):
                medians = {n: statistics.median(v) for n, v in table.items() if v}
                if len(medians) < 2:
                    print(f"{label}: no valid round for one side", file=sys.stderr)
                    return 1
                two, one = medians["two copies"], medians["one copy"]
                print(f"median {label}: two copies {two:.1f}, one copy {one:.1f}, "
                      f"cost {100 * (1 - two / one):+.1f}%")
            return 0
        finally:
            for daemon in daemons:
                daemon.stop()
            stack.stop()


if __name__ == "__main__":
    sys.exit(main())
