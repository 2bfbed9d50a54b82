"""The stack file for ``docker stack deploy`` (compose file format 3.8), from the spec.

Shape of the original's consul.yml, cache.yml, registrator.yml, web.yml and ldap scripts:

* ``etcd-<node>``: one member per node (Consul's role), pinned by node label, a fixed
  service name (only service names resolve on an overlay), data on the node, client port
  2379 published in host mode (the CLI's store endpoints), ``--pre-vote``.
* ``redis-<node>`` pinned, ``twemproxy`` global over all of them.
* ``ldap-<node>`` pinned, stable names; ``ldap-manager`` loads the initial data; N-way
  multi-provider replication between all of them over ldaps; ``ldaps`` on 1636
  published in host mode (the operator's CLI; no plain LDAP port anywhere).
* Redis and Twemproxy require the cache password and are never published.
* ``registrator`` global: watches its node's Docker events, keeps the health-checked
  catalogue in etcd.
* ``csync2-<node>`` pinned: the node's shared folder (its host folder, mounted at
  ``/opt/shared-shibboleth-idp``) kept identical on every node within seconds.
* ``oxauth``, ``oxtrust`` and ``oxshibboleth`` global, ``nginx`` global with 80/443
  published in host mode; oxAuth, oxTrust, the IdP and Twemproxy have a liveness health
  check so that their ``start-first`` updates wait for the new task to answer. oxTrust
  (``/identity``: the admin UI, its API, SCIM) reaches oxAuth over the overlay for its
  sign-in's back channel (discovery, token, JWKS: ``http://oxauth:8080``, every instance
  behind one name) while browsers are sent to ``https://<hostname>/oxauth/...``. The
  SAML IdP (``/idp``) does the same, and mounts the node's shared folder: its trust
  files (docs/saml.md).
* Every container's resolver retries a lost lookup after 1 s, not 5
  (:mod:`oxswarm.roles.resolver`).
* Every role but csync2 runs as the image's unprivileged user ``oxswarm``: its entrypoint
  sets the resolver options and the ownership of its folders as root, then drops
  (:mod:`oxswarm.roles.privileges`); NGINX binds 80/443 unprivileged
  (``net.ipv4.ip_unprivileged_port_start=80`` in its own network namespace), the
  registrator reaches the Docker socket through its group, the master key secret
  belongs to the user.
* ``endpoint_mode: dnsrr`` everywhere (the lab's kernel has no IPVS; real hosts may, and
  dnsrr works on both); the master key is a Swarm secret.
* With :class:`StoreTLS` (what ``oxswarm up`` deploys) the store is closed: each etcd
  member gets its certificate, every other service the cluster CA and its role's client
  certificate, all as Swarm secrets, and reaches the store at ``etcd+https://``
  (:mod:`oxswarm.deploy.storepki`).

Everything is labelled ``oxswarm.cluster=<cluster>``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from oxswarm.config.etcd_rbac import SERVICE_ROLES
from oxswarm.deploy.spec import ClusterSpec, NodeSpec
from oxswarm.deploy.swarm import LABEL_CLUSTER, LABEL_NODE
from oxswarm.roles.resolver import ENV_RESOLV_OPTIONS, RESOLV_OPTIONS

COMPOSE_VERSION = "3.8"
MASTER_KEY_SECRET = "oxswarm_master_key"
SECRET_TARGET = f"/run/secrets/{MASTER_KEY_SECRET}"
ETCD_CLIENT_PORT = 2379
ETCD_UPGRADE = "OXS_ETCD_UPGRADE"  # see oxswarm.roles.etcd
LDAP_PORT = 1636
LDAP_SCHEME = "ldaps"  # the only way to the directory, inside the overlay and from the host
# The directory as the operator's machine reaches it: published on every node in host
# mode (``oxswarm env`` prints these URLs as OXSWARM_LDAP_URLS).
OPERATOR_LDAP_SCHEME = LDAP_SCHEME
OPERATOR_LDAP_PORT = LDAP_PORT
REDIS_PORT = 6379
TWEMPROXY_PORT = 22121
OXAUTH_PORT = 8080
OXTRUST_PORT = 8082
OXSHIBBOLETH_PORT = 8086
HTTPS_PORT = 443  # each node's NGINX (host port: the load balancer's target)
DOCKER_SOCKET = "/var/run/docker.sock"
SHARED_FOLDER = "/opt/shared-shibboleth-idp"  # the IdP's files, kept identical by csync2
IDP_FOLDER = f"{SHARED_FOLDER}/idp"  # the IdP's own part of it (its trust files)
NODE_TEMPLATE = "{{.Node.Hostname}}"
# The image's unprivileged user (docker/Dockerfile); a role drops to it after what needs
# root (:mod:`oxswarm.roles.privileges`). csync2 alone stays root: it keeps the owners of
# the files it copies between nodes (the IdP's, as the original).
RUN_AS_USER = "oxswarm"
RUN_AS_UID = 10001
RUN_DIR = "/run/oxswarm"
# NGINX binds 80 and 443 inside its own network namespace as that user
UNPRIVILEGED_PORTS_FROM = 80


STORE_CA_TARGET = "store-ca.crt"
STORE_CERT_TARGET = "store.crt"
STORE_KEY_TARGET = "store.key"


@dataclass(frozen=True)
class SecretFile:
    """A file the stack hands to services as a Swarm secret (the name tells its content)."""

    name: str
    file: str


@dataclass(frozen=True)
class StoreTLS:
    """The store's credentials: the CA, a client pair per role, a pair per member node."""

    ca: SecretFile
    clients: Mapping[str, tuple[SecretFile, SecretFile]]
    members: Mapping[str, tuple[SecretFile, SecretFile]]

    def files(self) -> list[SecretFile]:
        pairs = [*self.clients.values(), *self.members.values()]
        return [self.ca, *(f for pair in pairs for f in pair)]


def member(kind: str, node: str) -> str:
    """The stable service (and DNS) name of a pinned service: ``etcd-manager``."""
    return f"{kind}-{node}"


def store_url(spec: ClusterSpec) -> str:
    """The store as containers on the overlay reach it."""
    return "etcd://" + ",".join(
        f"{member('etcd', n.name)}:{ETCD_CLIENT_PORT}" for n in spec.nodes
    )


def cache_shards(spec: ClusterSpec) -> list[str]:
    """Twemproxy's shard names, in its order (a shard per node, named after it): the
    store's ``cache_shards``, whence the services place a second copy of every entry."""
    return [n.name for n in spec.nodes]


def ldap_urls(spec: ClusterSpec) -> list[str]:
    """The directory servers as containers reach them (config value ``ldap_peers``)."""
    return [f"{LDAP_SCHEME}://{member('ldap', n.name)}:{LDAP_PORT}" for n in spec.nodes]


def operator_ldap_urls(spec: ClusterSpec) -> list[str]:
    """The directory servers as the operator's machine reaches them (node addresses)."""
    return [f"{OPERATOR_LDAP_SCHEME}://{n.address}:{OPERATOR_LDAP_PORT}" for n in spec.nodes]


def common_env(spec: ClusterSpec) -> dict[str, str]:
    return {
        "OXSWARM_STORE": store_url(spec),
        "OXSWARM_CLUSTER": spec.cluster,
        "OXSWARM_MASTER_KEY_FILE": SECRET_TARGET,
        "OXSWARM_NODE": NODE_TEMPLATE,
        ENV_RESOLV_OPTIONS: " ".join(RESOLV_OPTIONS),
    }


def _base(spec: ClusterSpec, role: str, *args: str) -> dict[str, Any]:
    return {
        "image": spec.image,
        "init": True,
        "command": [role, *args],
        "networks": [spec.network],
        "environment": common_env(spec),
        "secrets": [{"source": MASTER_KEY_SECRET, "target": MASTER_KEY_SECRET,
                     "uid": str(RUN_AS_UID), "gid": str(RUN_AS_UID), "mode": 0o400}],
        "labels": {LABEL_CLUSTER: spec.cluster},
        "stop_grace_period": "10s",
    }


def _run_as(svc: dict[str, Any], *own: str, socket: str | None = None) -> None:
    """The service's role drops to :data:`RUN_AS_USER`, owning ``own`` (and RUN_DIR)."""
    svc["environment"] |= {"OXS_RUN_AS": RUN_AS_USER,
                           "OXS_RUN_AS_OWN": ",".join([*own, RUN_DIR])}
    if socket is not None:
        svc["environment"]["OXS_RUN_AS_SOCKET"] = socket


def _deploy(spec: ClusterSpec, node: NodeSpec | None,
            order: str = "stop-first") -> dict[str, Any]:
    """Swarm's ``deploy`` section. oxAuth and Twemproxy (global, no host port) update
    ``start-first``: on each node the new task runs (and registers) before the old stops,
    so that updates of several global services at once never empty a node of oxAuth."""
    deploy: dict[str, Any] = {
        "endpoint_mode": "dnsrr",
        "labels": {LABEL_CLUSTER: spec.cluster},
        "restart_policy": {"condition": "any", "delay": "2s"},
    }
    if node is None:
        deploy["mode"] = "global"
        deploy["update_config"] = {"parallelism": 1, "delay": "2s", "order": order}
    else:
        deploy["mode"] = "replicated"
        deploy["replicas"] = 1
        deploy["placement"] = {"constraints": [f"node.labels.{LABEL_NODE} == {node.name}"]}
    return deploy


def _bind(source: str, target: str, read_only: bool = False) -> dict[str, Any]:
    mount: dict[str, Any] = {"type": "bind", "source": source, "target": target}
    if read_only:
        mount["read_only"] = True
    return mount


def _host_port(target: int, published: int | None = None) -> dict[str, Any]:
    return {"target": target, "published": published or target, "protocol": "tcp",
            "mode": "host"}


def _liveness(port: int, path: str | None = None) -> dict[str, Any]:
    """Docker's health check of a global service: its port answers (TCP), or with
    ``path`` answers HTTP at all (any status: a 503 naming a dependency is alive).

    Swarm stops the old task of a ``start-first`` update only once the new one is
    healthy, and goes on to the next node of any update only then; without a check,
    "running" came as the process started, and each node had no oxAuth for the seconds
    it took to become ready. Liveness only: a dependency's outage must not make Swarm
    restart every oxAuth (the registrator's probe, which does check dependencies, takes
    it out of the catalogue). ``bash``'s ``/dev/tcp``: no
    interpreter started every 2 s; Docker's ``timeout`` ends a check that hangs."""
    script = f"exec 3<>/dev/tcp/127.0.0.1/{port}"
    if path is not None:
        # no shell variable: the stack file's strings are interpolated ($)
        script += (f" && printf 'GET {path} HTTP/1.0\\r\\n\\r\\n' >&3"
                   " && head -c 7 <&3 | grep -q 'HTTP/1[.]'")
    return {"test": ["CMD", "bash", "-c", script], "interval": "2s", "timeout": "3s",
            "retries": 3, "start_period": "120s"}


def _catalogue_labels(service: str, port: int, health: str) -> dict[str, str]:
    """Container labels the registrator reads (see :mod:`oxswarm.catalogue.docker_source`)."""
    return {"oxswarm.service": service, "oxswarm.port": str(port), "oxswarm.health": health}


def etcd_service(spec: ClusterSpec, node: NodeSpec) -> dict[str, Any]:
    svc = _base(spec, "etcd")
    svc["environment"] |= {
        "OXS_ETCD_NAME": member("etcd", node.name),
        "OXS_ETCD_MEMBERS": ",".join(member("etcd", n.name) for n in spec.nodes),
        "OXS_ETCD_TOKEN": f"oxswarm-{spec.cluster}",
    }
    svc["hostname"] = member("etcd", node.name)
    svc["volumes"] = [_bind(f"{node.data_dir}/etcd", "/var/lib/etcd")]
    _run_as(svc, "/var/lib/etcd")
    svc["ports"] = [_host_port(ETCD_CLIENT_PORT)]
    svc["deploy"] = _deploy(spec, node)
    return svc


def redis_service(spec: ClusterSpec, node: NodeSpec) -> dict[str, Any]:
    svc = _base(spec, "redis")
    svc["hostname"] = member("redis", node.name)
    svc["volumes"] = [_bind(f"{node.data_dir}/redis", "/var/lib/redis")]
    _run_as(svc, "/var/lib/redis")
    svc["labels"] |= _catalogue_labels("redis", REDIS_PORT, "tcp")
    svc["deploy"] = _deploy(spec, node)
    return svc


def ldap_service(spec: ClusterSpec, node: NodeSpec) -> dict[str, Any]:
    svc = _base(spec, "ldap")
    svc["environment"] |= {
        "OXS_LDAP_SERVER_ID": str(node.server_id),
        "OXS_LDAP_PEERS": ",".join(
            f"{LDAP_SCHEME}://{member('ldap', n.name)}:{LDAP_PORT}"
            for n in spec.nodes if n != node
        ),
        "OXS_LDAP_SEED": "1" if node == spec.manager else "0",
        "OXS_LDAP_PORT": str(LDAP_PORT),
        # the names its certificate answers to: its service name, and the node's address
        # (the operator's CLI reaches the published port there)
        "OXS_LDAP_NAMES": f"{member('ldap', node.name)},{node.address}",
    }
    svc["hostname"] = member("ldap", node.name)
    svc["volumes"] = [_bind(f"{node.data_dir}/ldap", "/var/lib/oxswarm/ldap")]
    _run_as(svc, "/var/lib/oxswarm/ldap", "/run/slapd")
    svc["ports"] = [_host_port(LDAP_PORT, OPERATOR_LDAP_PORT)]
    svc["labels"] |= _catalogue_labels("ldap", LDAP_PORT, "tcp")
    svc["deploy"] = _deploy(spec, node)
    return svc


def csync2_service(spec: ClusterSpec, node: NodeSpec) -> dict[str, Any]:
    """The node's csync2 member: the shared folder is the node's host folder."""
    svc = _base(spec, "csync2")
    svc["environment"] |= {
        "OXS_CSYNC2_NAME": member("csync2", node.name),
        "OXS_CSYNC2_HOSTS": ",".join(member("csync2", n.name) for n in spec.nodes),
        "OXS_CSYNC2_FOLDER": SHARED_FOLDER,
    }
    svc["hostname"] = member("csync2", node.name)
    svc["volumes"] = [_bind(f"{node.data_dir}/shared", SHARED_FOLDER),
                      _bind(f"{node.data_dir}/csync2", "/var/lib/csync2")]
    # a cut peer fails a connect in ~7 s, not ~2 min, and a sync under way with a peer
    # that vanished fails in ~13 s, not ~15 min: the serial csync2 -x goes on
    svc["sysctls"] = {"net.ipv4.tcp_syn_retries": 2, "net.ipv4.tcp_retries2": 5}
    svc["deploy"] = _deploy(spec, node)
    return svc


def docker_socket_source(spec: ClusterSpec) -> str:
    """Each node's Docker socket (a lab node's lives in its own folder: a template)."""
    if spec.driver == "lab":
        folder = spec.manager.data_dir.rsplit("/", 2)[0]  # <state>/n
        return f"{folder}/{NODE_TEMPLATE}/docker.sock"
    return DOCKER_SOCKET


def shared_source(spec: ClusterSpec) -> str:
    """Each node's shared folder, as a global service binds it (a lab node's host folder
    is under its own folder: a template). The role creates and owns its ``idp`` part."""
    if spec.driver == "lab":
        folder = spec.manager.data_dir.rsplit("/", 2)[0]  # <state>/n
        return f"{folder}/{NODE_TEMPLATE}/host/shared"
    return f"{spec.manager.data_dir}/shared"


def global_services(spec: ClusterSpec) -> dict[str, dict[str, Any]]:
    registrator = _base(spec, "registrator")
    registrator["environment"] |= {"OXS_DOCKER_HOST": f"unix://{DOCKER_SOCKET}",
                                   "OXS_NETWORK": spec.network}
    registrator["volumes"] = [_bind(docker_socket_source(spec), DOCKER_SOCKET)]
    # the Docker socket is root's power: the registrator joins its group, not uid 0
    _run_as(registrator, socket=DOCKER_SOCKET)
    # stop-first: two registrators of one node would hand its records' leases back and forth
    registrator["deploy"] = _deploy(spec, None)

    twemproxy = _base(spec, "twemproxy")
    twemproxy["environment"] |= {
        "OXS_REDIS_SHARDS": ",".join(f"{n}={member('redis', n)}" for n in cache_shards(spec))
    }
    twemproxy["labels"] |= _catalogue_labels("twemproxy", TWEMPROXY_PORT, "tcp")
    _run_as(twemproxy)
    twemproxy["healthcheck"] = _liveness(TWEMPROXY_PORT)
    twemproxy["deploy"] = _deploy(spec, None, "start-first")

    oxauth = _base(spec, "oxauth", "--bind", f"0.0.0.0:{OXAUTH_PORT}", "--issuer",
                   f"https://{spec.hostname}")
    oxauth["environment"] |= {"OXSWARM_CACHE": f"twemproxy:{TWEMPROXY_PORT}"}
    oxauth["labels"] |= _catalogue_labels("oxauth", OXAUTH_PORT, "/oxauth/health")
    _run_as(oxauth)
    oxauth["healthcheck"] = _liveness(OXAUTH_PORT, "/oxauth/health")
    oxauth["deploy"] = _deploy(spec, None, "start-first")

    nginx = _base(spec, "nginx")
    nginx["environment"] |= {"OXS_HOSTNAME": spec.hostname}
    if spec.lab is not None:  # the lab's load balancer: its X-Forwarded-For is trusted
        nginx["environment"]["OXS_REAL_IP_FROM"] = spec.lab.lb_ip
    nginx["ports"] = [_host_port(80), _host_port(HTTPS_PORT)]
    _run_as(nginx)
    nginx["sysctls"] = {"net.ipv4.ip_unprivileged_port_start": UNPRIVILEGED_PORTS_FROM}
    # stop-first (its host ports): the check makes Swarm move to the next node only once
    # this node's new NGINX accepts on 443. Without it "running" came as the container
    # started, seconds before NGINX listened (the store login first), so the next node's
    # NGINX stopped while this one's was still down; the load balancer marks a refusing
    # node down for fail_timeout, and with every node marked down at once it answered
    # 502 "no live upstreams" (9 token requests in 2 s of a CI roll).
    nginx["healthcheck"] = _liveness(HTTPS_PORT)
    nginx["deploy"] = _deploy(spec, None)
    return {"registrator": registrator, "twemproxy": twemproxy, "oxauth": oxauth,
            "oxtrust": oxtrust_service(spec), "oxshibboleth": oxshibboleth_service(spec),
            "nginx": nginx}


def oxtrust_service(spec: ClusterSpec) -> dict[str, Any]:
    """oxTrust on every node: stateless (UI sessions in the cache and the directory), its
    own store certificate (role ``oxtrust``), signed in through oxAuth: the browser at the
    public URL, the back channel to ``oxauth`` on the overlay."""
    oxtrust = _base(spec, "oxtrust", "--bind", f"0.0.0.0:{OXTRUST_PORT}", "--public-url",
                    f"https://{spec.hostname}", "--oxauth-url", f"http://oxauth:{OXAUTH_PORT}")
    oxtrust["environment"] |= {"OXSWARM_CACHE": f"twemproxy:{TWEMPROXY_PORT}"}
    oxtrust["labels"] |= _catalogue_labels("oxtrust", OXTRUST_PORT, "/identity/health")
    _run_as(oxtrust)
    oxtrust["healthcheck"] = _liveness(OXTRUST_PORT, "/identity/health")
    oxtrust["deploy"] = _deploy(spec, None, "start-first")
    return oxtrust


def oxshibboleth_service(spec: ClusterSpec) -> dict[str, Any]:
    """The SAML IdP on every node: stateless (request state in the cache), its own store
    certificate (role ``oxshibboleth``), signing people in through oxAuth (the browser at
    the public URL, the back channel to ``oxauth`` on the overlay), its trust files in the
    node's shared folder (``idp/trusts``, written from the directory, copied by csync2)."""
    idp = _base(spec, "oxshibboleth", "--bind", f"0.0.0.0:{OXSHIBBOLETH_PORT}", "--public-url",
                f"https://{spec.hostname}", "--oxauth-url", f"http://oxauth:{OXAUTH_PORT}",
                "--trust-folder", f"{IDP_FOLDER}/trusts")
    idp["environment"] |= {"OXSWARM_CACHE": f"twemproxy:{TWEMPROXY_PORT}"}
    idp["labels"] |= _catalogue_labels("oxshibboleth", OXSHIBBOLETH_PORT, "/idp/health")
    idp["volumes"] = [_bind(shared_source(spec), SHARED_FOLDER)]
    _run_as(idp, IDP_FOLDER)
    idp["healthcheck"] = _liveness(OXSHIBBOLETH_PORT, "/idp/health")
    idp["deploy"] = _deploy(spec, None, "start-first")
    return idp


def _secret(source: SecretFile, target: str) -> dict[str, Any]:
    """A store credential, owned by the user the roles drop to (as the master key)."""
    return {"source": source.name, "target": target, "uid": str(RUN_AS_UID),
            "gid": str(RUN_AS_UID), "mode": 0o400}


# the roles that open the store, each with its etcd role's rights (Redis and Twemproxy
# read the cache password and follow its rotation: read-only rights on config/ and secret/)
STORE_CLIENTS = frozenset(SERVICE_ROLES)


def close_store(services: dict[str, dict[str, Any]], spec: ClusterSpec,
                tls: StoreTLS) -> None:
    """Give every service that opens the store its credentials and ``etcd+https://``."""
    run = "/run/secrets/"
    for svc in services.values():
        role = svc["command"][0]
        env = svc["environment"]
        env["OXSWARM_STORE"] = store_url(spec).replace("etcd://", "etcd+https://")
        if role not in STORE_CLIENTS and role != "etcd":
            continue
        if role == "etcd":
            cert, key = tls.members[env["OXS_ETCD_NAME"].removeprefix("etcd-")]
            targets = {"OXS_ETCD_CERT_FILE": "etcd.crt", "OXS_ETCD_KEY_FILE": "etcd.key",
                       "OXS_ETCD_CA_FILE": STORE_CA_TARGET}
        else:
            cert, key = tls.clients[role]
            targets = {"OXSWARM_STORE_CERT_FILE": STORE_CERT_TARGET,
                       "OXSWARM_STORE_KEY_FILE": STORE_KEY_TARGET,
                       "OXSWARM_STORE_CA_FILE": STORE_CA_TARGET}
        env |= {name: run + target for name, target in targets.items()}
        svc["secrets"] = [*svc["secrets"], *(
            _secret(source, target) for source, target in zip(
                (cert, key, tls.ca), targets.values(), strict=True))]


def render_stack(spec: ClusterSpec, master_key_file: str,
                 images: Mapping[str, str] | None = None,
                 store_tls: StoreTLS | None = None,
                 etcd_upgrade: str | None = None) -> dict[str, Any]:
    """The whole stack as a compose dict (``json.dumps`` of it is a valid stack file).

    ``images``: service -> image, for services kept on another image than ``spec.image``
    (the stateful ones while a new image rolls through them one at a time).
    ``store_tls``: the store's credentials (None: an open store, for tests of the shape).
    ``etcd_upgrade``: the members' phase while an open store is closed
    (:mod:`oxswarm.deploy.storeupgrade`): plain and TLS listeners side by side.
    """
    services: dict[str, dict[str, Any]] = {}
    for node in spec.nodes:
        services[member("etcd", node.name)] = etcd_service(spec, node)
    for node in spec.nodes:
        services[member("redis", node.name)] = redis_service(spec, node)
    for node in spec.nodes:
        services[member("ldap", node.name)] = ldap_service(spec, node)
    for node in spec.nodes:
        services[member("csync2", node.name)] = csync2_service(spec, node)
    services |= global_services(spec)
    for name, image in (images or {}).items():
        services[name]["image"] = image
    secrets: dict[str, Any] = {MASTER_KEY_SECRET: {"file": master_key_file}}
    if store_tls is not None:
        close_store(services, spec, store_tls)
        secrets |= {f.name: {"file": f.file} for f in store_tls.files()}
        if etcd_upgrade is not None:
            for node in spec.nodes:
                services[member("etcd", node.name)]["environment"][ETCD_UPGRADE] = etcd_upgrade
    return {
        "version": COMPOSE_VERSION,
        "services": services,
        "networks": {spec.network: {"external": True}},
        "secrets": secrets,
    }


def stack_text(spec: ClusterSpec, master_key_file: str,
               images: Mapping[str, str] | None = None,
               store_tls: StoreTLS | None = None, etcd_upgrade: str | None = None) -> str:
    """The stack file's text: JSON, which is YAML, so ``docker stack`` reads it as is."""
    stack = render_stack(spec, master_key_file, images, store_tls, etcd_upgrade)
    return json.dumps(stack, indent=2, sort_keys=False) + "\n"
