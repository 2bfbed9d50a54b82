"""``oxswarm run nginx``: TLS front of its node, upstreams from the service catalogue.

What consul-template did in the original, with the edge library (:mod:`oxswarm.edge`):
the configuration is rendered from the catalogue's *passing* instances
(:func:`~oxswarm.edge.render.render_nginx`) and, on every change the catalogue's watch
reports, checked with ``nginx -t`` before it replaces the live one and NGINX is reloaded
(SIGHUP); a rejected config is logged and NGINX keeps the last good one
(:class:`~oxswarm.edge.reloader.EdgeReloader`). The role supervises NGINX (restarts it if
it exits); Docker's SIGTERM becomes NGINX's graceful SIGQUIT: it stops accepting and
finishes the requests in flight (SIGTERM would cut them, and a POST the load balancer
already sent is not sent again).

Environment: ``OXS_HOSTNAME`` (the public name), ``OXS_REAL_IP_FROM`` (optional, comma
separated: load balancers whose ``X-Forwarded-For`` is trusted). NGINX's error log goes
to the container's stderr; access logging is off (the hot path is token requests).

No keepalive to the backends (``keepalive 0``): a request written into an idle kept-alive
connection to an instance whose node has just died is "sent" and hangs until the read
timeout (a POST may not be retried); a fresh connection fails its 1 s connect and the
request goes to the next instance. The cost is one TCP handshake on the overlay per request.
"""

from __future__ import annotations

import logging
import signal
import threading
from pathlib import Path

import click

from oxswarm.catalogue.reader import Catalogue
from oxswarm.config import keys
from oxswarm.edge.reloader import EdgeReloader
from oxswarm.edge.spec import EdgeSpec, Listen
from oxswarm.errors import DaemonError
from oxswarm.local.nginx import prepare_workdir, test_config
from oxswarm.metrics import serve_metrics
from oxswarm.roles.env import optional
from oxswarm.roles.run import Child, setup_logging
from oxswarm.roles.store import open_manager, wait_config
from oxswarm.settings import Settings

log = logging.getLogger("oxswarm.roles")
RUN = Path("/run/oxswarm/nginx")
SUPERVISE_EVERY = 2.0
RESYNC = 5.0


class ChildNginx:
    """:class:`~oxswarm.edge.reloader.NginxControl` for the NGINX this role supervises."""

    def __init__(self, child: Child, workdir: Path) -> None:
        self.child = child
        self.workdir = workdir

    def test(self, conf_file: Path | None = None) -> None:
        test_config(conf_file or self.workdir / "nginx.conf", self.workdir)

    def reload(self) -> None:
        if self.child.proc is None or not self.child.alive():
            raise DaemonError("nginx is not running: cannot reload")
        self.child.proc.send_signal(signal.SIGHUP)


def edge_spec(hostname: str, workdir: Path, real_ip_from: tuple[str, ...] = (),
              listen: Listen | None = None) -> EdgeSpec:
    """The node's edge without instances (the reloader adds the catalogue's)."""
    return EdgeSpec(hostname=hostname, cert_file=workdir / "tls.crt",
                    key_file=workdir / "tls.key", workdir=workdir, access_log=False,
                    real_ip_from=real_ip_from, listen=listen or Listen(),
                    keepalive=0)  # fmt: skip


def write_tls(workdir: Path, cert: str, key: str) -> None:
    (workdir / "tls.crt").write_text(cert)
    key_file = workdir / "tls.key"
    key_file.touch(mode=0o600)
    key_file.chmod(0o600)
    key_file.write_text(key)


def log_to_stderr(workdir: Path) -> None:
    """The rendered ``error_log`` file is the container's stderr (as Docker's nginx image)."""
    link = workdir / "logs" / "error.log"
    link.unlink(missing_ok=True)
    link.symlink_to("/dev/stderr")


@click.command("nginx")
def command() -> None:
    """NGINX with Gluu's routes, reloaded (after nginx -t) when the catalogue changes."""
    setup_logging("nginx")
    serve_metrics()  # /metrics on the overlay (OXS_METRICS_PORT, default 9102)
    hostname = optional("OXS_HOSTNAME", "")
    real_ip = tuple(p.strip() for p in optional("OXS_REAL_IP_FROM", "").split(",") if p.strip())
    settings = Settings.load()
    store, manager = open_manager(settings)
    if not hostname:
        hostname = wait_config(manager, keys.HOSTNAME)
    cert = wait_config(manager, keys.SSL_CERT)
    key = wait_config(manager, keys.SSL_KEY, secret=True)
    prepare_workdir(RUN)
    log_to_stderr(RUN)
    write_tls(RUN, cert, key)
    conf = RUN / "nginx.conf"
    child = Child(["nginx", "-c", str(conf), "-p", f"{RUN}/", "-e", "/dev/stderr"],
                  graceful=signal.SIGQUIT)  # fmt: skip
    reloader = EdgeReloader(Catalogue(store, settings.prefix), edge_spec(hostname, RUN, real_ip),
                            ChildNginx(child, RUN), conf)  # fmt: skip
    reloader.write_initial()
    child.start()
    watcher = threading.Thread(target=reloader.run, args=(child.stop,),
                               kwargs={"resync": RESYNC}, daemon=True, name="edge-reloader")
    watcher.start()
    while not child.stop.wait(SUPERVISE_EVERY):
        if not child.alive():
            log.warning("nginx exited (%s); restarting", child.exit_code())
            child.start()
    raise SystemExit(child.exit_code())
