"""``oxswarm run etcd``: one member of the config store (Consul's role in the original).

From the environment the stack sets (etcd reads every ``ETCD_*`` variable as a flag, so
ours are ``OXS_ETCD_*``): ``OXS_ETCD_NAME`` (this member's service name),
``OXS_ETCD_MEMBERS`` (all of them), ``OXS_ETCD_TOKEN``. ``--pre-vote`` so that a member
returning from a partition does not force an election (``lab.md``). With
``OXS_ETCD_CERT_FILE``, ``OXS_ETCD_KEY_FILE`` and ``OXS_ETCD_CA_FILE`` (Swarm secrets) the
member speaks only TLS, to clients and peers, and requires their certificates of the CA.

``OXS_ETCD_UPGRADE`` (only while ``oxswarm up`` closes a store deployed open, see
:mod:`oxswarm.deploy.storeupgrade`): ``1`` or ``2``, the member then serves clients on
2379 both plain and with TLS (etcd splits one port between the two when it is given an
``http`` and an ``https`` URL with the same address) and peers on two ports, because the
raft membership names one URL per member and it changes in two steps: phase ``1`` listens
plain on 2380 (the URL the open cluster was made with) and TLS on 2381; once every member
is there, ``member update`` moves each member's peer URL to ``https://...:2381``; phase
``2`` listens TLS on both 2380 and 2381, and ``member update`` moves them back to
``https://...:2380``, which the closed member (no phase) alone listens on.
"""

from __future__ import annotations

import os
from pathlib import Path

import click

from oxswarm.config.store_certs import tls_args
from oxswarm.roles.env import csv, need, optional
from oxswarm.roles.run import exec_daemon, setup_logging
from oxswarm.roles.wait import wait_dns

DATA_DIR = "/var/lib/etcd/data"
CLIENT_PORT = 2379
PEER_PORT = 2380
UPGRADE_PEER_PORT = 2381  # the peers' TLS port while an open store is closed
UPGRADE_PHASES = ("1", "2")
ANY_ADDRESS = "0.0.0.0"  # noqa: S104 - the task's own network namespace (overlay, host port)


def listen_flags(phase: str | None, *, tls: bool, host: str, advertise: str, client: int,
                 peer: int, upgrade_peer: int) -> list[str]:
    """``--listen-*`` and ``--advertise-*`` of a member in ``phase`` (None: no upgrade)."""
    if phase is None:
        scheme = "https" if tls else "http"
        listen_client = f"{scheme}://{host}:{client}"
        listen_peer = f"{scheme}://{host}:{peer}"
        advertise_peer = f"{scheme}://{advertise}:{peer}"
    elif phase in UPGRADE_PHASES and tls:
        scheme = "https"
        listen_client = f"http://{host}:{client},https://{host}:{client}"
        first = "http" if phase == "1" else "https"
        listen_peer = f"{first}://{host}:{peer},https://{host}:{upgrade_peer}"
        advertise_peer = f"https://{advertise}:{upgrade_peer if phase == '1' else peer}"
    else:
        raise ValueError(f"OXS_ETCD_UPGRADE: {phase!r} is not a phase (1, 2) with TLS files")
    return [
        "--listen-peer-urls", listen_peer, "--listen-client-urls", listen_client,
        "--initial-advertise-peer-urls", advertise_peer,
        "--advertise-client-urls", f"{scheme}://{advertise}:{client}",
    ]  # fmt: skip


def etcd_argv(name: str, members: list[str], token: str, data_dir: str = DATA_DIR, *,
              tls: tuple[str, str, str] | None = None,
              upgrade: str | None = None) -> list[str]:
    """The member's command line; ``tls``: (CA, certificate, key) files (paths only);
    ``upgrade``: the phase of closing an open store (see above)."""
    scheme = "https" if tls else "http"
    cluster = ",".join(f"{m}={scheme}://{m}:{PEER_PORT}" for m in members)
    extra = tls_args(*(Path(p) for p in tls)) if tls else []
    return [
        "etcd", "--name", name, "--data-dir", data_dir,
        *listen_flags(upgrade, tls=tls is not None, host=ANY_ADDRESS, advertise=name,
                      client=CLIENT_PORT, peer=PEER_PORT, upgrade_peer=UPGRADE_PEER_PORT),
        *extra,
        "--initial-cluster", cluster, "--initial-cluster-state", "new",
        "--initial-cluster-token", token, "--pre-vote",
        "--heartbeat-interval", "200", "--election-timeout", "2000",
        "--logger", "zap", "--log-level", "warn",
    ]  # fmt: skip


@click.command("etcd")
def command() -> None:
    """A member of the config store (etcd)."""
    setup_logging("etcd")
    name = need("OXS_ETCD_NAME")
    members = csv("OXS_ETCD_MEMBERS")
    token = need("OXS_ETCD_TOKEN")
    files = tuple(optional(f"OXS_ETCD_{kind}_FILE", "") for kind in ("CA", "CERT", "KEY"))
    tls = (files[0], files[1], files[2]) if all(files) else None
    upgrade = optional("OXS_ETCD_UPGRADE", "") or None
    if upgrade is not None and (upgrade not in UPGRADE_PHASES or tls is None):
        raise click.ClickException(f"OXS_ETCD_UPGRADE={upgrade}: a phase (1, 2) needs the "
                                   f"TLS files (OXS_ETCD_CA_FILE, _CERT_FILE, _KEY_FILE)")
    wait_dns([name])
    os.makedirs(DATA_DIR, exist_ok=True)
    exec_daemon(etcd_argv(name, members, token, tls=tls, upgrade=upgrade))
