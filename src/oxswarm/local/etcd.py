"""Start an N-member etcd cluster as local processes (tests and ``oxswarm dev``).

Each member listens on 127.0.0.1 (or ``host``) with client and peer ports from
:func:`~oxswarm.local.process.free_port`, keeps its data under ``root/<name>/data`` and
runs with ``--pre-vote`` (without it a returning member forces an election and a write
fails; see ``reference/lab.md``). With ``tls=True`` the cluster is closed as the deployed
one is: a CA under ``root/pki``, client and peer TLS with client certificates;
:meth:`EtcdCluster.credentials` issues a client certificate per role (auth itself is
switched on by :func:`oxswarm.config.etcd_rbac.reconcile`, as ``oxswarm up`` does).
Members are stopped with SIGKILL: SIGTERM on the last member of a cluster hangs for
seconds, and etcd is crash-safe.
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

from oxswarm.config import store_certs
from oxswarm.config.etcd import EtcdStore
from oxswarm.config.etcd_auth import StoreCredentials, password, user_name
from oxswarm.crypto.pki import CertAndKey, create_ca
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
    scheme: str = "http"
    daemon: Daemon = field(init=False)

    def __post_init__(self) -> None:
        self.daemon = Daemon(self.name, self.argv, self.workdir, stop_signal=signal.SIGKILL)

    @property
    def client_url(self) -> str:
        return f"{self.scheme}://{self.host}:{self.client_port}"

    @property
    def peer_url(self) -> str:
        return f"{self.scheme}://{self.host}:{self.peer_port}"

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
    ca: CertAndKey | None = field(default=None, repr=False)  # with TLS; files in pki_dir
    pki_dir: Path | None = None

    @property
    def endpoints(self) -> list[str]:
        """Client URLs, ``http(s)://host:port``, for :class:`EtcdStore`."""
        return [m.client_url for m in self.members]

    @property
    def url(self) -> str:
        """The ``etcd[+https]://h:p,h:p`` form the CLI's ``--store`` option takes."""
        scheme = "etcd+https" if self.ca else "etcd"
        return f"{scheme}://" + ",".join(f"{m.host}:{m.client_port}" for m in self.members)

    @property
    def ca_file(self) -> Path:
        if self.pki_dir is None:
            raise DaemonError("this etcd cluster has no TLS")
        return self.pki_dir / "ca.crt"

    def credentials(self, role: str = "operator", cluster: str = "oxswarm",
                    stem: str | None = None) -> StoreCredentials:
        """A client certificate of the cluster CA for ``role`` (files under ``pki_dir``);
        ``stem`` names the files (a second certificate of one role: rotation)."""
        if self.ca is None or self.pki_dir is None:
            raise DaemonError("this etcd cluster has no TLS")
        stem = stem or role
        if not (self.pki_dir / f"{stem}.crt").is_file():
            store_certs.write_pair(self.pki_dir, stem,
                                   store_certs.client_cert(self.ca, cluster, role))
        return store_certs.credentials(self.ca_file, self.pki_dir, stem)

    def store(self, timeout: float = 2.0, retry_for: float = 10.0,
              credentials: StoreCredentials | None = None,
              probe_key: str = "/") -> EtcdStore:
        if credentials is None and self.ca is not None:
            credentials = self.credentials()
        return EtcdStore(self.endpoints, timeout, retry_for=retry_for, credentials=credentials,
                         probe_key=probe_key)

    def wait_healthy(self, timeout: float = 20.0) -> None:
        """Wait until the cluster has a leader and answers linearizable reads."""
        with self.store(timeout=0.5) as store:  # short tries: a new cluster elects in ~1 s
            store.wait_ready(timeout, interval=0.1)

    def login(self, credentials: StoreCredentials) -> tuple[str, str]:
        """The etcd user and password of ``credentials`` (to set them up)."""
        if credentials.cert_file is None or credentials.key_file is None:
            raise DaemonError("credentials without certificate")
        user = user_name(credentials.cert_file.read_bytes())
        if user is None:
            raise DaemonError(f"{credentials.cert_file} has no OU")
        return user, password(credentials.key_file.read_bytes())

    def leader(self) -> EtcdMember | None:
        """The member that is leader now, by ``/v3/maintenance/status`` (None if unknown)."""
        verify = self.credentials().ssl_context() if self.ca else True
        with httpx.Client(trust_env=False, timeout=2.0, verify=verify) as client:
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


def _plan(root: Path, size: int, host: str, token: str, extra: Sequence[str], *,
          ca: CertAndKey | None) -> list[EtcdMember]:
    names = [f"etcd{i + 1}-{token[-6:]}" for i in range(size)]
    ports = [(free_port(host), free_port(host)) for _ in names]
    scheme = "https" if ca else "http"
    initial = ",".join(
        f"{name}={scheme}://{host}:{peer}" for name, (_, peer) in zip(names, ports, strict=True)
    )
    members = []
    for name, (client, peer) in zip(names, ports, strict=True):
        workdir = root / name
        tls: list[str] = []
        if ca is not None:
            cert, key = store_certs.write_pair(workdir, "member",
                                               store_certs.member_cert(ca, [host]))
            tls = store_certs.tls_args(root / "pki" / "ca.crt", cert, key)
        argv = [
            ETCD_BINARY,
            "--name", name,
            "--data-dir", str(workdir / "data"),
            "--listen-client-urls", f"{scheme}://{host}:{client}",
            "--advertise-client-urls", f"{scheme}://{host}:{client}",
            "--listen-peer-urls", f"{scheme}://{host}:{peer}",
            "--initial-advertise-peer-urls", f"{scheme}://{host}:{peer}",
            "--initial-cluster", initial,
            "--initial-cluster-token", token,
            "--initial-cluster-state", "new",
            "--pre-vote",
            "--heartbeat-interval", "100",
            "--election-timeout", "1000",
            "--logger", "zap",
            "--log-outputs", "stderr",
            "--log-level", "warn",
            *tls,
            *extra,
        ]  # fmt: skip
        members.append(EtcdMember(name, host, client, peer, workdir, argv, scheme))
    return members


def start_etcd_cluster(
    root: Path,
    size: int = 3,
    *,
    host: str = "127.0.0.1",
    timeout: float = 30.0,
    extra_args: Sequence[str] = (),
    tls: bool = False,
) -> EtcdCluster:
    """Start ``size`` members under ``root`` and wait until the cluster is healthy.

    A port taken between :func:`free_port` and etcd's bind makes a member exit; the
    whole cluster is then started once more on new ports.
    """
    if size < 1:
        raise DaemonError(f"an etcd cluster needs at least one member, not {size}")
    if shutil.which(ETCD_BINARY) is None:
        raise DaemonError(f"{ETCD_BINARY} is not installed (Debian package etcd-server)")
    ca = create_ca("OxSwarm local") if tls else None
    if ca is not None:
        store_certs.write_private(root / "pki" / "ca.crt", ca.cert_pem, 0o644)
    last: DaemonError | StoreUnavailable | None = None
    for _attempt in range(2):
        token = f"oxswarm-{secrets.token_hex(6)}"
        cluster = EtcdCluster(_plan(root, size, host, token, extra_args, ca=ca), token, ca,
                              root / "pki" if ca else None)
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
