#!/usr/bin/env python3
"""Token endpoint benchmark: our oxAuth beside node-oidc-provider, in the same run.

Both serve ``client_credentials`` with HTTP Basic client authentication, one process
each, opaque access tokens stored in Redis: ours through Twemproxy (the real cache tier,
client records from the real directory, config from the real etcd), the peer directly
in Redis (its own adapter). ``wrk`` drives each in turn for several rounds, with the
same connections and duration; a round counts only when every answer was 2xx.

    python bench/token_bench.py [--rounds 5] [--seconds 10] [--connections 16]

Prints each round, then the median rate of each, the ratio of the medians and the
median of the per-round ratios (each round runs both back to back, so a change in the
machine's other load hits both sides of a round alike).
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

from peer import _peer_folder

from oxswarm.directory.clients import ClientRepository
from oxswarm.directory.models import Client
from oxswarm.local.process import Daemon, free_port, wait_until
from oxswarm.local.stack import Stack, start_stack

PEER = _peer_folder()
CLIENT_ID = "bench"
CLIENT_SECRET = "bench-secret-0123456789"
_RATE = re.compile(r"Requests/sec:\s+([\d.]+)")
_NON2XX = re.compile(r"non-2xx: (\d+), socket errors: (\d+)")


def wrk(url: str, seconds: int, connections: int) -> tuple[float, int, int]:
    """(requests/s, non-2xx answers, socket errors) of one wrk run."""
    env = {**os.environ, "CLIENT_ID": CLIENT_ID, "CLIENT_SECRET": CLIENT_SECRET, "SCOPE": "api"}
    out = subprocess.run(
        [str(PEER / "run.sh"), "bench", url, str(seconds), str(connections)],
        capture_output=True, text=True, env=env, check=True,
    ).stdout
    rate = _RATE.search(out)
    errors = _NON2XX.search(out)
    if rate is None or errors is None:
        raise RuntimeError(f"cannot read wrk's output:\n{out}")
    return float(rate[1]), int(errors[1]), int(errors[2])


def check_token(url: str) -> None:
    resp = httpx.post(
        url, data={"grant_type": "client_credentials", "scope": "api"},
        auth=(CLIENT_ID, CLIENT_SECRET), timeout=10, trust_env=False,
    )
    if resp.status_code != 200 or "access_token" not in resp.json():
        raise RuntimeError(f"{url} does not issue tokens: {resp.status_code} {resp.text}")


def start_ours(stack: Stack, workdir: Path) -> tuple[Daemon, str]:
    """Our oxAuth, one worker, on the stack; returns (daemon, token URL)."""
    with stack.directory() as directory:
        ClientRepository(directory, stack.box()).add(Client(
            client_id=CLIENT_ID, client_secret=CLIENT_SECRET,
            grant_types=["client_credentials"], scopes=["openid", "api"],
        ))
    port = free_port()
    daemon = Daemon("oxauth", [
        sys.executable, "-m", "oxswarm", "run", "oxauth",
        "--store", stack.store_url, "--cluster", stack.cluster,
        "--master-key-file", str(stack.master_key_file),
        "--bind", f"127.0.0.1:{port}", "--workers", "1",
        "--issuer", f"http://127.0.0.1:{port}",
        "--cache", stack.cache_address, "--ldap-url", stack.ldap_urls[0],
    ], workdir).start()
    daemon.wait_tcp("127.0.0.1", port, 60)
    return daemon, f"http://127.0.0.1:{port}/oxauth/restv1/token"


def start_peer(stack: Stack) -> str:
    """node-oidc-provider with its Redis adapter on one of the stack's Redis servers."""
    port = free_port()
    redis = stack.cache.redis[0]
    env = {**os.environ, "ADAPTER": "redis", "REDIS_URL": f"redis://{redis.host}:{redis.port}/0",
           "CLIENT_ID": CLIENT_ID, "CLIENT_SECRET": CLIENT_SECRET}
    subprocess.run([str(PEER / "run.sh"), "start", str(port)],
                   capture_output=True, text=True, env=env, check=True)
    url = f"http://127.0.0.1:{port}/token"
    wait_until(lambda: _answers(url), 30, "the peer's token endpoint")
    return url


def run_rounds(our_url: str, peer_url: str, args: argparse.Namespace) -> int:
    for url in (our_url, peer_url):
        wrk(url, args.warmup, args.connections)
    rates: dict[str, list[float]] = {"ours": [], "peer": []}
    ratios: list[float] = []
    for index in range(args.rounds):
        pair = [("ours", our_url), ("peer", peer_url)]
        if index % 2:
            pair.reverse()
        this_round: dict[str, float] = {}
        for name, url in pair:
            rate, non2xx, sock = wrk(url, args.seconds, args.connections)
            note = "" if non2xx == sock == 0 else f"  (INVALID: {non2xx} non-2xx, {sock} errors)"
            print(f"round {index + 1} {name}: {rate:8.0f} tokens/s{note}", flush=True)
            if not note:
                rates[name].append(rate)
                this_round[name] = rate
        if len(this_round) == 2:
            ratios.append(this_round["ours"] / this_round["peer"])
    if not rates["ours"] or not rates["peer"]:
        print("no valid round for one side", file=sys.stderr)
        return 1
    ours, peer = statistics.median(rates["ours"]), statistics.median(rates["peer"])
    print(f"median ours: {ours:.0f} tokens/s ({len(rates['ours'])} rounds)")
    print(f"median peer: {peer:.0f} tokens/s ({len(rates['peer'])} rounds)")
    print(f"ratio of medians ours/peer: {ours / peer:.2f}")
    print(f"median of per-round ratios: {statistics.median(ratios):.2f}"
          f"  (rounds: {', '.join(f'{r:.2f}' for r in ratios)})")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--warmup", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="oxswarm-bench-") as tmp:
        root = Path(tmp)
        stack = start_stack(root / "stack")
        ours: Daemon | None = None
        peer_started = False
        try:
            ours, our_url = start_ours(stack, root / "oxauth")
            peer_started = True
            peer_url = start_peer(stack)
            check_token(our_url)
            check_token(peer_url)
            return run_rounds(our_url, peer_url, args)
        finally:
            if peer_started:
                subprocess.run([str(PEER / "run.sh"), "stop"], check=False)
                time.sleep(0.2)
            if ours is not None:
                ours.stop()
            stack.stop()


def _answers(url: str) -> bool:
    try:
        httpx.post(url, timeout=1, trust_env=False)
    except httpx.HTTPError:
        return False
    return True


if __name__ == "__main__":
    sys.exit(main())
