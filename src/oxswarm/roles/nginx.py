"""``oxswarm run nginx``: TLS front of its node, upstreams from the service catalogue.

What consul-template did in the original: render the configuration from the catalogue's
*passing* instances, and reload NGINX when that list changes (polled every 2 s; records
have leases, so a dead instance leaves within the registrator's TTL).
"""

from __future__ import annotations

import logging
import signal
from pathlib import Path

import click

from oxswarm.catalogue.reader import Catalogue
from oxswarm.config import keys
from oxswarm.deploy.render.nginx import SERVICE_ROUTES, render_node_nginx
from oxswarm.errors import OxSwarmError
from oxswarm.roles.env import need
from oxswarm.roles.run import Child, setup_logging
from oxswarm.roles.store import open_manager, wait_config
from oxswarm.settings import Settings

log = logging.getLogger("oxswarm.roles")
RUN = Path("/run/oxswarm/nginx")
POLL = 2.0


def upstreams(catalogue: Catalogue) -> dict[str, list[str]]:
    snapshot = catalogue.snapshot()
    return {s: sorted(i.endpoint for i in snapshot.get(s, ())) for s in SERVICE_ROUTES}


@click.command("nginx")
def command() -> None:
    """NGINX with Gluu's routes, reloaded when the catalogue changes."""
    setup_logging("nginx")
    hostname = need("OXS_HOSTNAME")
    settings = Settings.load()
    store, manager = open_manager(settings)
    cert = wait_config(manager, keys.SSL_CERT)
    key = wait_config(manager, keys.SSL_KEY, secret=True)
    for sub in ("", "body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (RUN / sub).mkdir(parents=True, exist_ok=True)
    (RUN / "tls.crt").write_text(cert)
    (RUN / "tls.key").touch(mode=0o600)
    (RUN / "tls.key").write_text(key)
    catalogue = Catalogue(store, settings.prefix)
    conf = RUN / "nginx.conf"

    def render(current: dict[str, list[str]]) -> None:
        conf.write_text(render_node_nginx(hostname, current, cert_file=str(RUN / "tls.crt"),
                                          key_file=str(RUN / "tls.key"), run_dir=str(RUN)))

    current = upstreams(catalogue)
    render(current)
    child = Child(["nginx", "-c", str(conf), "-g", "daemon off;"])
    child.start()
    while not child.stop.is_set():
        child.stop.wait(POLL)
        if child.stop.is_set():
            break
        if not child.alive():
            log.warning("nginx exited; restarting")
            child.start()
        try:
            latest = upstreams(catalogue)
        except OxSwarmError as exc:
            log.warning("catalogue unavailable, keeping the last upstreams: %s", exc)
            continue
        if latest != current:
            log.info("upstreams changed: %s", {s: len(e) for s, e in latest.items()})
            current = latest
            render(current)
            if child.proc is not None:
                child.proc.send_signal(signal.SIGHUP)
    raise SystemExit(child.exit_code())
