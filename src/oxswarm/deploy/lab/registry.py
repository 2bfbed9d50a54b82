"""Debian's ``docker-registry`` (distribution 2.8) in a namespace of its own, plain HTTP.

Every node's dockerd lists it under ``insecure-registries``; the builder pushes to it over
the root namespace's veth. Images then reach a node in seconds (``docker save | load``
took 13-36 s in ``lab.md``).
"""

from __future__ import annotations

from pathlib import Path

from oxswarm.deploy.lab.dockerd import LAUNCHED
from oxswarm.errors import DaemonError, DeployError
from oxswarm.local.process import Daemon, tcp_open

REGISTRY_BIN = "/usr/bin/docker-registry"
PORT = 5000


def registry_config(data: Path, address: str) -> str:
    """The registry's ``config.yml``: filesystem storage, deletes allowed, no auth."""
    return (
        "version: 0.1\n"
        "log:\n  level: warn\n"
        "storage:\n"
        f"  filesystem:\n    rootdirectory: {data}\n"
        "  delete:\n    enabled: true\n"
        "http:\n"
        f"  addr: {address}:{PORT}\n"
    )


class LabRegistry:
    """Start (idempotent) and stop the lab's registry."""

    def __init__(self, root: Path, namespace: str, address: str) -> None:
        self.root = root
        self.address = address
        self.daemon = Daemon(
            name="registry",
            argv=["nsenter", f"--net=/run/netns/{namespace}", REGISTRY_BIN, "serve",
                  str(root / "config.yml")],
            workdir=root,
        )

    @property
    def endpoint(self) -> str:
        return f"{self.address}:{PORT}"

    def start(self) -> bool:
        if self.daemon.running() and tcp_open(self.address, PORT, timeout=1.0):
            return False
        self.daemon.stop()
        self.root.mkdir(parents=True, exist_ok=True)
        (self.root / "config.yml").write_text(registry_config(self.root / "data", self.address))
        self.daemon.start()
        if self.daemon.proc is not None:
            LAUNCHED.append(self.daemon.proc)
        try:
            self.daemon.wait_tcp(self.address, PORT, timeout=30)
        except DaemonError as exc:
            raise DeployError(f"registry: {exc}") from exc
        return True

    def stop(self) -> None:
        self.daemon.stop()
