"""``oxswarm run etcd``: one member of the config store (Consul's role in the original).

From the environment the stack sets (etcd reads every ``ETCD_*`` variable as a flag, so
ours are ``OXS_ETCD_*``): ``OXS_ETCD_NAME`` (this member's service name),
``OXS_ETCD_MEMBERS`` (all of them), ``OXS_ETCD_TOKEN``. ``--pre-vote`` so that a member
returning from a partition does not force an election (``lab.md``).
"""

from __future__ import annotations

import os

import click

from oxswarm.roles.env import csv, need
from oxswarm.roles.run import exec_daemon, setup_logging
from oxswarm.roles.wait import wait_dns

DATA_DIR = "/var/lib/etcd/data"


def etcd_argv(name: str, members: list[str], token: str, data_dir: str = DATA_DIR) -> list[str]:
    cluster = ",".join(f"{m}=http://{m}:2380" for m in members)
    return [
        "etcd", "--name", name, "--data-dir", data_dir,
        "--listen-peer-urls", "http://0.0.0.0:2380",
        "--listen-client-urls", "http://0.0.0.0:2379",
        "--initial-advertise-peer-urls", f"http://{name}:2380",
        "--advertise-client-urls", f"http://{name}:2379",
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
    wait_dns([name])
    os.makedirs(DATA_DIR, exist_ok=True)
    exec_daemon(etcd_argv(name, members, token))
