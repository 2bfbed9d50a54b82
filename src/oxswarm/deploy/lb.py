"""The lab's external load balancer: NGINX in the ``oxs-<cluster>-lb`` namespace."""

from __future__ import annotations

from pathlib import Path

from oxswarm.deploy.lab.dockerd import LAUNCHED
from oxswarm.deploy.render.nginx import render_lb_nginx
from oxswarm.deploy.runner import Runner
from oxswarm.deploy.spec import ClusterSpec
from oxswarm.errors import DaemonError, DeployError
from oxswarm.local.process import Daemon, tcp_open


class LoadBalancer:
    """Renders, starts (or reloads) and stops the LB; its files live under ``root``."""

    def __init__(self, spec: ClusterSpec, root: Path, runner: Runner) -> None:
        if spec.lab is None:
            raise DeployError("the lab load balancer needs a lab spec")
        self.spec = spec
        self.root = root
        self.runner = runner
        self.address = spec.lab.lb_ip
        self.netns = spec.namespace("lb")
        self.conf = root / "nginx.conf"
        self.daemon = Daemon(
            name="lb",
            argv=["nsenter", f"--net=/run/netns/{self.netns}", "nginx", "-c", str(self.conf),
                  "-g", "daemon off;"],
            workdir=root,
        )

    @property
    def ca_file(self) -> Path:
        return self.root / "ca.crt"

    def write(self, cert: str, key: str, ca: str) -> bool:
        """Write certificate files and the configuration; True when something changed."""
        for sub in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        files = {
            self.root / "tls.crt": cert,
            self.root / "tls.key": key,
            self.ca_file: ca,
            self.conf: render_lb_nginx(
                hostname=self.spec.hostname, listen_address=self.address,
                nodes=[n.address for n in self.spec.nodes],
                cert_file=str(self.root / "tls.crt"), key_file=str(self.root / "tls.key"),
                ca_file=str(self.ca_file), run_dir=str(self.root)),
        }  # fmt: skip
        changed = False
        for path, text in files.items():
            if not path.is_file() or path.read_text() != text:
                path.touch(mode=0o600)
                path.write_text(text)
                changed = True
        return changed

    def start(self, changed: bool) -> str | None:
        """Start, or reload when the configuration changed; what was done, or None."""
        if self.daemon.running() and tcp_open(self.address, 443, timeout=1.0):
            if changed:
                self.runner.run(["nsenter", f"--net=/run/netns/{self.netns}", "nginx", "-c",
                                 str(self.conf), "-s", "reload"])
                return "load balancer reloaded"
            return None
        self.daemon.stop()
        self.runner.run(["nsenter", f"--net=/run/netns/{self.netns}", "nginx", "-t", "-q",
                         "-c", str(self.conf), "-g", "daemon off;"])
        self.daemon.start()
        if self.daemon.proc is not None:
            LAUNCHED.append(self.daemon.proc)
        try:
            self.daemon.wait_tcp(self.address, 443, timeout=20)
        except DaemonError as exc:
            raise DeployError(f"load balancer: {exc}") from exc
        return "load balancer started"

    def stop(self) -> None:
        self.daemon.stop()
