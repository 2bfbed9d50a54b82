"""``oxswarm run registrator``: the health-checked service catalogue of this node.

Gliderlabs' registrator's role in the original: watch this node's Docker events for
containers labelled ``oxswarm.service`` and keep their records in etcd under leases
(:mod:`oxswarm.catalogue`), so that a dead task leaves the catalogue within seconds.
``OXS_DOCKER_HOST`` is this node's Docker socket (bind-mounted), ``OXS_NETWORK`` the
overlay network whose address is registered.
"""

from __future__ import annotations

import click

from oxswarm.catalogue.docker_source import DockerSource
from oxswarm.catalogue.health import ProbeChecker
from oxswarm.catalogue.registrator import Registrator
from oxswarm.config.etcd import EtcdStore
from oxswarm.local.process import stop_on_signals
from oxswarm.metrics import serve_metrics
from oxswarm.roles.env import need, optional
from oxswarm.roles.run import setup_logging
from oxswarm.roles.wait import wait_for
from oxswarm.settings import Settings

TTL = 10  # outlives a registrator's restart under load (measured up to 7.5 s)
INTERVAL = 1.0


@click.command("registrator")
def command() -> None:
    """Registers this node's labelled containers in the catalogue."""
    setup_logging("registrator")
    serve_metrics()  # /metrics on the overlay (OXS_METRICS_PORT, default 9102)
    settings = Settings.load()
    node = optional("OXSWARM_NODE", "")
    source = wait_for("the node's docker socket", lambda: DockerSource(
        need("OXS_DOCKER_HOST"), node=node or None, network=optional("OXS_NETWORK", "gluu")))
    store = EtcdStore.from_settings(settings)
    stop = stop_on_signals()
    registrator = Registrator(store, settings.prefix, source, ProbeChecker(timeout=1.0),
                              ttl=TTL, interval=INTERVAL, node=source.node)
    registrator.start_events()
    try:
        registrator.run(stop)
    finally:
        # Records are left to their leases (TTL seconds): a registrator stopped for an
        # update is followed by its successor, which writes the same keys at once, so
        # this node's instances never leave the catalogue; a node going away loses its
        # records within TTL, its containers' stop events permitting sooner.
        registrator.close(deregister=False)
        store.close()
