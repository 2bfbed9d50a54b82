"""csync2 for the shared folder (the SAML IdP's files, later written by oxTrust).

Gluu's multi-host design kept ``/opt/shibboleth-idp`` identical on every node with
csync2 run by cron every 2 minutes; we run it within seconds of a change. Facts
(csync2 2.0 ``csync2.adoc``, proved in the lab, ``reference/lab.md``):

* One group, one pre-shared key (config key ``CSYNC2_KEY``) and ONE TLS certificate and
  key (``CSYNC2_CERT``/``CSYNC2_CERT_KEY``) for every node: csync2 reads
  ``$CSYNC2_SYSTEM_DIR/csync2_ssl_cert.pem`` and ``csync2_ssl_key.pem`` and per-node
  certificates fail the GnuTLS handshake.
* Every call carries ``-N name`` (the name in the ``host`` list, which must resolve to
  the node's address: the daemon binds to it) and ``-D dir`` (a database per node).
* ``auto younger``: a conflict is won by the most recent change.
* ``prefix``: the folder may be at a different path on each host (several hosts on
  one filesystem in tests); ``include %shared%`` then names it on all of them.
* Daemon: ``csync2 -ii -v -N name``; sync: ``csync2 -x -N name``. A peer that is down
  keeps the file dirty for it; the next ``-x`` sends it.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from oxswarm.crypto.pki import load_cert
from oxswarm.errors import DaemonError, InvalidInput
from oxswarm.local.process import Daemon, wait_until

CSYNC2_BINARY = "csync2"
DEFAULT_PORT = 30865
PREFIX = "shared"
CERT_FILE = "csync2_ssl_cert.pem"
KEY_FILE = "csync2_ssl_key.pem"
CONFIG_FILE = "csync2.cfg"
GROUP_KEY_FILE = "csync2.key"
# Editors' and writers' temporary files are not worth sending.
EXCLUDES = ("*~", ".*.swp", "*.tmp")

_NAME = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9.-]{0,61}[A-Za-z0-9])?$")
_PATH = re.compile(r"^/[A-Za-z0-9_./@+-]*$")


def _check_path(value: Path, what: str) -> Path:
    if not _PATH.match(str(value)):
        raise InvalidInput(
            f"{what}: {value} must be an absolute path of letters, digits and _./@+-",
            field=what,
        )
    return value


@dataclass(frozen=True)
class Csync2Host:
    """One member: ``name`` as in ``-N`` (must resolve), ``folder`` its shared folder."""

    name: str
    folder: Path

    def __post_init__(self) -> None:
        if not _NAME.match(self.name):
            raise InvalidInput(f"host: {self.name!r} is not a host name", field="host")
        _check_path(self.folder, "folder")


@dataclass(frozen=True)
class Csync2Group:
    """The hosts that share one folder, and where each keeps its csync2 files."""

    hosts: tuple[Csync2Host, ...]
    key_file: Path
    name: str = "oxswarm"
    auto: str = "younger"

    def __post_init__(self) -> None:
        if not self.hosts:
            raise InvalidInput("hosts: a csync2 group needs at least one host", field="hosts")
        names = [h.name for h in self.hosts]
        if len(set(names)) != len(names):
            raise InvalidInput(f"hosts: duplicate names in {names}", field="hosts")
        if not _NAME.match(self.name):
            raise InvalidInput(f"group: {self.name!r} is not a valid name", field="group")
        if self.auto not in ("none", "first", "younger", "older", "bigger", "smaller"):
            raise InvalidInput(f"auto: {self.auto!r} is not a csync2 auto mode", field="auto")
        _check_path(self.key_file, "key_file")

    def host(self, name: str) -> Csync2Host:
        for host in self.hosts:
            if host.name == name:
                return host
        raise InvalidInput(f"host: {name!r} is not in the group", field="host")


def render_csync2_cfg(group: Csync2Group) -> str:
    """``csync2.cfg`` for ``group`` (the same text on every host)."""
    folders = {h.folder for h in group.hosts}
    lines = [
        "# Rendered by oxswarm; every change is overwritten.",
        f"group {group.name}",
        "{",
        f"    host {' '.join(h.name for h in group.hosts)};",
        f"    key {group.key_file};",
        f"    include %{PREFIX}%;",
        f"    exclude {' '.join(EXCLUDES)};",
        f"    auto {group.auto};",
        "}",
        "",
        f"prefix {PREFIX}",
        "{",
    ]
    if len(folders) == 1:
        lines.append(f"    on *: {group.hosts[0].folder};")
    else:
        lines += [f"    on {h.name}: {h.folder};" for h in group.hosts]
    lines.append("}")
    return "\n".join(lines) + "\n"


@dataclass
class Csync2Node:
    """One host's csync2: its files under ``system_dir``, database under ``db_dir``.

    ``netns`` runs every command inside that network namespace (the lab and tests).
    """

    name: str
    group: Csync2Group
    system_dir: Path
    db_dir: Path
    port: int = DEFAULT_PORT
    netns: str | None = None
    timeout: float = 60.0
    daemon: Daemon = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.group.host(self.name)
        self.daemon = Daemon(
            name=f"csync2-{self.name}",
            argv=[CSYNC2_BINARY, "-ii", "-v", *self._common()],
            workdir=self.system_dir,
            env=self.env,
            netns=self.netns,
        )

    @property
    def folder(self) -> Path:
        return self.group.host(self.name).folder

    @property
    def env(self) -> dict[str, str]:
        return {"CSYNC2_SYSTEM_DIR": str(self.system_dir)}

    def _common(self) -> list[str]:
        args = ["-N", self.name, "-D", str(self.db_dir)]
        if self.port != DEFAULT_PORT:
            args += ["-p", str(self.port)]
        return args

    def write_files(
        self, group_key: str, cert_pem: str, key_pem: str, ca_pem: str | None = None
    ) -> None:
        """Write the config, the group key and the shared certificate (0600 for secrets).

        csync2 trusts the certificates in its own certificate file and nothing else
        (GnuTLS: the server's trusted list is that file): a certificate issued by the
        cluster CA must be written followed by the CA (``ca_pem``), or the peer sends
        no client certificate and the handshake fails (GNUTLS_E_CERTIFICATE_REQUIRED).
        """
        if len(group_key) < 32:
            raise InvalidInput("csync2_key: at least 32 characters", field="csync2_key")
        cert_pem = cert_file_text(cert_pem, ca_pem)
        self.system_dir.mkdir(parents=True, exist_ok=True)
        self.db_dir.mkdir(parents=True, exist_ok=True)
        self.folder.mkdir(parents=True, exist_ok=True)
        (self.system_dir / CONFIG_FILE).write_text(render_csync2_cfg(self.group))
        secrets: Mapping[Path, str] = {
            self.group.key_file: group_key,
            self.system_dir / KEY_FILE: key_pem,
        }
        for path, text in secrets.items():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.touch(mode=0o600, exist_ok=True)
            path.chmod(0o600)
            path.write_text(text)
        (self.system_dir / CERT_FILE).write_text(cert_pem)

    def start(self, timeout: float = 10.0) -> Csync2Node:
        """Start the daemon (``csync2 -ii``) and wait until it listens."""
        self.daemon.start()

        def ready() -> bool:
            if not self.daemon.running():
                raise DaemonError(f"csync2 on {self.name} exited: {self.daemon.tail()}")
            pid = self.daemon.pid
            return pid is not None and listening(pid, self.port)

        wait_until(ready, timeout, f"csync2 on {self.name} to listen on port {self.port}")
        return self

    def run(self, *args: str, timeout: float | None = None) -> subprocess.CompletedProcess[str]:
        """``csync2 <args> -N name -D db`` in this host's environment."""
        argv = [CSYNC2_BINARY, *args, *self._common()]
        if self.netns:
            argv = ["ip", "netns", "exec", self.netns, *argv]
        try:
            return subprocess.run(
                argv,
                env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", **self.env},
                capture_output=True,
                text=True,
                timeout=timeout or self.timeout,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise DaemonError(f"csync2 {' '.join(args)} on {self.name}: {exc}") from exc

    def sync(self) -> bool:
        """``csync2 -x``: check the folder, send every change; False when a peer missed it."""
        result = self.run("-x")
        return result.returncode == 0

    def dirty(self) -> list[str]:
        """``csync2 -M``: the files still to be sent (to a peer that was down)."""
        result = self.run("-M")
        return [line for line in result.stdout.splitlines() if line.strip()]

    def stop(self) -> None:
        self.daemon.stop()

    def kill(self) -> None:
        self.daemon.kill()


def cert_file_text(cert_pem: str, ca_pem: str | None) -> str:
    """The certificate file: the certificate, followed by its CA unless self-signed."""
    cert = load_cert(cert_pem)
    if cert.issuer == cert.subject:
        return cert_pem
    if ca_pem is None:
        raise InvalidInput(
            "csync2_cert: issued by a CA, so the CA certificate must be given too "
            "(csync2 trusts only the certificates in its own certificate file)",
            field="csync2_cert",
        )
    if load_cert(ca_pem).subject != cert.issuer:
        raise InvalidInput("ca_cert: is not the issuer of csync2_cert", field="ca_cert")
    return cert_pem.rstrip("\n") + "\n" + ca_pem


def listening(pid: int, port: int) -> bool:
    """True when ``port`` is in LISTEN state in ``pid``'s network namespace.

    ``/proc/<pid>/net/tcp`` shows the sockets of the namespace the process is in, so
    this works for a daemon inside a namespace we are not in.
    """
    wanted = f":{port:04X}"
    for table in ("tcp", "tcp6"):
        try:
            lines = Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if len(fields) > 3 and fields[1].endswith(wanted) and fields[3] == "0A":
                return True
    return False


def hosts_for(names: Sequence[str], folder: Path) -> tuple[Csync2Host, ...]:
    """Every host with the same folder (a real deployment: one folder per machine)."""
    return tuple(Csync2Host(n, folder) for n in names)
