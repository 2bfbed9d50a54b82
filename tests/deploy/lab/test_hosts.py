"""Lab hosts' ssh files: sshd's own config check (``sshd -t``) and ``ssh -G`` (neither
connects anywhere), and the ``--host`` values they give the ssh driver."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from oxswarm.deploy.lab.hosts import SSHD, LabHosts, ssh_client_config, sshd_config
from oxswarm.deploy.spec import ssh_spec


def test_sshd_accepts_its_config_and_lets_only_keys_in(tmp_path: Path) -> None:
    if not Path(SSHD).exists():
        pytest.fail("openssh-server is needed (scripts/install installs it)")
    key = tmp_path / "host_key"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    conf = tmp_path / "sshd_config"
    conf.write_text(sshd_config(address="10.213.9.11", host_key=key, pid_file=tmp_path / "pid",
                                authorized=tmp_path / "authorized_keys"))
    # sshd wants its privilege separation folder: a private /run, as lab hosts have
    line = f"mount -t tmpfs tmpfs /run && mkdir /run/sshd && exec {SSHD} -T -f {conf}"
    checked = subprocess.run(["unshare", "--mount", "--propagation", "private", "sh", "-c",
                              line], capture_output=True, text=True, check=False)
    assert checked.returncode == 0, checked.stderr
    shown = checked.stdout.splitlines()
    assert {"passwordauthentication no", "permitrootlogin without-password",
            "listenaddress 10.213.9.11:22"} <= set(shown)


def test_the_client_config_pins_key_and_host_keys(tmp_path: Path) -> None:
    conf = tmp_path / "ssh_config"
    conf.write_text(ssh_client_config(pattern="10.213.9.*", key=tmp_path / "id",
                                      known_hosts=tmp_path / "known_hosts"))
    shown = set(subprocess.run(["ssh", "-G", "-F", str(conf), "10.213.9.12"],
                               capture_output=True, text=True, check=True).stdout.splitlines())
    assert {"user root", "batchmode yes", "stricthostkeychecking true",
            f"identityfile {tmp_path / 'id'}",
            f"userknownhostsfile {tmp_path / 'known_hosts'}"} <= shown
    other = set(subprocess.run(["ssh", "-G", "-F", str(conf), "192.0.2.1"],
                               capture_output=True, text=True, check=True).stdout.splitlines())
    assert "batchmode no" in other  # only the lab's addresses get its settings


def test_host_args_make_a_valid_ssh_spec(tmp_path: Path) -> None:
    hosts = LabHosts("oxunit", 3, tmp_path)
    spec = ssh_spec(hosts=hosts.host_args(), image="img", ssh_config=str(hosts.ssh_config))
    assert [n.address for n in spec.nodes] == [n.address for n in hosts.spec.nodes]
    assert [n.name for n in spec.nodes] == ["manager", "worker-1", "worker-2"]
