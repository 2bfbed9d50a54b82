#!/usr/bin/env python3
"""Token endpoint benchmark: our oxAuth beside node-oidc-provider, in the same run.

Both serve ``client_credentials`` with HTTP Basic client authentication, one process
each, opaque access tokens stored in Redis: ours through Twemproxy (the real cache tier,
client records from the real directory, config from the real etcd), the peer directly
in Redis (its own adapter). ``wrk`` drives each in turn for several rounds, with the
same connections and duration; a round counts only when every answer was 2xx.

    python bench/token_bench.py [--rounds 5] [--seconds 10] [--connections 16]

Prints each round, then the median rate of each and the ratio ours / peer.
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

from oxswarm.directory.clients import ClientRepository
from oxswarm.directory.models import Client
from oxswarm.local.process import Daemon, free_port, wait_until
from oxswarm.local.stack import start_stack

PEER = Path(__file__).resolve().parents[2] / "shared" / "bench" / "peer-oidc"
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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--warmup", type=int, default=3)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="oxswarm-bench-") as tmp:
        root = Path(tmp)
        stack = start_stack(root / "stack")
        ours = peer_pid = None
        try:
            with stack.directory() as directory:
                ClientRepository(directory, stack.box()).add(Client(
                    client_id=CLIENT_ID, client_secret=CLIENT_SECRET,
                    grant_types=["client_credentials"], scopes=["openid", "api"],
                ))
            port = free_port()
            ours = Daemon("oxauth", [
                sys.executable, "-m", "oxswarm", "run", "oxauth",
                "--store", stack.store_url, "--cluster", stack.cluster,
                "--master-key-file", str(stack.master_key_file),
                "--bind", f"127.0.0.1:{port}", "--workers", "1",
                "--issuer", f"http://127.0.0.1:{port}",
                "--cache", stack.cache_address, "--ldap-url", stack.ldap_urls[0],
            ], root / "oxauth").start()
            ours.wait_tcp("127.0.0.1", port, 60)
            our_url = f"http://127.0.0.1:{port}/oxauth/restv1/token"

            peer_port = free_port()
            redis = stack.cache.redis[0]
            env = {**os.environ, "ADAPTER": "redis",
                   "REDIS_URL": f"redis://{redis.host}:{redis.port}/0",
                   "CLIENT_ID": CLIENT_ID, "CLIENT_SECRET": CLIENT_SECRET}
            started = subprocess.run(
                [str(PEER / "run.sh"), "start", str(peer_port)],
                capture_output=True, text=True, env=env, check=True,
            )
            peer_pid = int(started.stdout.strip().splitlines()[-1])
            peer_url = f"http://127.0.0.1:{peer_port}/token"
            wait_until(lambda: _answers(peer_url), 30, "the peer's token endpoint")
            check_token(our_url)
            check_token(peer_url)

            for url in (our_url, peer_url):
                wrk(url, args.warmup, args.connections)
            ours_rates: list[float] = []
            peer_rates: list[float] = []
            for index in range(args.rounds):
                pair = [("ours", our_url, ours_rates), ("peer", peer_url, peer_rates)]
                if index % 2:
                    pair.reverse()
                for name, url, rates in pair:
                    rate, non2xx, sock = wrk(url, args.seconds, args.connections)
                    valid = non2xx == 0 and sock == 0
                    print(f"round {index + 1} {name}: {rate:8.0f} tokens/s"
                          f"{'' if valid else f'  (INVALID: {non2xx} non-2xx, {sock} socket errors)'}",
                          flush=True)
                    if valid:
                        rates.append(rate)
            if not ours_rates or not peer_rates:
                print("no valid round for one side", file=sys.stderr)
                return 1
            ours_median = statistics.median(ours_rates)
            peer_median = statistics.median(peer_rates)
            print(f"median ours: {ours_median:.0f} tokens/s ({len(ours_rates)} rounds)")
            print(f"median peer: {peer_median:.0f} tokens/s ({len(peer_rates)} rounds)")
            print(f"ratio ours/peer: {ours_median / peer_median:.2f}")
            return 0
        finally:
            if peer_pid is not None:
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
