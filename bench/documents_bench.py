#!/usr/bin/env python3
"""Discovery and JWKS requests per second: our oxAuth beside node-oidc-provider.

``wrk`` GETs ``/.well-known/openid-configuration`` and the JWKS (ours
``/oxauth/restv1/jwks``, the peer's ``/jwks``) of each side in turn, same connections
and duration, for several rounds; a round counts only when every answer was 2xx. Plain
GETs (no ``If-None-Match``): the full document every time, the case that costs most.
One process each, on the same stack as the other benchmarks.

    python bench/documents_bench.py [--rounds 6] [--seconds 5] [--connections 16]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import peer as pb

from oxswarm.local.stack import start_stack


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--connections", type=int, default=16)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="oxswarm-docs-") as tmp:
        root = Path(tmp)
        stack = start_stack(root / "stack")
        ours = None
        peer_started = False
        try:
            ours, our_base = pb.start_ours(stack, root / "oxauth")
            peer_started = True
            peer_pid, peer_base = pb.start_peer(stack)
            targets = {
                "discovery": {"ours": f"{our_base}/.well-known/openid-configuration",
                              "peer": f"{peer_base}/.well-known/openid-configuration"},
                "jwks": {"ours": f"{our_base}/oxauth/restv1/jwks", "peer": f"{peer_base}/jwks"},
            }
            results: dict[str, float | None] = {}
            for name, urls in targets.items():
                for url in urls.values():
                    pb.wrk_get(url, 2, args.connections)  # warm-up
                rounds = pb.Rounds("requests/s", {"ours": (ours.pid or 0,), "peer": (peer_pid,)})
                rounds.run(args.rounds, lambda side, urls=urls: pb.wrk_get(  # type: ignore[misc]
                    urls[side], args.seconds, args.connections), label=f"{name} ")
                results[name] = rounds.report(label=f"{name} ")
            return 0 if all(r is not None for r in results.values()) else 1
        finally:
            if peer_started:
                pb.stop_peer()
            if ours is not None:
                ours.stop()
            stack.stop()


if __name__ == "__main__":
    sys.exit(main())
