"""The lab's external load balancer: NGINX in the ``oxs-<cluster>-lb`` namespace.

Rendered by the edge library (:func:`oxswarm.edge.lb.render_lb`): HTTPS in, HTTPS to every
node's NGINX (verified against the cluster CA), passive health checks, and a request that
could not reach a node (refused, connect timeout) sent to the next one; a node's HTTP
answer, whatever its status, is passed on and never takes the node out of rotation. A
POST that was already sent to a node is not sent again (``retry_non_idempotent`` off):
a replayed authorization-code exchange or refresh-token rotation is not safe (the replay
finds the code redeemed and revokes its grant, turning a slow success into a failure).

No keepalive to the nodes: a request written into an idle kept-alive connection to a
node that has just died (cut cable, power loss: no RST) is "sent", so it may not be
retried and hangs until the read timeout; on a fresh connection the same request fails
its 1 s connect and goes to the next node. The cost is one TCP+TLS handshake per
request (TLS sessions are resumed).
"""

from __future__ import annotations

from pathlib import Path

from oxswarm.deploy.lab.dockerd import LAUNCHED
from oxswarm.deploy.runner import Runner
from oxswarm.deploy.spec import ClusterSpec
from oxswarm.edge.lb import render_lb
from oxswarm.edge.spec import LbSpec, Listen, NodeTarget
from oxswarm.errors import DaemonError, DeployError
from oxswarm.local.nginx import LocalNginx
from oxswarm.local.process import tcp_open


def lb_spec(spec: ClusterSpec, root: Path) -> LbSpec:
    """The load balancer of a lab cluster whose LB files live under ``root``."""
    if spec.lab is None:
        raise DeployError("the lab load balancer needs a lab spec")
    return LbSpec(
        hostname=spec.hostname, cert_file=root / "tls.crt", key_file=root / "tls.key",
        workdir=root, listen=Listen(address=spec.lab.lb_ip), access_log=False,
        nodes=tuple(NodeTarget(name=n.name, address=n.address) for n in spec.nodes),
        ca_file=root / "ca.crt", keepalive=0,
    )  # fmt: skip


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
        self.nginx = LocalNginx(self.conf, root, netns=self.netns)

    @property
    def ca_file(self) -> Path:
        return self.root / "ca.crt"

    def write(self, cert: str, key: str, ca: str) -> bool:
        """Write certificate files and the configuration; True when something changed."""
        self.root.mkdir(parents=True, exist_ok=True)
        files = {
            self.root / "tls.crt": cert,
            self.root / "tls.key": key,
            self.ca_file: ca,
            self.conf: render_lb(lb_spec(self.spec, self.root)),
        }
        changed = False
        for path, text in files.items():
            if not path.is_file() or path.read_text() != text:
                path.touch(mode=0o600)
                path.write_text(text)
                changed = True
        return changed

    def start(self, changed: bool) -> str | None:
        """Start, or reload when the configuration changed; what was done, or None."""
        try:
            if self.nginx.running() and tcp_open(self.address, 443, timeout=1.0):
                if changed:
                    self.nginx.test()
                    self.nginx.reload()
                    return "load balancer reloaded"
                return None
            self.nginx.stop()
            self.nginx.start(self.address, 443, timeout=20)
        except DaemonError as exc:
            raise DeployError(f"load balancer: {exc}") from exc
        if self.nginx.daemon.proc is not None:
            LAUNCHED.append(self.nginx.daemon.proc)
        return "load balancer started"

    def stop(self) -> None:
        self.nginx.stop()
