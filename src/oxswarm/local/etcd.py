"""Start an N-member etcd cluster as local processes (tests and ``oxswarm dev``).

Each member listens on 127.0.0.1 (or ``host``) with client and peer ports from
:func:`~oxswarm.local.process.free_port`, keeps its data under ``root/<name>/data`` and
runs with ``--pre-vote`` (without it a returning member forces an election and a write
fails; see ``reference/lab.md``). Members are stopped with SIGKILL: SIGTERM on the last
member of a cluster hangs for seconds, and etcd is crash-safe.
"""

from __future__ import annotations

import contextlib
import logging
import secrets
import shutil
import signal
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

import httpx

from oxswarm.config.etcd import EtcdStore
from oxswarm.errors import DaemonError, StoreUnavailable
from oxswarm.local.process import Daemon, free_port

log = logging.getLogger(__name__)

ETCD_BINARY = "etcd"


@dataclass
class EtcdMember:
    """One member: its ports, its data folder and the :class:`Daemon` that runs it."""

    name: str
    host: str
    client_port: int
    peer_port: int
    workdir: Path
    argv: list[str]
    daemon: Daemon = field(init=False)

    def __post_init__(self) -> None:
        self.daemon = Daemon(self.name, self.argv, self.workdir, stop_signal=signal.SIGKILL)

    @property
    def client_url(self) -> str:
        return f"http://{self.host}:{self.client_port}"

    @property
    def peer_url(self) -> str:
        return f"http://{self.host}:{self.peer_port}"

    @property
    def data_dir(self) -> Path:
        return self.workdir / "data"

    def start(self, timeout: float = 20.0) -> None:
        """Start the process and wait until its client port listens."""
        self.daemon.start()
        self.daemon.wait_tcp(self.host, self.client_port, timeout)

    def running(self) -> bool:
        return self.daemon.running()

    def kill(self) -> None:
        """Crash the member (SIGKILL); its data folder stays for :meth:`restart`."""
        self.daemon.kill()

    def restart(self, timeout: float = 20.0) -> None:
        """Start the member again on its old data: it rejoins and catches up."""
        if self.daemon.running():
            self.daemon.kill()
        self.start(timeout)


@dataclass
class EtcdCluster:
    """A running local cluster; a context manager that kills every member on exit."""

    members: list[EtcdMember]
    token: str

    @property
    def endpoints(self) -> list[str]:
        """Client URLs, ``http://host:port``, for :class:`EtcdStore`."""
        return [m.client_url for m in self.members]

    @property
    def url(self) -> str:
        """The ``etcd://h:p,h:p`` form the CLI's ``--store`` option takes."""
        return "etcd://" + ",".join(f"{m.host}:{m.client_port}" for m in self.members)

    def store(self, timeout: float = 2.0, retry_for: float = 10.0) -> EtcdStore:
        return EtcdStore(self.endpoints, timeout, retry_for=retry_for)

    def wait_healthy(self, timeout: float = 20.0) -> None:
        """Wait until the cluster has a leader and answers linearizable reads."""
        with self.store(timeout=0.5) as store:  # short tries: a new cluster elects in ~1 s
            store.wait_ready(timeout, interval=0.1)

    def leader(self) -> EtcdMember | None:
        """The member that is leader now, by ``/v3/maintenance/status`` (None if unknown)."""
        with httpx.Client(trust_env=False, timeout=2.0) as client:
            for member in self.members:
                try:
                    status = client.post(member.client_url + "/v3/maintenance/status", json={})
                    data = status.json()
                except (httpx.HTTPError, ValueError):
                    continue
                if data.get("leader") and data["leader"] == data.get("header", {}).get("member_id"):
                    return member
        return None

    def stop(self) -> None:
        """SIGKILL every member (never raises: used in teardown)."""
        for member in self.members:
            with contextlib.suppress(DaemonError, OSError):
                member.kill()

    def __enter__(self) -> EtcdCluster:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def _plan(root: Path, size: int, host: str, token: str, extra: Sequence[str]) -> list[EtcdMember]:
    names = [f"etcd{i + 1}-{token[-6:]}" for i in range(size)]
    ports = [(free_port(host), free_port(host)) for _ in names]
    initial = ",".join(
        f"{name}=http://{host}:{peer}" for name, (_, peer) in zip(names, ports, strict=True)
    )
    members = []
    for name, (client, peer) in zip(names, ports, strict=True):
        workdir = root / name
        argv = [
            ETCD_BINARY,
            "--name", name,
            "--data-dir", str(workdir / "data"),
            "--listen-client-urls", f"http://{host}:{client}",
            "--advertise-client-urls", f"http://{host}:{client}",
            "--listen-peer-urls", f"http://{host}:{peer}",
            "--initial-advertise-peer-urls", f"http://{host}:{peer}",
            "--initial-cluster", initial,
            "--initial-cluster-token", token,
            "--initial-cluster-state", "new",
            "--pre-vote",
            "--heartbeat-interval", "100",
            "--election-timeout", "1000",
            "--logger", "zap",
            "--log-outputs", "stderr",
            "--log-level", "warn",
            *extra,
        ]  # fmt: skip
        members.append(EtcdMember(name, host, client, peer, workdir, argv))
    return members


def start_etcd_cluster(
    root: Path,
    size: int = 3,
    *,
    host: str = "127.0.0.1",
    timeout: float = 30.0,
    extra_args: Sequence[str] = (),
) -> EtcdCluster:
    """Start ``size`` members under ``root`` and wait until the cluster is healthy.

    A port taken between :func:`free_port` and etcd's bind makes a member exit; the
    whole cluster is then started once more on new ports.
    """
    if size < 1:
        raise DaemonError(f"an etcd cluster needs at least one member, not {size}")
    if shutil.which(ETCD_BINARY) is None:
        raise DaemonError(f"{ETCD_BINARY} is not installed (Debian package etcd-server)")
    last: DaemonError | StoreUnavailable | None = None
    for _attempt in range(2):
        token = f"oxswarm-{secrets.token_hex(6)}"
        cluster = EtcdCluster(_plan(root, size, host, token, extra_args), token)
        try:
            for member in cluster.members:
                member.daemon.start()
            for member in cluster.members:
                member.daemon.wait_tcp(host, member.client_port, timeout)
            cluster.wait_healthy(timeout)
        except (DaemonError, StoreUnavailable) as exc:
            cluster.stop()
            last = exc
            log.warning("etcd cluster did not start, retrying on new ports: %s", exc)
            continue
        log.info("etcd cluster up: %s", cluster.url)
        return cluster
    raise DaemonError(f"etcd cluster did not start: {last}")
