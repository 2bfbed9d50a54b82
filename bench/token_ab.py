#!/usr/bin/env python3
"""A/B of our token endpoint: oxAuth from two source trees, side by side, in the same run.

Both run one worker on one stack (etcd, slapd, Twemproxy + Redis) with the same client;
each round drives both *at the same time*, each with its own ``wrk`` (client_credentials,
Basic auth), so that the machine's other load hits both alike. Per side and round: the
rate and the server's CPU time per token (user + system over the requests answered).

    python bench/token_ab.py --before /work/main/src --after src [--rounds 20 --seconds 6]

``--before`` and ``--after`` the same tree: the spread of the method (an A/A run).
Prints each round, the medians, the median of the per-round rate ratios (after/before).
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import token_bench as tb

from oxswarm.directory.clients import ClientRepository
from oxswarm.directory.models import Client
from oxswarm.local.process import Daemon, free_port
from oxswarm.local.stack import Stack, start_stack

_REQUESTS = re.compile(r"(\d+) requests in")
TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def start(stack: Stack, workdir: Path, src: str) -> tuple[Daemon, str]:
    port = free_port()
    daemon = Daemon(f"oxauth-{port}", [
        sys.executable, "-m", "oxswarm", "run", "oxauth",
        "--store", stack.store_url, "--cluster", stack.cluster,
        "--master-key-file", str(stack.master_key_file),
        "--bind", f"127.0.0.1:{port}", "--workers", "1", "--issuer", f"http://127.0.0.1:{port}",
        "--cache", stack.cache_address, "--ldap-url", stack.ldap_urls[0],
    ], workdir, env={"PYTHONPATH": src}).start()
    daemon.wait_tcp("127.0.0.1", port, 60)
    return daemon, f"http://127.0.0.1:{port}/oxauth/restv1/token"


def rounds(sides: dict[str, tuple[Daemon, str]], args: argparse.Namespace) -> int:
    env = {**os.environ, "CLIENT_ID": tb.CLIENT_ID, "CLIENT_SECRET": tb.CLIENT_SECRET,
           "SCOPE": "api"}
    for _daemon, url in sides.values():
        tb.wrk(url, args.warmup, args.connections)
    rates: dict[str, list[float]] = {name: [] for name in sides}
    cpus: dict[str, list[float]] = {name: [] for name in sides}
    ratios: list[float] = []
    for index in range(args.rounds):
        began = {name: cpu_seconds(d.pid or 0) for name, (d, _url) in sides.items()}
        procs = {name: subprocess.Popen(
            [str(tb.PEER / "run.sh"), "bench", url, str(args.seconds), str(args.connections)],
            stdout=subprocess.PIPE, text=True, env=env) for name, (_d, url) in sides.items()}
        outs = {name: proc.communicate()[0] for name, proc in procs.items()}
        got: dict[str, float] = {}
        for name, (daemon, _url) in sides.items():
            rate, errors, count = tb._RATE.search(outs[name]), tb._NON2XX.search(outs[name]), \
                _REQUESTS.search(outs[name])
            if rate is None or errors is None or count is None:
                raise RuntimeError(f"cannot read wrk's output:\n{outs[name]}")
            per = (cpu_seconds(daemon.pid or 0) - began[name]) / int(count[1]) * 1e6
            valid = int(errors[1]) == int(errors[2]) == 0
            print(f"round {index + 1} {name}: {float(rate[1]):7.0f} tokens/s, {per:5.0f} us CPU "
                  f"a token{'' if valid else '  (INVALID: non-2xx or socket errors)'}", flush=True)
            if valid:
                rates[name].append(float(rate[1]))
                cpus[name].append(per)
                got[name] = float(rate[1])
        if len(got) == 2:
            ratios.append(got["after"] / got["before"])
    if not ratios:
        print("no valid round", file=sys.stderr)
        return 1
    for name in sides:
        print(f"median {name}: {statistics.median(rates[name]):.0f} tokens/s, "
              f"{statistics.median(cpus[name]):.1f} us CPU a token")
    cpu_change = statistics.median(cpus["after"]) / statistics.median(cpus["before"]) - 1
    print(f"median of per-round ratios after/before: {statistics.median(ratios):.3f}; "
          f"CPU a token {cpu_change * 100:+.1f} %")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--before", required=True, help="the src folder of the reference")
    parser.add_argument("--after", required=True, help="the src folder of the change")
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--seconds", type=int, default=6)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--warmup", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="oxswarm-ab-") as tmp:
        root = Path(tmp)
        stack = start_stack(root / "stack")
        sides: dict[str, tuple[Daemon, str]] = {}
        try:
            with stack.directory() as directory:
                ClientRepository(directory, stack.box()).add(Client(
                    client_id=tb.CLIENT_ID, client_secret=tb.CLIENT_SECRET,
                    grant_types=["client_credentials"], scopes=["openid", "api"]))
            for name, src in (("before", args.before), ("after", args.after)):
                sides[name] = start(stack, root / name, str(Path(src).resolve()))
                tb.check_token(sides[name][1])
            return rounds(sides, args)
        finally:
            for daemon, _url in sides.values():
                daemon.stop()
            stack.stop()


if __name__ == "__main__":
    sys.exit(main())
