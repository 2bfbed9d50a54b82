"""Run OpenLDAP slapd as local processes: one node, or N in multi-provider replication.

Each node has its own folder (``slapd.conf``, ``db/``, pid and log) and listens on
127.0.0.1 with ports from :func:`free_port`; nothing touches ``/etc/ldap`` or the
package's own ``dc=nodomain`` database. Every node speaks TLS (a certificate from the
given CA, or from a CA drawn for the cluster): ``url`` is its ``ldaps://`` address,
``plain_url`` its plain one, where a simple bind is refused (``confidentialityRequired``)
unless StartTLS came first; replication runs over ldaps, checked against the CA.
The base entry is seeded on one node only, with ``slapadd -S <serverID> -w`` (so it
carries a CSN and replicates like any write); the others receive it by ``syncrepl``.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

from oxswarm.crypto import pki
from oxswarm.directory.passwords import hash_password
from oxswarm.directory.slapdconf import (
    DEFAULT_SUFFIX,
    SlapdSpec,
    TLSFiles,
    best_password_scheme,
    render_slapd_conf,
)
from oxswarm.directory.tree import base_entry
from oxswarm.errors import DaemonError, InvalidInput
from oxswarm.local.process import Daemon, free_port

log = logging.getLogger(__name__)

SLAPD = "/usr/sbin/slapd"
SLAPTEST = "/usr/sbin/slaptest"
SLAPADD = "/usr/sbin/slapadd"
HOST = "127.0.0.1"
# slapd's -d level: "stats" logs each connection (client address, TLS), bind DN and result
# (err=49 wrong password, err=13 no TLS) to stderr, never a password
DEBUG = "stats"


def base_entry_ldif(suffix: str) -> str:
    """LDIF (RFC 2849) of the suffix entry, for ``slapadd``."""
    lines = [f"dn: {suffix}"]
    for name, values in base_entry(suffix).items():
        lines += [f"{name}: {value}" for value in values]
    return "\n".join(lines) + "\n"


def write_tls(folder: Path, ca_cert_pem: str, ca_key_pem: str,
              names: Sequence[str]) -> TLSFiles:
    """Issue a directory server certificate for ``names`` (DNS names or IP addresses) from
    the CA and write it, its key (0600) and the CA certificate under ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    issued = pki.issue_server_cert(ca_cert_pem, ca_key_pem, list(names), client_auth=True)
    files = TLSFiles(folder / "ldap.crt", folder / "ldap.key", folder / "ca.crt")
    files.ca_file.write_text(ca_cert_pem)
    files.cert_file.write_text(issued.cert_pem)
    files.key_file.touch(mode=0o600)
    files.key_file.chmod(0o600)
    files.key_file.write_text(issued.key_pem)
    return files


def local_tls(folder: Path) -> TLSFiles:
    """A CA of its own and a certificate for 127.0.0.1 / localhost (local clusters); the
    CA's key stays in ``folder/ca.key`` (0600) so that a test may issue more."""
    ca = pki.create_ca("OxSwarm local directory")
    files = write_tls(folder, ca.cert_pem, ca.key_pem, ["localhost", HOST])
    key = folder / "ca.key"
    key.touch(mode=0o600)
    key.write_text(ca.key_pem)
    return files


def check_config(conf: Path) -> None:
    """``slaptest -u``: the configuration parses (schema, modules, directives)."""
    result = subprocess.run(
        [SLAPTEST, "-u", "-f", str(conf)], capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise DaemonError(f"slaptest rejected {conf}: {result.stderr.strip()[-800:]}")


@dataclass
class SlapdNode:
    """One slapd with its folder, ports and configuration."""

    spec: SlapdSpec
    workdir: Path
    port: int
    ldaps_port: int
    host: str = HOST
    daemon: Daemon = field(init=False)

    def __post_init__(self) -> None:
        listen = [f"ldap://{self.host}:{self.port}/", f"ldaps://{self.host}:{self.ldaps_port}/"]
        argv = [SLAPD, "-d", DEBUG, "-f", str(self.conf_file), "-h", " ".join(listen)]
        self.daemon = Daemon("slapd", argv, self.workdir)

    @property
    def conf_file(self) -> Path:
        return self.workdir / "slapd.conf"

    @property
    def url(self) -> str:
        """Where clients bind: ldaps, verified against :attr:`ca_file`."""
        return f"ldaps://{self.host}:{self.ldaps_port}"

    @property
    def plain_url(self) -> str:
        """Plain LDAP: a simple bind here is refused unless StartTLS came first."""
        return f"ldap://{self.host}:{self.port}"

    @property
    def ca_file(self) -> Path:
        assert self.spec.tls is not None  # plan_nodes always gives one
        return self.spec.tls.ca_file

    def write_config(self) -> None:
        """Render the configuration into the node's folder and check it with slaptest."""
        self.spec.data_dir.mkdir(parents=True, exist_ok=True)
        self.spec.run_dir.mkdir(parents=True, exist_ok=True)
        self.conf_file.write_text(render_slapd_conf(self.spec))
        self.conf_file.chmod(0o600)
        check_config(self.conf_file)

    def seed(self) -> None:
        """Load the suffix entry offline with ``slapadd -S <serverID> -w``."""
        result = subprocess.run(
            [SLAPADD, "-S", str(self.spec.server_id), "-w", "-q", "-f", str(self.conf_file)],
            input=base_entry_ldif(self.spec.suffix),
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            raise DaemonError(f"slapadd failed: {result.stderr.strip()[-800:]}")

    def start(self, timeout: float = 20.0) -> SlapdNode:
        self.daemon.start()
        self.daemon.wait_tcp(self.host, self.port, timeout)
        self.daemon.wait_tcp(self.host, self.ldaps_port, timeout)
        return self

    def stop(self) -> None:
        self.daemon.stop()

    def kill(self) -> None:
        self.daemon.kill()

    def running(self) -> bool:
        return self.daemon.running()


def plan_nodes(
    base_dir: Path,
    count: int,
    root_password: str,
    *,
    tls: TLSFiles | None = None,
    suffix: str = DEFAULT_SUFFIX,
    log_level: str = "none",
) -> list[SlapdNode]:
    """N nodes, each listing all the others as ldaps ``syncrepl`` peers; without ``tls``,
    a CA and certificate of their own under ``base_dir/tls``."""
    if count < 1:
        raise InvalidInput("count: at least one slapd", field="count")
    tls = tls or local_tls(base_dir / "tls")
    ports = [free_port(HOST) for _ in range(count)]
    tls_ports = [free_port(HOST) for _ in range(count)]
    urls = [f"ldaps://{HOST}:{tls_port}/" for tls_port in tls_ports]
    scheme = best_password_scheme()
    root_hash = hash_password(root_password, scheme)
    nodes = []
    for index in range(count):
        workdir = base_dir / f"slapd{index + 1}"
        spec = SlapdSpec(
            server_id=index + 1,
            peers=tuple(u for j, u in enumerate(urls) if j != index),
            data_dir=workdir / "db",
            run_dir=workdir,
            root_password=root_password,
            root_password_hash=root_hash,
            suffix=suffix,
            root_dn=f"cn=directory manager,{suffix}",
            tls=tls,
            password_hash=scheme,
            log_level=log_level,
        )
        nodes.append(SlapdNode(spec, workdir, ports[index], tls_ports[index]))
    return nodes


def start_nodes(nodes: Sequence[SlapdNode], *, seed: bool = True) -> None:
    """Write every config, seed the base on the first node only, start them all."""
    for node in nodes:
        node.write_config()
    if seed and nodes:
        nodes[0].seed()
    started: list[SlapdNode] = []
    try:
        for node in nodes:
            started.append(node.start())
    except BaseException:
        stop_nodes(started)
        raise


def stop_nodes(nodes: Sequence[SlapdNode]) -> None:
    """Stop all nodes at once: one by one, a node waits ~3 s on its syncrepl to a dead peer."""

    def stop(node: SlapdNode) -> None:
        with suppress(DaemonError):
            node.stop()

    threads = [threading.Thread(target=stop, args=(node,), daemon=True) for node in nodes]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


@contextmanager
def slapd_cluster(
    base_dir: Path,
    count: int,
    root_password: str,
    *,
    tls: TLSFiles | None = None,
    seed: bool = True,
    keep: bool = True,
) -> Iterator[list[SlapdNode]]:
    """Start ``count`` slapd in N-way multi-provider replication; stop them on exit."""
    nodes = plan_nodes(base_dir, count, root_password, tls=tls)
    start_nodes(nodes, seed=seed)
    try:
        yield nodes
    finally:
        stop_nodes(nodes)
        if not keep:
            shutil.rmtree(base_dir, ignore_errors=True)
