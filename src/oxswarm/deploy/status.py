"""``oxswarm status``: what runs where, and how healthy it is.

:func:`cluster_status` gathers it as one JSON-ready structure of rows (``--json`` prints
it as is; :mod:`oxswarm.cli.status_view` draws the same rows as tables)::

    cluster:   {name, hostname, image}            ({name, state: "not up"} without one)
    nodes:     [{node, status, availability, manager}]
    services:  [{node, service, state, since}]    (docker stack ps: "Running 2 hours ago")
    store:     [{node, state, raft_index, leader}]
    directory: [{node, replication}]
    catalogue: [{service, node, endpoint}]
    memory:    [{node, memory}]                   (lab driver only: "123 MiB")
    errors:    {section: message}                 (what could not be read; best effort)

The parsing of Docker's and etcd's answers (:func:`node_rows`, :func:`service_rows`,
:func:`store_row`) is pure, tested on fixed answers.
"""

from __future__ import annotations

import ssl
from collections.abc import Iterable, Mapping
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

Row = dict[str, Any]


def node_rows(listed: Iterable[Mapping[str, Any]]) -> list[Row]:
    """``docker node ls`` JSON lines to rows."""
    return [{"node": str(n.get("Hostname", "")), "status": str(n.get("Status", "")),
             "availability": str(n.get("Availability", "")),
             "manager": str(n.get("ManagerStatus", "") or "-")}
            for n in sorted(listed, key=lambda n: str(n.get("Hostname", "")))]


def service_rows(tasks: Iterable[Mapping[str, Any]], stack: str = "") -> list[Row]:
    """``docker stack ps`` JSON lines to rows: the service without the stack's prefix
    and the task's slot, ``CurrentState`` split into its state and how long ago."""
    rows = []
    for task in tasks:
        name = str(task.get("Name", "")).split(".")[0].removeprefix(f"{stack}_")
        state, _, since = str(task.get("CurrentState", "")).partition(" ")
        rows.append({"node": str(task.get("Node", "")), "service": name,
                     "state": state, "since": since})
    return sorted(rows, key=lambda r: (r["node"], r["service"]))


def store_row(node: str, body: Mapping[str, Any] | None) -> Row:
    """An etcd member's ``/v3/maintenance/status`` answer (None: unreachable) as a row."""
    if body is None:
        return {"node": node, "state": "unreachable", "raft_index": None, "leader": False}
    leader = body.get("leader") == body.get("header", {}).get("member_id")
    index = body.get("raftIndex")
    return {"node": node, "state": "up", "raft_index": int(index) if index else None,
            "leader": leader}


def cluster_status(deployer: Any) -> dict[str, Any]:
    """Nodes, services per node, store members, directory, catalogue (best effort, never
    raises: what cannot be read is named under ``errors``)."""
    spec = deployer.saved_spec()
    if spec is None:
        return {"cluster": {"name": deployer.cluster, "state": "not up"}}
    out: dict[str, Any] = {"cluster": {"name": spec.cluster, "hostname": spec.hostname,
                                       "image": spec.image},
                           "nodes": [], "services": [], "store": [], "directory": [],
                           "catalogue": []}
    errors: dict[str, str] = {}
    manager = deployer.driver(spec).docker(spec.manager.name)
    try:
        out["nodes"] = node_rows(manager.json_lines("node", "ls"))
        out["services"] = service_rows(manager.json_lines(
            "stack", "ps", spec.stack, "-f", "desired-state=running"), spec.stack)
    except OxSwarmError as exc:
        errors["nodes"] = str(exc)
    try:
        verify: ssl.SSLContext | bool = deployer.store_pki.operator.ssl_context()
    except OxSwarmError as exc:
        verify = True
        errors["store"] = str(exc)
    for node in spec.nodes:
        try:
            res = httpx.post(f"https://{node.address}:2379/v3/maintenance/status", json={},
                             timeout=2.0, trust_env=False, verify=verify)
            out["store"].append(store_row(node.name, res.json()))
        except (httpx.HTTPError, ValueError):
            out["store"].append(store_row(node.name, None))
    try:
        settings = deployer.settings(spec)
        with EtcdStore.from_settings(settings) as store:
            snap = Catalogue(store, settings.prefix).snapshot()
            replication = directory_status(
                spec, ConfigManager(store, settings.prefix,
                                    SecretBox.from_file(deployer.master_key_file)))
        if "error" in replication:
            errors["directory"] = replication["error"]
        else:
            out["directory"] = [{"node": n, "replication": state}
                                for n, state in replication.items()]
        out["catalogue"] = [{"service": s, "node": i.node, "endpoint": i.endpoint}
                            for s, items in sorted(snap.items()) for i in items]
    except OxSwarmError as exc:
        errors["catalogue"] = str(exc)
    if spec.driver == "lab":
        out["memory"] = [{"node": n.name,
                          "memory": mebibytes(cgroup_memory(spec.namespace(n.name)))}
                         for n in spec.nodes]
    if errors:
        out["errors"] = errors
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
