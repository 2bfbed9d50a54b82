"""``oxswarm run etcd``: one member of the config store (Consul's role in the original).

From the environment the stack sets (etcd reads every ``ETCD_*`` variable as a flag, so
ours are ``OXS_ETCD_*``): ``OXS_ETCD_NAME`` (this member's service name),
``OXS_ETCD_MEMBERS`` (all of them), ``OXS_ETCD_TOKEN``. ``--pre-vote`` so that a member
returning from a partition does not force an election (``lab.md``). With
``OXS_ETCD_CERT_FILE``, ``OXS_ETCD_KEY_FILE`` and ``OXS_ETCD_CA_FILE`` (Swarm secrets) the
member speaks only TLS, to clients and peers, and requires their certificates of the CA.
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


def etcd_argv(name: str, members: list[str], token: str, data_dir: str = DATA_DIR,
              tls: tuple[str, str, str] | None = None) -> list[str]:
    """The member's command line; ``tls``: (CA, certificate, key) files (paths only)."""
    scheme = "https" if tls else "http"
    cluster = ",".join(f"{m}={scheme}://{m}:2380" for m in members)
    extra = tls_args(*(Path(p) for p in tls)) if tls else []
    return [
        "etcd", "--name", name, "--data-dir", data_dir,
        "--listen-peer-urls", f"{scheme}://0.0.0.0:2380",
        "--listen-client-urls", f"{scheme}://0.0.0.0:2379",
        "--initial-advertise-peer-urls", f"{scheme}://{name}:2380",
        "--advertise-client-urls", f"{scheme}://{name}:2379", *extra,
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
    wait_dns([name])
    os.makedirs(DATA_DIR, exist_ok=True)
    exec_daemon(etcd_argv(name, members, token, tls=tls))
