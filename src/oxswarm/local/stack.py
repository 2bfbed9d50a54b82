"""A complete single-host OxSwarm backend as local processes (tests and ``oxswarm dev up``).

:func:`start_stack` starts etcd, slapd, Redis and Twemproxy under one folder, writes a
master key, runs config-init (``generate``) into the store, records where the directory
is (``ldap_peers``), and loads the directory's initial tree. It returns a :class:`Stack`
with every handle and the values other commands need (store URL, cluster, master key
file, cache and LDAP addresses); :meth:`Stack.stop` stops all of it. oxAuth itself is not
started here: callers run ``oxswarm run oxauth`` (or :func:`oxswarm.oxauth.app.create_app`)
against the stack. ``store_tls=True`` closes the store as ``oxswarm up`` does (TLS with
client certificates, etcd RBAC per role): :meth:`Stack.store_args` gives a role's options.
"""

from __future__ import annotations

import contextlib
import json
import logging
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import SecretStr

from oxswarm.config import etcd_rbac
from oxswarm.config import keys as K
from oxswarm.config.generate import generate
from oxswarm.config.manager import ConfigManager
from oxswarm.config.params import Params
from oxswarm.config.secrets import SecretBox, create_key_file
from oxswarm.crypto import rand
from oxswarm.directory.bootstrap import InitialData, OwnClient, init_directory
from oxswarm.directory.connection import Directory, DirectoryConfig
from oxswarm.errors import OxSwarmError
from oxswarm.local.cache import LocalCacheCluster
from oxswarm.local.etcd import EtcdCluster, start_etcd_cluster
from oxswarm.local.slapd import SlapdNode, plan_nodes, start_nodes, stop_nodes, write_tls
from oxswarm.settings import Settings

log = logging.getLogger(__name__)

DEFAULT_CLUSTER = "dev"


@dataclass
class Stack:
    """Handles of a running single-host stack and how to reach it."""

    root: Path
    cluster: str
    master_key_file: Path
    etcd: EtcdCluster
    slapd: list[SlapdNode]
    cache: LocalCacheCluster
    hostname: str
    admin_password: str = field(repr=False)
    store_tls: bool = False

    @property
    def store_url(self) -> str:
        return self.etcd.url

    @property
    def cache_address(self) -> str:
        return f"{self.cache.host}:{self.cache.port}"

    @property
    def ldap_urls(self) -> tuple[str, ...]:
        return tuple(node.url for node in self.slapd)

    def settings(self, role: str = "operator") -> Settings:
        """Settings of the stack's store (with TLS: as ``role``, by default the operator)."""
        creds = self.etcd.credentials(role, self.cluster) if self.store_tls else None
        return Settings.load(
            {}, store=self.store_url, cluster=self.cluster, master_key_file=self.master_key_file,
            store_ca_file=creds.ca_file if creds else None,
            store_cert_file=creds.cert_file if creds else None,
            store_key_file=creds.key_file if creds else None,
        )

    def store_args(self, role: str = "operator") -> list[str]:
        """``--store ...`` (and with TLS the role's certificate) for a command line."""
        settings = self.settings(role)
        args = ["--store", self.store_url, "--cluster", self.cluster]
        for option, path in (("--store-ca-file", settings.store_ca_file),
                             ("--store-cert-file", settings.store_cert_file),
                             ("--store-key-file", settings.store_key_file)):
            args += [option, str(path)] if path else []
        return args

    def box(self) -> SecretBox:
        return SecretBox.from_file(self.master_key_file)

    def manager(self) -> ConfigManager:
        """A manager on the stack's store (close ``manager.store`` when done)."""
        creds = self.etcd.credentials("operator", self.cluster) if self.store_tls else None
        return ConfigManager(self.etcd.store(credentials=creds), self.settings().prefix,
                             self.box())

    def directory(self) -> Directory:
        """A directory connection bound as the root DN (close it when done)."""
        manager = self.manager()
        try:
            password = manager.get_secret(K.LDAP_ADMIN_PW) or ""
            bind_dn = manager.get(K.LDAP_BIND_DN) or "cn=directory manager,o=gluu"
        finally:
            manager.store.close()
        return Directory(DirectoryConfig(urls=self.ldap_urls, bind_dn=bind_dn, password=password,
                                         ca_file=self.slapd[0].ca_file))

    def describe(self) -> dict[str, str]:
        """What other commands need (``OXSWARM_STORE``, ``OXSWARM_CLUSTER``, ...)."""
        return {
            "store": self.store_url,
            "cluster": self.cluster,
            "master_key_file": str(self.master_key_file),
            "cache": self.cache_address,
            "ldap": self.ldap_urls[0],
            "hostname": self.hostname,
        }

    def stop(self) -> None:
        """Stop every daemon (never raises: used in teardown)."""
        with contextlib.suppress(OxSwarmError, OSError):
            self.cache.stop()
        with contextlib.suppress(OxSwarmError, OSError):
            stop_nodes(self.slapd)
        self.etcd.stop()


def _initial_data(manager: ConfigManager) -> InitialData:
    own = []
    for name, id_key, secret_key in K.OWN_CLIENTS:
        client_id = manager.get(id_key)
        secret = manager.get_secret(secret_key)
        if client_id and secret:
            own.append(OwnClient(name=name, client_id=client_id, client_secret=secret))
    return InitialData(
        admin_inum=manager.get(K.ADMIN_INUM) or "",
        admin_password=manager.get_secret(K.ADMIN_PW) or "",
        admin_email=manager.get(K.ADMIN_EMAIL),
        hostname=manager.get(K.HOSTNAME),
        own_clients=tuple(own),
        suffix=manager.get(K.LDAP_BASE_DN) or "o=gluu",
    )


def start_stack(
    root: Path,
    *,
    cluster: str = DEFAULT_CLUSTER,
    hostname: str = "id.oxswarm.test",
    admin_password: str | None = None,
    cache_shards: int = 1,
    registration: str | None = None,
    store_tls: bool = False,
) -> Stack:
    """Start everything under ``root`` and initialise it; stop what started on failure.

    ``registration`` replaces config-init's registration mode (``token``) in the store:
    ``oxswarm dev up`` opens registration."""
    root.mkdir(parents=True, exist_ok=True)
    admin_password = admin_password or rand.password(20)
    key_file = root / "master.key"
    if not key_file.exists():
        create_key_file(key_file)
    box = SecretBox.from_file(key_file)
    params = Params(
        hostname=hostname,
        country_code="US",
        state="TX",
        city="Austin",
        admin_email=f"admin@{hostname}",
        org_name="OxSwarm",
        admin_pw=SecretStr(admin_password),
    )
    generated = generate(params)
    if registration is not None:
        generated.config[K.OXAUTH_REGISTRATION] = registration
    started: list[object] = []
    etcd = start_etcd_cluster(root / "etcd", size=1, tls=store_tls)
    started.append(etcd)
    try:
        if store_tls:
            _close_store(etcd, cluster)
        store = etcd.store(credentials=etcd.credentials("operator", cluster) if store_tls
                           else None)
        manager = ConfigManager(store, f"/oxswarm/{cluster}", box)
        manager.load(generated.config, generated.secrets)
        ldap_pw = manager.get_secret(K.LDAP_ADMIN_PW) or ""
        # the directory's certificate comes from config-init's CA, as in the cluster
        tls = write_tls(root / "slapd" / "tls", generated.config[K.CA_CERT],
                        generated.secrets[K.CA_KEY], ["localhost", "127.0.0.1"])
        nodes = plan_nodes(root / "slapd", 1, ldap_pw, tls=tls)
        start_nodes(nodes)
        started.append(nodes)
        manager.set(K.LDAP_PEERS, json.dumps([n.url for n in nodes]))
        data = _initial_data(manager)
        with Directory(
            DirectoryConfig(
                urls=tuple(n.url for n in nodes),
                bind_dn=manager.get(K.LDAP_BIND_DN) or "cn=directory manager,o=gluu",
                password=ldap_pw,
                ca_file=tls.ca_file,
            )
        ) as directory:
            init_directory(directory, data, box)
        store.close()
        cache = LocalCacheCluster(root / "cache", shards=cache_shards,
                                  password=generated.secrets[K.REDIS_PW]).start()
        with etcd.store(credentials=etcd.credentials("operator", cluster) if store_tls
                        else None) as shards_store:  # the services keep 2 copies over them
            ConfigManager(shards_store, f"/oxswarm/{cluster}", box).set(
                K.CACHE_SHARDS, json.dumps(list(cache.ring.names)))
    except BaseException:
        if len(started) > 1:
            stop_nodes(nodes)
        etcd.stop()
        raise
    log.info("stack up under %s: store %s", root, etcd.url)
    return Stack(
        root=root,
        cluster=cluster,
        master_key_file=key_file,
        etcd=etcd,
        slapd=nodes,
        cache=cache,
        hostname=hostname,
        admin_password=admin_password,
        store_tls=store_tls,
    )


def _close_store(etcd: EtcdCluster, cluster: str) -> None:
    """A client certificate per role, their etcd users and rights, auth on."""
    users = dict(etcd.login(etcd.credentials(role, cluster)) for role in etcd_rbac.CLIENT_ROLES)
    with etcd.store(credentials=etcd.credentials("operator", cluster)) as store:
        etcd_rbac.reconcile(store, f"/oxswarm/{cluster}", users)


__all__ = ["Stack", "start_stack"]
