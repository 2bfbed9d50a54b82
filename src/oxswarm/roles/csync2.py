"""``oxswarm run csync2``: this node's member of the shared folder's csync2 group.

Gluu's multi-host design kept the IdP's files (``/opt/shibboleth-idp``) identical on every
node with csync2 from cron every 2 minutes; here :class:`~oxswarm.sync.loop.SyncLoop`
runs ``csync2 -x`` within a fraction of a second of a change (and every few seconds, for
what a peer missed while it was away).

Environment (the stack sets it): ``OXS_CSYNC2_NAME`` (this member's name, the pinned
service's name: it resolves to this task's address, which the daemon binds to),
``OXS_CSYNC2_HOSTS`` (every member), ``OXS_CSYNC2_FOLDER`` (the shared folder, the node's
host folder mounted in). The group key, the one shared certificate and its key come from
the config store (config-init's ``csync2_*``), the certificate followed by the cluster CA
(csync2 trusts only the certificates in its own file). The stack sets
``net.ipv4.tcp_syn_retries=2`` for this service: a cut peer then fails a connect in
about 7 s instead of 2 minutes, so the serial ``csync2 -x`` goes on to the others; and
``net.ipv4.tcp_retries2=5``: a peer cut off in the middle of a sync (csync2 sets no read
timeout) fails that connection after some 13 s of retransmissions instead of ~15 minutes.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

import click

from oxswarm.config import keys
from oxswarm.local.process import stop_on_signals
from oxswarm.metrics import serve_metrics
from oxswarm.roles.env import csv, need, optional
from oxswarm.roles.run import setup_logging
from oxswarm.roles.store import open_manager, wait_config
from oxswarm.roles.wait import wait_dns
from oxswarm.sync.csync2 import Csync2Group, Csync2Node, hosts_for
from oxswarm.sync.loop import SyncLoop

log = logging.getLogger("oxswarm.roles")
STATE = Path("/var/lib/csync2")
SHARED_FOLDER = "/opt/shared-shibboleth-idp"
SUPERVISE_EVERY = 2.0


def csync2_node(name: str, hosts: list[str], folder: Path, state: Path = STATE) -> Csync2Node:
    """This member: config and certificate under ``state/system``, database under ``state/db``."""
    group = Csync2Group(hosts=hosts_for(hosts, folder), key_file=state / "system" / "csync2.key")
    return Csync2Node(name=name, group=group, system_dir=state / "system", db_dir=state / "db")


@click.command("csync2")
def command() -> None:
    """csync2 daemon and sync loop for the shared folder."""
    setup_logging("csync2")
    serve_metrics()  # /metrics on the overlay (OXS_METRICS_PORT, default 9102)
    name = need("OXS_CSYNC2_NAME")
    hosts = csv("OXS_CSYNC2_HOSTS")
    folder = Path(optional("OXS_CSYNC2_FOLDER", SHARED_FOLDER))
    store, manager = open_manager()
    group_key = wait_config(manager, keys.CSYNC2_KEY, secret=True)
    cert = wait_config(manager, keys.CSYNC2_CERT)
    cert_key = wait_config(manager, keys.CSYNC2_CERT_KEY, secret=True)
    ca = wait_config(manager, keys.CA_CERT)
    store.close()
    wait_dns([name], timeout=120)  # the daemon binds to the address its name resolves to
    node = csync2_node(name, hosts, folder)
    node.write_files(group_key, cert, cert_key, ca_pem=ca)
    stop = stop_on_signals()
    node.start(timeout=30)
    log.info("csync2 %s serving %s with %s", name, folder, ", ".join(hosts))
    loop = SyncLoop(node)
    syncer = threading.Thread(target=loop.run, args=(stop,), daemon=True, name="csync2-sync")
    syncer.start()
    try:
        while not stop.wait(SUPERVISE_EVERY):
            if not node.daemon.running():
                log.warning("csync2 daemon exited (%s); restarting", node.daemon.tail(3))
                node.start(timeout=30)
    finally:
        syncer.join(10)
        node.stop()
        log.info("csync2 stopped after %d syncs (%d incomplete)", loop.syncs, loop.failed)
