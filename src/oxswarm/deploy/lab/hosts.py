"""Lab hosts: machines for the ``ssh`` driver, on this machine (``oxswarm lab hosts up``).

Each host is a lab node (a network namespace on the lab's bridge) whose dockerd runs in a
private mount namespace where ``/run`` and ``/var/lib/oxswarm/host`` are the node's own
folders, so ``/var/run/docker.sock`` is its own daemon, as on a separate machine; an sshd
in the same namespaces lets ``root`` in with a key the lab made. The lab writes an
ssh_config(5) (key, known host keys, ``BatchMode``) for ``oxswarm up --driver ssh
--ssh-config FILE --host manager=ssh://root@ADDR ...``. No swarm is created here: that is
the ssh driver's job. The lab's registry runs as for a lab cluster (``--registry``).
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import subprocess
from collections.abc import Callable
from pathlib import Path

from oxswarm.deploy.lab.dockerd import HOST_DATA, LAUNCHED, Dockerd
from oxswarm.deploy.lab.driver import LabDriver
from oxswarm.deploy.runner import Runner, SubprocessRunner
from oxswarm.deploy.spec import ClusterSpec, lab_node_dir, lab_spec
from oxswarm.errors import DaemonError, DeployError
from oxswarm.local.process import Daemon, tcp_open

log = logging.getLogger(__name__)

SSHD = "/usr/sbin/sshd"
SSH_PORT = 22
Step = Callable[[str], None]


def _quiet(_: str) -> None:
    return None


def sshd_config(*, address: str, host_key: Path, pid_file: Path, authorized: Path) -> str:
    """An sshd that only lets root in with the lab's key, on the node's address."""
    return "\n".join([
        f"ListenAddress {address}:{SSH_PORT}",
        f"HostKey {host_key}",
        f"PidFile {pid_file}",
        f"AuthorizedKeysFile {authorized}",
        "PermitRootLogin prohibit-password",
        "PasswordAuthentication no",
        "KbdInteractiveAuthentication no",
        "UsePAM no",
        "X11Forwarding no",
        "AllowTcpForwarding no",
        "",
    ])


def ssh_client_config(*, pattern: str, key: Path, known_hosts: Path) -> str:
    """The ssh_config(5) the ssh driver is given for the lab's hosts."""
    return "\n".join([
        f"Host {pattern}",
        "    User root",
        f"    IdentityFile {key}",
        "    IdentitiesOnly yes",
        f"    UserKnownHostsFile {known_hosts}",
        "    StrictHostKeyChecking yes",
        "    BatchMode yes",
        "    ConnectTimeout 5",
        "",
    ])


class LabHosts(LabDriver):
    """``nodes`` host-like lab nodes named ``manager``, ``worker-1``, ... with sshd."""

    def __init__(self, name: str, nodes: int, state_dir: Path,
                 runner: Runner | None = None) -> None:
        spec = lab_spec(nodes=nodes, state_dir=str(state_dir), cluster=name, image="none")
        super().__init__(spec, state_dir, runner or SubprocessRunner())

    @classmethod
    def from_spec(cls, spec: ClusterSpec, state_dir: Path,
                  runner: Runner | None = None) -> LabHosts:
        return cls(spec.cluster, len(spec.nodes), state_dir, runner)

    # -- files --------------------------------------------------------------------
    @property
    def ssh_dir(self) -> Path:
        return self.state_dir / "ssh"

    @property
    def ssh_config(self) -> Path:
        return self.ssh_dir / "ssh_config"

    @property
    def client_key(self) -> Path:
        return self.ssh_dir / "id_ed25519"

    def host_args(self, user: str = "root") -> list[str]:
        """``--host`` values for ``oxswarm up --driver ssh``."""
        return [f"{n.name}=ssh://{user}@{n.address}" for n in self.spec.nodes]

    # -- parts --------------------------------------------------------------------
    def dockerd(self, node: str) -> Dockerd:
        return Dockerd(dataclasses.replace(super().dockerd(node).config, host_like=True))

    def sshd(self, node: str) -> Daemon:
        root = Path(lab_node_dir(str(self.state_dir), node))
        return Daemon(name="sshd", argv=[SSHD, "-D", "-e", "-f", str(root / "sshd_config")],
                      workdir=root / "sshd")

    # -- reconcile ----------------------------------------------------------------
    def up(self, step: Step = _quiet) -> list[str]:
        """Keys, then the machines (each a host-like dockerd and an sshd); no swarm."""
        done = self._client_keys()
        done += self.machines(step)
        self._known_hosts()
        return done

    def node_extras(self, node: str, step: Step = _quiet) -> list[str]:
        """The node's sshd (its folders are the ssh driver's to make)."""
        step(f"sshd {node}")
        return [f"sshd {node}"] if self._start_sshd(node) else []

    def _keygen(self, path: Path, comment: str) -> bool:
        if path.is_file():
            return False
        path.parent.mkdir(parents=True, exist_ok=True)
        self.runner.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment,
                         "-f", str(path)])
        return True

    def _client_keys(self) -> list[str]:
        made = self._keygen(self.client_key, f"oxswarm-lab-{self.spec.cluster}")
        self.ssh_dir.chmod(0o700)
        (self.ssh_dir / "authorized_keys").write_text(
            self.client_key.with_suffix(".pub").read_text())
        pattern = f"{self.lab.prefix}.*"
        self.ssh_config.write_text(ssh_client_config(
            pattern=pattern, key=self.client_key, known_hosts=self.ssh_dir / "known_hosts"))
        return [f"ssh key {self.client_key}"] if made else []

    def _known_hosts(self) -> None:
        lines = []
        for node in self.spec.nodes:
            root = Path(lab_node_dir(str(self.state_dir), node.name))
            key = (root / "ssh_host_ed25519_key.pub").read_text().split()
            lines.append(f"{node.address} {key[0]} {key[1]}")
        (self.ssh_dir / "known_hosts").write_text("\n".join(lines) + "\n")

    def _start_sshd(self, node: str) -> bool:
        address = self.spec.node(node).address
        daemon = self.sshd(node)
        if daemon.running() and tcp_open(address, SSH_PORT, timeout=1.0):
            return False
        daemon.stop()
        root = Path(lab_node_dir(str(self.state_dir), node))
        self._keygen(root / "ssh_host_ed25519_key", f"{node}.{self.spec.cluster}")
        (root / "sshd_config").write_text(sshd_config(
            address=address, host_key=root / "ssh_host_ed25519_key",
            pid_file=root / "sshd" / "sshd.pid.real", authorized=self.ssh_dir / "authorized_keys"))
        (root / "run" / "sshd").mkdir(parents=True, exist_ok=True)  # its privilege separation
        dockerd_pid = self.dockerd(node).pid()
        if dockerd_pid is None:
            raise DeployError(f"sshd {node}: its dockerd is not running")
        # sshd joins the dockerd's namespaces: its /run, its host folder, its network
        daemon.argv = ["nsenter", "-t", str(dockerd_pid), "-m", "-n", "-u", *daemon.argv]
        daemon.start()
        if daemon.proc is not None:
            LAUNCHED.append(daemon.proc)
        try:
            daemon.wait_tcp(address, SSH_PORT, timeout=20)
        except DaemonError as exc:
            raise DeployError(f"sshd {node}: {exc}") from exc
        return True

    def down(self, step: Step = _quiet) -> list[str]:
        """As a lab cluster's, and the empty mount point the hosts' namespaces used."""
        done = super().down(step)
        with contextlib.suppress(OSError):  # not empty or absent: not ours to remove
            Path(HOST_DATA).rmdir()
        return done

    def heal(self, node: str) -> list[str]:
        done = super().heal(node)
        if self._start_sshd(node):
            done.append(f"sshd {node} restarted")
        return done

    def ssh(self, node: str, *command: str,
            timeout: float = 30.0) -> subprocess.CompletedProcess[str]:
        """Run ``command`` on ``node`` over SSH with the lab's client config."""
        address = self.spec.node(node).address
        return subprocess.run(["ssh", "-F", str(self.ssh_config), address, "--", *command],
                              capture_output=True, text=True, timeout=timeout, check=False)
