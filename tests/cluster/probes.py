"""What the cluster tests read from a running cluster: secrets, discovery, directory entries."""

from __future__ import annotations

import json
import ssl
import subprocess
from typing import Any

import httpx
import ldap3
from tests.cluster.conftest import operator_env
from tests.cluster.load import ldap_session

from oxswarm.config import keys
from oxswarm.config.etcd import EtcdStore
from oxswarm.config.manager import ConfigManager
from oxswarm.config.secrets import SecretBox
from oxswarm.deploy.deployer import Deployer, UpResult
from oxswarm.deploy.render.stack import LDAP_PORT, LDAP_SCHEME


def manager_of(deployer: Deployer) -> tuple[EtcdStore, ConfigManager]:
    spec = deployer.saved_spec()
    assert spec is not None
    settings = deployer.settings(spec)
    store = EtcdStore.from_settings(settings)
    return store, ConfigManager(store, settings.prefix,
                                SecretBox.from_file(deployer.master_key_file))


def secrets_of(deployer: Deployer) -> dict[str, str]:
    store, manager = manager_of(deployer)
    with store:
        return {
            "client_id": manager.get(keys.SCIM_RS_CLIENT_ID) or "",
            "secret": manager.get_secret(keys.SCIM_RS_CLIENT_SECRET) or "",
            "ldap_pw": manager.get_secret(keys.LDAP_ADMIN_PW) or "",
            "bind_dn": manager.get(keys.LDAP_BIND_DN) or "cn=directory manager,o=gluu",
            "base": manager.get(keys.LDAP_BASE_DN) or "o=gluu",
            "ca": manager.get(keys.CA_CERT) or "",
            "redis_pw": manager.get_secret(keys.REDIS_PW) or "",
            "admin_inum": manager.get(keys.ADMIN_INUM) or "",
            "admin_pw": manager.get_secret(keys.ADMIN_PW) or "",
        }


def catalogued_nodes(deployer: Deployer, service: str = "oxauth") -> set[str]:
    """The nodes whose ``service`` is healthy in the catalogue."""
    from oxswarm.catalogue.reader import Catalogue

    spec = deployer.saved_spec()
    assert spec is not None
    settings = deployer.settings(spec)
    with EtcdStore.from_settings(settings) as store:
        return {i.node for i in Catalogue(store, settings.prefix).healthy(service)}


def discovery_answer(address: str, hostname: str, ca_file: str) -> str:
    """``200``, ``503 <body start>`` or the exception's name: what the node answers."""
    try:
        with httpx.Client(verify=ssl.create_default_context(cafile=ca_file), timeout=3.0,
                          trust_env=False) as client:
            res = client.send(client.build_request(
                "GET", f"https://{address}/.well-known/openid-configuration",
                headers={"Host": hostname}, extensions={"sni_hostname": hostname}))
    except httpx.HTTPError as exc:
        return type(exc).__name__
    return "200" if res.status_code == 200 else f"{res.status_code} {res.text[:60]!r}"


def node_serves(address: str, hostname: str, ca_file: str) -> bool:
    return discovery_answer(address, hostname, ca_file) == "200"


def ldap_url(address: str) -> str:
    return f"{LDAP_SCHEME}://{address}:{LDAP_PORT}"


def ldap_server(address: str, ca: str) -> ldap3.Server:
    """A node's published directory port: ldaps, its certificate checked against ``ca``."""
    return ldap3.Server(ldap_url(address), connect_timeout=2, get_info=ldap3.NONE,
                        tls=ldap3.Tls(ca_certs_data=ca, validate=ssl.CERT_REQUIRED))


def has_entry(address: str, bind_dn: str, password: str, dn: str, *, ca: str) -> bool:
    try:
        with ldap_session(ldap_server(address, ca), bind_dn, password,
                          receive_timeout=5) as conn:
            return bool(conn.search(dn, "(objectClass=*)", search_scope=ldap3.BASE))
    except ldap3.core.exceptions.LDAPException:
        return False


def add_entry(address: str, bind_dn: str, password: str, dn: str, uid: str, *,
              ca: str) -> bool:
    with ldap_session(ldap_server(address, ca), bind_dn, password, receive_timeout=5) as conn:
        return bool(conn.add(dn, ["inetOrgPerson"], {"cn": uid, "sn": "restart"}))


def by_node(body: dict[str, Any]) -> dict[str, dict[str, str]]:
    """The rows of ``status --json`` (lists of ``{"node": ..., ...}``) as ``{node: value}``."""
    return {"store": {r["node"]: r["state"] for r in body.get("store", [])},
            "directory": {r["node"]: r["replication"] for r in body.get("directory", [])},
            "memory": {r["node"]: r["memory"] for r in body.get("memory", [])},
            "nodes": {r["node"]: r["status"] for r in body.get("nodes", [])}}


def clients_add(result: UpResult, name: str, *scopes: str) -> tuple[str, str]:
    """``oxswarm clients add`` as the operator runs it (after ``oxswarm env``)."""
    args = ["oxswarm", "clients", "add", "--name", name, "--grant-type", "client_credentials"]
    for scope in scopes:
        args += ["--scope", scope]
    proc = subprocess.run(args, capture_output=True, text=True, timeout=120,
                          env=operator_env() | result.env, check=False)
    assert proc.returncode == 0, proc.stderr[-800:]
    made = json.loads(proc.stdout)
    return made["client_id"], made["client_secret"]
