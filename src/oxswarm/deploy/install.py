"""Installing what ``oxswarm up`` needs on a Debian host, only when it is missing."""

from __future__ import annotations

import shutil
from collections.abc import Callable

from oxswarm.deploy.runner import Runner

# program -> Debian package
NEEDED = {
    "dockerd": "docker.io",
    "debootstrap": "debootstrap",
    "docker-registry": "docker-registry",
    "nginx": "nginx-light",
    "ip": "iproute2",
    "nsenter": "util-linux",
}


def missing_packages(which: Callable[[str], str | None] = shutil.which) -> list[str]:
    found = []
    for program, package in NEEDED.items():
        path = which(program) or which(f"/usr/sbin/{program}") or which(f"/sbin/{program}")
        if path is None:
            found.append(package)
    return sorted(set(found))


def install(runner: Runner, packages: list[str]) -> None:
    """``apt-get install`` with daemons kept from starting in the root namespace."""
    if not packages:
        return
    env = {"DEBIAN_FRONTEND": "noninteractive", "RUNLEVEL": "1"}
    runner.run(["apt-get", "update", "-q"], timeout=600, env=env)
    runner.run(["apt-get", "install", "-y", "-q", "--no-install-recommends", *packages],
               timeout=1200, env=env)
