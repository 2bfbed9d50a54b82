"""The config store's credentials on the operator's machine, made before etcd starts.

Under the state folder (``/var/lib/oxswarm/<cluster>/``)::

    ca.crt, ca.key          the cluster CA (key mode 0600); config-init reuses it
    operator.crt/.key       the operator's client certificate (etcd's root role)
    store/etcd-<node>.*     each member's certificate (SAN: service name, node address,
                            localhost, 127.0.0.1; serverAuth + clientAuth for its peers)
    store/<role>.*          one client certificate per service role (OU=<role>)

Each file goes to the services as a Swarm secret named after its content
(``oxswarm_store_<role>_crt_<digest>``): a new certificate is a new secret, and a stack
deploy rolls the services that use it. :meth:`StorePki.rotate` issues new client
certificates; :func:`oxswarm.config.etcd_rbac.reconcile` adds their users before the roll
and deletes the old ones after it.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from cryptography import x509

from oxswarm.config import store_certs
from oxswarm.config.etcd_auth import StoreCredentials, password, user_name
from oxswarm.config.etcd_rbac import OPERATOR, SERVICE_ROLES
from oxswarm.crypto.pki import CertAndKey, create_ca, key_matches_cert
from oxswarm.deploy.render.stack import SecretFile, StoreTLS, member
from oxswarm.deploy.spec import ClusterSpec
from oxswarm.errors import DeployError


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:10]


def _sans(path: Path) -> set[str]:
    cert = x509.load_pem_x509_certificate(path.read_bytes())
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    return {str(v) for v in names.get_values_for_type(x509.DNSName)} | {
        str(v) for v in names.get_values_for_type(x509.IPAddress)}


class StorePki:
    """The files above, made when missing, compared and re-made when stale."""

    def __init__(self, state_dir: Path, cluster: str) -> None:
        self.state_dir = state_dir
        self.cluster = cluster
        self.folder = state_dir / "store"

    @property
    def ca_file(self) -> Path:
        return self.state_dir / "ca.crt"

    @property
    def ca_key_file(self) -> Path:
        return self.state_dir / "ca.key"

    @property
    def operator(self) -> StoreCredentials:
        return store_certs.credentials(self.ca_file, self.state_dir, OPERATOR)

    def role(self, role: str) -> StoreCredentials:
        return store_certs.credentials(self.ca_file, self.folder, role)

    def ca(self) -> CertAndKey:
        try:
            pair = CertAndKey(self.ca_file.read_text(), self.ca_key_file.read_text())
        except OSError as exc:
            raise DeployError(f"the cluster CA cannot be read: {exc}") from None
        if not key_matches_cert(pair.cert_pem, pair.key_pem):
            raise DeployError(f"{self.ca_key_file} is not the key of {self.ca_file}")
        return pair

    def ensure(self, spec: ClusterSpec) -> list[str]:
        """The CA, every member's and every role's certificate; what was made."""
        changes: list[str] = []
        if not self.ca_key_file.is_file():
            ca = create_ca(f"OxSwarm {self.cluster}")
            store_certs.write_private(self.ca_key_file, ca.key_pem)
            store_certs.write_private(self.ca_file, ca.cert_pem, 0o644)
            changes.append(f"cluster CA {self.ca_file}")
        ca = self.ca()
        for node in spec.nodes:
            name = member("etcd", node.name)
            names = [name, node.address]
            cert = self.folder / f"{name}.crt"
            if not cert.is_file() or _sans(cert) != {*names, *store_certs.LOCAL_NAMES}:
                store_certs.write_pair(self.folder, name, store_certs.member_cert(ca, names))
                changes.append(f"store certificate of {name}")
        for role in SERVICE_ROLES:
            if not (self.folder / f"{role}.crt").is_file():
                store_certs.write_pair(self.folder, role,
                                       store_certs.client_cert(ca, self.cluster, role))
                changes.append(f"store client certificate of {role}")
        if not (self.state_dir / f"{OPERATOR}.crt").is_file():
            store_certs.write_pair(self.state_dir, OPERATOR,
                                   store_certs.client_cert(ca, self.cluster, OPERATOR))
            changes.append(f"operator certificate {self.state_dir / 'operator.crt'}")
        return changes

    def rotate(self) -> list[str]:
        """New client certificates for every role and the operator (new etcd users)."""
        ca = self.ca()
        for role in SERVICE_ROLES:
            store_certs.write_pair(self.folder, role,
                                   store_certs.client_cert(ca, self.cluster, role))
        store_certs.write_pair(self.state_dir, OPERATOR,
                               store_certs.client_cert(ca, self.cluster, OPERATOR))
        return [f"new store client certificates ({', '.join((*SERVICE_ROLES, OPERATOR))})"]

    def users(self) -> dict[str, str]:
        """etcd user -> password of every client certificate (roles and operator)."""
        out: dict[str, str] = {}
        for creds in [self.operator, *(self.role(r) for r in SERVICE_ROLES)]:
            assert creds.cert_file is not None and creds.key_file is not None
            user = user_name(creds.cert_file.read_bytes())
            if user is None:
                raise DeployError(f"{creds.cert_file} has no OU: not a store certificate")
            out[user] = password(creds.key_file.read_bytes())
        return out

    def stack_tls(self, spec: ClusterSpec) -> StoreTLS:
        """The files as Swarm secrets for the stack file."""
        def secret(path: Path, kind: str) -> SecretFile:
            stem = path.stem.replace("-", "_")
            return SecretFile(f"oxswarm_store_{stem}_{kind}_{_digest(path)}", str(path))

        def pair(folder: Path, stem: str) -> tuple[SecretFile, SecretFile]:
            return (secret(folder / f"{stem}.crt", "crt"), secret(folder / f"{stem}.key", "key"))

        return StoreTLS(
            ca=secret(self.ca_file, "crt"),
            clients={role: pair(self.folder, role) for role in SERVICE_ROLES},
            members={n.name: pair(self.folder, member("etcd", n.name)) for n in spec.nodes},
        )
