#!/usr/bin/env python3
"""Token endpoint benchmark: our oxAuth beside node-oidc-provider, in the same run.

Both serve ``client_credentials`` with HTTP Basic client authentication, one process
each, opaque access tokens stored in Redis: ours through Twemproxy (the real cache tier,
client records from the real directory, config from the real etcd), the peer directly
in Redis (its own adapter). ``wrk`` drives each in turn for several rounds, with the
same connections and duration; a round counts only when every answer was 2xx.

    python bench/token_bench.py [--rounds 5] [--seconds 10] [--connections 16] [--shards 3]

Prints each round, the resident memory of both processes after the rounds (at the
default 8 rounds of 8 s, 64 s of load each), then the median rate of each, the ratio of
the medians and the median of the per-round ratios (each round runs both back to back,
so a change in the machine's other load hits both sides of a round alike).
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

import peer as pb

from oxswarm.directory.clients import ClientRepository
from oxswarm.directory.models import Client
from oxswarm.local.process import Daemon
from oxswarm.local.stack import Stack, start_stack

PEER = pb.PEER
CLIENT_ID = "bench"
CLIENT_SECRET = "bench-secret-0123456789"
_RATE = re.compile(r"Requests/sec:\s+([\d.]+)")
_NON2XX = re.compile(r"non-2xx: (\d+), socket errors: (\d+)")


def wrk(url: str, seconds: int, connections: int, *, client: tuple[str, str] | None = None,
        headers: tuple[str, ...] = ()) -> tuple[float, int, int]:
    """(requests/s, non-2xx answers, socket errors) of one wrk run: the peer's ``run.sh
    bench`` command (its ``client-credentials.lua``) with ``headers`` added; the client's
    secret goes to the script in the environment, never in argv."""
    client_id, secret = client or (CLIENT_ID, CLIENT_SECRET)
    env = {**os.environ, "CLIENT_ID": client_id, "CLIENT_SECRET": secret, "SCOPE": "api"}
    args = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s",
            "-s", str(PEER / "client-credentials.lua")]
    for header in headers:
        args += ["-H", header]
    out = subprocess.run([*args, url], capture_output=True, text=True, env=env,
                         check=True).stdout
    rate = _RATE.search(out)
    errors = _NON2XX.search(out)
    if rate is None or errors is None:
        raise RuntimeError(f"cannot read wrk's output:\n{out}")
    for line in out.splitlines():  # which kind: connect, read, write or timeout
        if line.strip().startswith("Socket errors:"):
            print(f"  wrk: {line.strip()}", file=sys.stderr, flush=True)
    return float(rate[1]), int(errors[1]), int(errors[2])


def check_token(url: str) -> None:
    resp = httpx.post(
        url, data={"grant_type": "client_credentials", "scope": "api"},
        auth=(CLIENT_ID, CLIENT_SECRET), timeout=10, trust_env=False,
    )
    if resp.status_code != 200 or "access_token" not in resp.json():
        raise RuntimeError(f"{url} does not issue tokens: {resp.status_code} {resp.text}")


def start_ours(stack: Stack, workdir: Path) -> tuple[Daemon, str]:
    """Our oxAuth, one worker, on the stack, with the bench client; (daemon, token URL)."""
    with stack.directory() as directory:
        ClientRepository(directory, stack.box()).add(Client(
            client_id=CLIENT_ID, client_secret=CLIENT_SECRET,
            grant_types=["client_credentials"], scopes=["openid", "api"],
        ))
    daemon, base = pb.start_ours(stack, workdir)
    return daemon, f"{base}/oxauth/restv1/token"


def measure(url: str, args: argparse.Namespace) -> tuple[float, bool]:
    rate, non2xx, sock = wrk(url, args.seconds, args.connections)
    return rate, non2xx == sock == 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--shards", type=int, default=1,
                        help="Redis shards behind our Twemproxy (2+: every token kept on two "
                             "of them, as in a cluster of that many nodes)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="oxswarm-bench-") as tmp:
        root = Path(tmp)
        stack = start_stack(root / "stack", cache_shards=args.shards)
        ours: Daemon | None = None
        peer_started = False
        try:
            ours, our_url = start_ours(stack, root / "oxauth")
            peer_started = True
            peer_pid, peer_base = pb.start_peer(
                stack, CLIENT_ID=CLIENT_ID, CLIENT_SECRET=CLIENT_SECRET)
            peer_url = f"{peer_base}/token"
            urls = {"ours": our_url, "peer": peer_url}
            for url in urls.values():
                check_token(url)
                wrk(url, args.warmup, args.connections)
            began = time.monotonic()
            rounds = pb.Rounds("tokens/s", {"ours": (ours.pid or 0,), "peer": (peer_pid,)})
            rounds.run(args.rounds, lambda side: measure(urls[side], args))
            print(f"resident memory after {time.monotonic() - began:.0f} s of rounds "
                  f"(each side under load half of it): ours {pb.rss_mib(ours.pid or 0):.0f} "
                  f"MiB, peer {pb.rss_mib(peer_pid):.0f} MiB, ratio "
                  f"{pb.rss_mib(ours.pid or 0) / pb.rss_mib(peer_pid):.2f}")
            return 0 if rounds.report() is not None else 1
        finally:
            if peer_started:
                pb.stop_peer()
            if ours is not None:
                ours.stop()
            stack.stop()


if __name__ == "__main__":
    sys.exit(main())
