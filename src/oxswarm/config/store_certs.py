"""The config store's certificates, from the cluster CA (:mod:`oxswarm.crypto.pki`).

* a member's: its names in the SAN (service name, node address, ``localhost``,
  ``127.0.0.1``), no CN (etcd's gateway dials its own server with it and would log a CN
  as an ignored user), ``serverAuth`` and ``clientAuth`` (peers present it to each other);
* a client's: ``O=OxSwarm <cluster>, OU=<role>``, ``clientAuth`` only
  (:mod:`oxswarm.config.etcd_auth` makes its etcd user from it).

Files are written with mode 0600 (keys) and 0644 (certificates), replaced atomically.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from oxswarm.config.etcd_auth import StoreCredentials
from oxswarm.crypto.pki import CertAndKey, issue_client_cert, issue_server_cert

LOCAL_NAMES = ("localhost", "127.0.0.1")


def member_cert(ca: CertAndKey, names: Sequence[str]) -> CertAndKey:
    return issue_server_cert(ca.cert_pem, ca.key_pem, [*names, *LOCAL_NAMES], client_auth=True,
                             common_name="")


def client_cert(ca: CertAndKey, cluster: str, role: str) -> CertAndKey:
    return issue_client_cert(ca.cert_pem, ca.key_pem, f"OxSwarm {cluster}", role)


def write_private(path: Path, text: str, mode: int = 0o600) -> None:
    """Write ``text`` to ``path`` with ``mode`` from the first byte (a temporary, renamed)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.unlink(missing_ok=True)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    with os.fdopen(fd, "w") as out:
        out.write(text)
    os.chmod(tmp, mode)
    tmp.replace(path)


def write_pair(folder: Path, stem: str, pair: CertAndKey) -> tuple[Path, Path]:
    """``<stem>.crt`` (0644) and ``<stem>.key`` (0600) in ``folder``."""
    cert, key = folder / f"{stem}.crt", folder / f"{stem}.key"
    write_private(key, pair.key_pem)
    write_private(cert, pair.cert_pem, 0o644)
    return cert, key


def credentials(ca_file: Path, folder: Path, stem: str) -> StoreCredentials:
    return StoreCredentials(ca_file, folder / f"{stem}.crt", folder / f"{stem}.key")


def tls_args(ca_file: Path, cert_file: Path, key_file: Path) -> list[str]:
    """etcd's flags for client and peer TLS, both requiring a certificate of the CA.

    A member presents its certificate to its peers as a client; etcd would also require one
    of that certificate's names to resolve to the address the connection comes from, which
    a Swarm task's overlay address does not reliably do (the certificate names the service
    and the node's address). The chain to the cluster CA is still required
    (``--experimental-peer-skip-client-san-verification`` skips only that name check).
    """
    return [
        "--cert-file", str(cert_file), "--key-file", str(key_file),
        "--client-cert-auth", "--trusted-ca-file", str(ca_file),
        "--peer-cert-file", str(cert_file), "--peer-key-file", str(key_file),
        "--peer-client-cert-auth", "--peer-trusted-ca-file", str(ca_file),
        "--experimental-peer-skip-client-san-verification",
    ]  # fmt: skip
