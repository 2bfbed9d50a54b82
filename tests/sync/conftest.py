"""Hosts for the csync2 tests: network namespaces of our own on a private bridge.

Layout (``tag`` is random per run, so two runs never share a name)::

    oxc-<tag>-sw     bridge br0, one veth per host
    oxc-<tag>-<h>    eth0 = 10.214.0.<i>/24, /etc/netns/oxc-<tag>-<h>/hosts names every host

Leftovers of a crashed run (``oxc-*`` namespaces with no process inside) are removed
before a new lab is made; the lab removes itself in teardown.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

NETNS_ETC = Path("/etc/netns")
PREFIX = "oxc-"
SUBNET = "10.214.0"


def ip(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["ip", *args], capture_output=True, text=True, check=check)


def namespaces() -> list[str]:
    return [line.split()[0] for line in ip("netns", "list").stdout.splitlines() if line.strip()]


def remove_namespace(ns: str) -> None:
    for pid in ip("netns", "pids", ns, check=False).stdout.split():
        with contextlib.suppress(ProcessLookupError, ValueError):
            os.kill(int(pid), signal.SIGKILL)
    ip("netns", "del", ns, check=False)
    shutil.rmtree(NETNS_ETC / ns, ignore_errors=True)


def remove_leftovers() -> None:
    """Namespaces of ours from a crashed run: no process left inside."""
    for ns in namespaces():
        if ns.startswith(PREFIX) and not ip("netns", "pids", ns, check=False).stdout.strip():
            remove_namespace(ns)


@dataclass
class NetLab:
    tag: str
    hosts: dict[str, tuple[str, str]]  # name -> (namespace, address)

    @property
    def switch(self) -> str:
        return f"{PREFIX}{self.tag}-sw"

    def namespace(self, name: str) -> str:
        return self.hosts[name][0]

    def set_link(self, name: str, up: bool) -> None:
        """Cut (or restore) ``name``'s cable to the bridge: a partition."""
        index = list(self.hosts).index(name) + 1
        ip("-n", self.switch, "link", "set", f"p{index}", "up" if up else "down")

    def remove(self) -> None:
        for ns, _ in self.hosts.values():
            remove_namespace(ns)
        remove_namespace(self.switch)


def make_lab(names: list[str]) -> NetLab:
    remove_leftovers()
    lab = NetLab(secrets.token_hex(3), {})
    try:
        ip("netns", "add", lab.switch)
        ip("-n", lab.switch, "link", "set", "lo", "up")
        ip("-n", lab.switch, "link", "add", "br0", "type", "bridge")
        ip("-n", lab.switch, "link", "set", "br0", "up")
        hosts_text = "127.0.0.1 localhost\n" + "".join(
            f"{SUBNET}.{i} {name}\n" for i, name in enumerate(names, 1)
        )
        for i, name in enumerate(names, 1):
            ns = f"{PREFIX}{lab.tag}-{name}"
            lab.hosts[name] = (ns, f"{SUBNET}.{i}")
            ip("netns", "add", ns)
            ip("-n", lab.switch, "link", "add", f"p{i}", "type", "veth", "peer", "name", "eth0",
               "netns", ns)  # fmt: skip
            ip("-n", lab.switch, "link", "set", f"p{i}", "master", "br0", "up")
            ip("-n", ns, "addr", "add", f"{SUBNET}.{i}/24", "dev", "eth0")
            ip("-n", ns, "link", "set", "lo", "up")
            ip("-n", ns, "link", "set", "eth0", "up")
            # As the csync2 service is deployed: a cut peer must not stall the others for
            # the kernel's default ~2 min of SYN retries, nor ~15 min of retransmissions
            # when cut in the middle of a sync (csync2 -x is serial, with no read timeout).
            subprocess.run(["ip", "netns", "exec", ns, "sysctl", "-qw",
                            "net.ipv4.tcp_syn_retries=2", "net.ipv4.tcp_retries2=5"],
                           check=True)  # fmt: skip
            (NETNS_ETC / ns).mkdir(parents=True, exist_ok=True)
            (NETNS_ETC / ns / "hosts").write_text(hosts_text)
    except subprocess.CalledProcessError as exc:
        lab.remove()
        pytest.fail(f"cannot build the namespace lab: {exc.stderr}")
    return lab


@pytest.fixture
def netlab() -> Iterator[NetLab]:
    if os.geteuid() != 0 or shutil.which("csync2") is None:
        pytest.fail("the csync2 tests need root (network namespaces) and csync2 installed")
    lab = make_lab(["n1", "n2", "n3"])
    try:
        yield lab
    finally:
        lab.remove()
