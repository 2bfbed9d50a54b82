#!/usr/bin/env python3
"""Scale-out through the load balancer: tokens/s with every node in rotation against one.

Issue 13: "through the load balancer: tokens/s with 3 nodes versus 1 node". On a lab
cluster made with the documented commands (``oxswarm up --nodes N --cluster NAME
--json``; on a cluster already up it changes nothing and the cluster is reused), with a
``client_credentials`` client registered by ``oxswarm clients add``, wrk (the peer
bench's ``client-credentials.lua``) posts to the token endpoint at the address ``up``
prints as the load balancer, in rounds: all N nodes in rotation, then K (default 1),
the order alternating each round (``peer.Rounds``). A round counts only when every answer
was 2xx with no socket error (wrk counts an answer later than its 2 s timeout as one).
Each run also prints the machine's CPU use (all cores, from ``/proc/stat``) and its
1-minute load average: other work on this machine moves the rates.

Taking a node out of rotation keeps its state: it leaves the load balancer's upstream
(the LB's ``nginx.conf`` rendered by ``render_lb`` with the kept nodes only, reloaded)
and its oxAuth task stops (a placement constraint ``node.labels.oxswarm.node != NODE``
on the global ``oxauth`` service; every node's NGINX spreads requests over every oxAuth
in the catalogue, so the LB alone would still use all of them). Its etcd member, Redis
shard, Twemproxy, slapd and NGINX keep running: the state tier stays N nodes, only the
stateless front (NGINX and oxAuth, one worker each) scales. The rotation is restored at
the end; ``oxswarm down`` removes the cluster unless ``--keep``.

    flock /tmp/oxswarm-lab.lock python3 bench/scaleout_bench.py [--nodes 3] [--fewer 1]
        [--rounds 6] [--seconds 10] [--connections 32] [--cluster oxscale] [--keep]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # tests.cluster
sys.path.insert(0, str(Path(__file__).resolve().parent))

import peer as pb
import token_bench as tb
from tests.cluster.conftest import oxswarm
from tests.cluster.probes import catalogued_nodes, clients_add

from oxswarm.deploy.deployer import Deployer, UpResult
from oxswarm.deploy.lb import LoadBalancer, lb_spec
from oxswarm.deploy.swarm import LABEL_NODE
from oxswarm.edge.lb import render_lb
from oxswarm.local.process import wait_until


def cpu_times() -> tuple[int, int]:
    """(busy, total) jiffies of all cores so far."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return sum(fields) - fields[3] - fields[4], sum(fields)


class Rotation:
    """Which nodes take requests: the LB's upstream and the oxAuth service's placement."""

    def __init__(self, deployer: Deployer) -> None:
        spec = deployer.saved_spec()
        assert spec is not None and spec.lab is not None
        self.deployer, self.spec = deployer, spec
        self.names = [n.name for n in spec.nodes]
        self.lb = LoadBalancer(spec, deployer.state_dir / "lb", deployer.runner)
        self.manager = deployer.driver(spec).docker(spec.manager.name)
        self.out: set[str] = set()

    def keep(self, count: int) -> None:
        """Only the first ``count`` nodes (the manager first) in rotation."""
        out = set(self.names[count:])
        if out == self.out:
            return
        update = ["service", "update", "--detach"]
        for name in sorted(out - self.out):
            update += ["--constraint-add", f"node.labels.{LABEL_NODE}!={name}"]
        for name in sorted(self.out - out):
            update += ["--constraint-rm", f"node.labels.{LABEL_NODE}!={name}"]
        kept = [n for n in self.spec.nodes if n.name not in out]
        full = lb_spec(self.spec, self.lb.root)
        limited = full.model_copy(update={"nodes": tuple(
            t for t in full.nodes if t.name not in out)})
        self.lb.conf.write_text(render_lb(limited))
        self.lb.nginx.test()
        self.lb.nginx.reload()
        self.manager.run(*update, f"{self.spec.stack}_oxauth", timeout=120)
        self.out = out
        want = {n.name for n in kept}
        wait_until(lambda: catalogued_nodes(self.deployer) == want, 300,
                   f"oxAuth in the catalogue on {sorted(want)} only")
        time.sleep(3)  # every node's NGINX follows the catalogue (watch, then reload)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--nodes", type=int, default=3)
    parser.add_argument("--fewer", type=int, default=1, help="nodes in the smaller rotation")
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--cluster", default="oxscale")
    parser.add_argument("--keep", action="store_true", help="leave the cluster up at the end")
    args = parser.parse_args()
    deployer = Deployer(cluster=args.cluster, state_dir=Path(f"/var/lib/oxswarm/{args.cluster}"))
    rotation: Rotation | None = None
    try:
        made = oxswarm("up", "--nodes", str(args.nodes), "--cluster", args.cluster, "--json")
        if made.returncode != 0:
            print(f"oxswarm up exited {made.returncode}", file=sys.stderr)
            return 1
        result = UpResult(**json.loads(made.stdout))
        print(f"up: {result.timings}; load balancer {result.load_balancer}", flush=True)
        client = clients_add(result, "scaleout-bench", "api")
        url = f"https://{result.load_balancer}/oxauth/restv1/token"
        host = (f"Host: {result.url.removeprefix('https://')}",)
        rotation = Rotation(deployer)
        names = (f"{args.nodes} nodes", f"{args.fewer} node" + "s" * (args.fewer > 1))
        sides = dict(zip(names, (args.nodes, args.fewer), strict=True))
        loads: dict[str, list[float]] = {side: [] for side in sides}

        def measure(side: str) -> tuple[float, bool]:
            assert rotation is not None
            rotation.keep(sides[side])
            tb.wrk(url, args.warmup, args.connections, client=client, headers=host)
            busy, total = cpu_times()
            rate, non2xx, sock = tb.wrk(url, args.seconds, args.connections,
                                        client=client, headers=host)
            busy2, total2 = cpu_times()
            load = os.getloadavg()[0]
            loads[side].append(load)
            print(f"  {side}: machine CPU {100 * (busy2 - busy) / (total2 - total):.0f} % "
                  f"of {os.cpu_count()} cores, load average {load:.1f}; "
                  f"non-2xx {non2xx}, socket errors {sock}", flush=True)
            return rate, non2xx == sock == 0

        rounds = pb.Rounds("tokens/s", sides=names)
        rounds.run(args.rounds, measure)
        for side, values in loads.items():
            print(f"load average during {side}: {min(values):.1f}-{max(values):.1f}")
        return 0 if rounds.report() is not None else 1
    finally:
        if rotation is not None and args.keep:
            rotation.keep(args.nodes)
        if not args.keep:
            done = oxswarm("down", "--cluster", args.cluster, timeout=600)
            print(f"down: exit {done.returncode}", flush=True)


if __name__ == "__main__":
    sys.exit(main())
