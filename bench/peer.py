"""What the benchmarks beside node-oidc-provider share: starting each side, reading wrk,
resident memory, rounds and their medians.

Ours is ``oxswarm run oxauth --workers 1`` on a real stack (etcd, slapd, Twemproxy +
Redis); the peer is ``../shared/bench/peer-oidc`` (one Node.js process) with its Redis
adapter on one of the stack's Redis servers. One process each: the comparison is fair
only per process. ``PEER_OIDC_HOME`` (the peer's install folder) is honoured as by its
``run.sh``.
"""

from __future__ import annotations

import os
import re
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import httpx

from oxswarm.local.process import Daemon, free_port, wait_until
from oxswarm.local.stack import Stack


def _peer_folder() -> Path:
    """``shared/bench/peer-oidc`` beside the checkout (the first ancestor that has it)."""
    for parent in Path(__file__).resolve().parents:
        if (parent / "shared" / "bench" / "peer-oidc" / "run.sh").exists():
            return parent / "shared" / "bench" / "peer-oidc"
    raise SystemExit("shared/bench/peer-oidc not found beside this checkout")


PEER = _peer_folder()
_RATE = re.compile(r"Requests/sec:\s+([\d.]+)")
_BAD = re.compile(r"Non-2xx or 3xx responses: (\d+)")
_SOCKET = re.compile(r"Socket errors: (.*)")


def peer_home() -> Path:
    home = os.environ.get("PEER_OIDC_HOME")
    if home:
        return Path(home)
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "peer-oidc"


def start_ours(stack: Stack, workdir: Path, *extra: str) -> tuple[Daemon, str]:
    """Our oxAuth, one worker, on the stack; returns (daemon, base URL = issuer)."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    daemon = Daemon("oxauth", [
        sys.executable, "-m", "oxswarm", "run", "oxauth",
        "--store", stack.store_url, "--cluster", stack.cluster,
        "--master-key-file", str(stack.master_key_file),
        "--bind", f"127.0.0.1:{port}", "--workers", "1", "--issuer", base,
        "--cache", stack.cache_address, "--ldap-url", stack.ldap_urls[0], *extra,
    ], workdir).start()
    daemon.wait_tcp("127.0.0.1", port, 60)
    wait_until(lambda: _answers(f"{base}/.well-known/openid-configuration"), 30, "our oxAuth")
    return daemon, base


def start_peer(stack: Stack, **env: str) -> tuple[int, str]:
    """node-oidc-provider with its Redis adapter; returns (pid, base URL)."""
    port = free_port()
    redis = stack.cache.redis[0]
    auth = f":{quote(stack.cache.password, safe='')}@" if stack.cache.password else ""
    full = {**os.environ, "ADAPTER": "redis",  # the password in the environment, not argv
            "REDIS_URL": f"redis://{auth}{redis.host}:{redis.port}/0", **env}
    out = subprocess.run([str(PEER / "run.sh"), "start", str(port)],
                         capture_output=True, text=True, env=full, check=True).stdout
    base = f"http://127.0.0.1:{port}"
    wait_until(lambda: _answers(f"{base}/.well-known/openid-configuration"), 30, "the peer")
    return int(out.split()[-1]), base


def stop_peer() -> None:
    subprocess.run([str(PEER / "run.sh"), "stop"], check=False)
    time.sleep(0.2)


def rss_mib(pid: int) -> float:
    """Resident memory of process ``pid`` (VmRSS), MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for {pid}")


def wrk_get(url: str, seconds: int, connections: int,
            headers: tuple[str, ...] = ()) -> tuple[float, bool]:
    """(requests/s, valid) of one plain ``wrk`` GET run; valid: no non-2xx/3xx, no socket
    error."""
    args = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s"]
    for header in headers:
        args += ["-H", header]
    out = subprocess.run([*args, url], capture_output=True, text=True, check=True).stdout
    rate = _RATE.search(out)
    if rate is None:
        raise RuntimeError(f"cannot read wrk's output:\n{out}")
    return float(rate[1]), _BAD.search(out) is None and _SOCKET.search(out) is None


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of process ``pid`` so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass
class Rounds:
    """Per-side rates of valid rounds and the per-round ratios of the first side to the
    second (``sides``, by default ours/peer); with ``pids``
    (side -> its server processes) also their CPU time per unit (the machine's other
    load moves it far less than the rate: the steadier comparison on a busy machine)."""

    unit: str
    pids: dict[str, tuple[int, ...]] = field(default_factory=dict)
    sides: tuple[str, str] = ("ours", "peer")
    rates: dict[str, list[float]] = field(default_factory=dict)
    ratios: list[float] = field(default_factory=list)
    cpu: dict[str, list[float]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for side in self.sides:
            self.rates.setdefault(side, [])
            self.cpu.setdefault(side, [])

    def run(self, count: int, measure: Callable[[str], tuple[float, bool]],
            label: str = "") -> None:
        """``count`` rounds, both sides back to back (order alternating each round)."""
        for index in range(count):
            first, second = self.sides
            pair = [first, second] if index % 2 == 0 else [second, first]
            got: dict[str, float] = {}
            for side in pair:
                pids = self.pids.get(side, ())
                began, cpu = time.monotonic(), sum(map(cpu_seconds, pids))
                rate, valid = measure(side)
                per = ""
                if pids and rate > 0:
                    used = (sum(map(cpu_seconds, pids)) - cpu) / (rate * (time.monotonic() - began))
                    per = f", {used * 1e6:7.0f} us server CPU each"
                    if valid:
                        self.cpu[side].append(used * 1e6)
                note = "" if valid else "  (INVALID: an answer was not the expected one)"
                print(f"{label}round {index + 1} {side}: {rate:8.1f} {self.unit}{per}{note}",
                      flush=True)
                if valid:
                    self.rates[side].append(rate)
                    got[side] = rate
            if len(got) == 2:
                self.ratios.append(got[first] / got[second])

    def report(self, label: str = "") -> float | None:
        """Print the medians and ratios; the ratio of medians (None: a side never valid)."""
        one, two = self.sides
        if not self.rates[one] or not self.rates[two]:
            print(f"{label}no valid round for one side", file=sys.stderr)
            return None
        first, second = (statistics.median(self.rates[s]) for s in self.sides)
        for side, median in ((one, first), (two, second)):
            print(f"{label}median {side}: {median:.1f} {self.unit} "
                  f"({len(self.rates[side])} rounds)")
        print(f"{label}ratio of medians {one}/{two}: {first / second:.2f}")
        if self.cpu[one] and self.cpu[two]:
            mine, theirs = (statistics.median(self.cpu[s]) for s in self.sides)
            print(f"{label}median server CPU each: {one} {mine:.0f} us, {two} {theirs:.0f} us; "
                  f"{two}/{one} (the rate ratio one core each would give): {theirs / mine:.2f}")
        if self.ratios:
            print(f"{label}median of per-round ratios: {statistics.median(self.ratios):.2f}"
                  f"  (rounds: {', '.join(f'{r:.2f}' for r in self.ratios)})", flush=True)
        return first / second


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1, trust_env=False).status_code == 200
    except httpx.HTTPError:
        return False
