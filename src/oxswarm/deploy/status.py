"""``oxswarm status``: what runs where, and how healthy it is."""

from __future__ import annotations

import ssl
from typing import Any

import httpx

from oxswarm.catalogue.reader import Catalogue
from oxswarm.config import keys
from oxswarm.config.etcd import EtcdStore
from oxswarm.config.manager import ConfigManager
from oxswarm.config.secrets import SecretBox
from oxswarm.deploy.nodestate import cgroup_memory, context_csn, mebibytes, replication_state
from oxswarm.deploy.render.stack import LDAP_PORT, LDAP_SCHEME
from oxswarm.errors import OxSwarmError


def cluster_status(deployer: Any) -> dict[str, Any]:
    """Nodes, services per node, store members, catalogue (best effort, never raises)."""
    spec = deployer.saved_spec()
    if spec is None:
        return {"cluster": {"name": deployer.cluster, "state": "not up"}}
    out: dict[str, Any] = {"cluster": {"name": spec.cluster, "hostname": spec.hostname,
                                       "image": spec.image}}
    manager = deployer.driver(spec).docker(spec.manager.name)
    try:
        out["nodes"] = {n["Hostname"]: f"{n['Status']} {n.get('ManagerStatus', '')}".strip()
                        for n in manager.json_lines("node", "ls")}
        tasks: dict[str, list[str]] = {}
        for task in manager.json_lines("stack", "ps", spec.stack, "-f",
                                       "desired-state=running"):
            tasks.setdefault(str(task.get("Node")), []).append(
                f"{str(task['Name']).split('.')[0]}: {task['CurrentState']}")
        out["services"] = tasks
    except OxSwarmError as exc:
        out["nodes"] = {"error": str(exc)}
    members: dict[str, str] = {}
    try:
        verify: ssl.SSLContext | bool = deployer.store_pki.operator.ssl_context()
    except OxSwarmError as exc:
        verify = True
        members["error"] = str(exc)
    for node in spec.nodes:
        try:
            res = httpx.post(f"https://{node.address}:2379/v3/maintenance/status", json={},
                             timeout=2.0, trust_env=False, verify=verify)
            body = res.json()
            leader = body.get("leader") == body.get("header", {}).get("member_id")
            members[node.name] = f"up, raft index {body.get('raftIndex')}" + (
                " (leader)" if leader else "")
        except (httpx.HTTPError, ValueError):
            members[node.name] = "unreachable"
    out["store"] = members
    try:
        settings = deployer.settings(spec)
        with EtcdStore.from_settings(settings) as store:
            snap = Catalogue(store, settings.prefix).snapshot()
            out["directory"] = directory_status(
                spec, ConfigManager(store, settings.prefix,
                                    SecretBox.from_file(deployer.master_key_file)))
        out["catalogue"] = {s: [f"{i.node} {i.endpoint}" for i in items]
                            for s, items in snap.items()}
    except OxSwarmError as exc:
        out["catalogue"] = {"error": str(exc)}
    if spec.driver == "lab":
        out["memory"] = {n.name: mebibytes(cgroup_memory(spec.namespace(n.name)))
                         for n in spec.nodes}
    return out


def directory_status(spec: Any, manager: ConfigManager) -> dict[str, str]:
    """Replication state per node from each slapd's contextCSN of the suffix."""
    password = manager.get_secret(keys.LDAP_ADMIN_PW)
    if password is None:
        return {"error": "no ldap_admin_pw in the store (config-init not run)"}
    suffix = manager.get(keys.LDAP_BASE_DN) or "o=gluu"
    bind_dn = manager.get(keys.LDAP_BIND_DN) or f"cn=directory manager,{suffix}"
    ca = manager.get(keys.CA_CERT)
    csns = {n.name: context_csn(f"{LDAP_SCHEME}://{n.address}:{LDAP_PORT}", bind_dn, password,
                                suffix, ca_pem=ca)
            for n in spec.nodes}
    return replication_state(csns)
