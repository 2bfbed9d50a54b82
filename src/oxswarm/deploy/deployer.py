"""``oxswarm up`` / ``down``: reconcile a whole cluster, step by step, idempotently.

up: install what is missing -> master key -> nodes (driver) -> image -> the store's CA and
certificates (:mod:`oxswarm.deploy.storepki`) -> stack (validated with ``docker stack
config``, deployed) -> store quorum -> the store's users and rights (etcd RBAC, auth on)
-> config-init (from the same CA) -> ``ldap_peers`` -> directory's initial data -> load
balancer -> wait until it serves. Each step compares and acts; a second ``up`` on a
healthy cluster changes nothing. A cluster deployed with an open store is closed first,
by rolling (:mod:`oxswarm.deploy.storeupgrade`). ``rotate_store_certs``: new client
certificates, their users added before the services roll onto them, the old users deleted
after.
"""

from __future__ import annotations

import json
import logging
import secrets
import ssl
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from oxswarm.config import keys
from oxswarm.config.etcd import EtcdStore
from oxswarm.config.manager import ConfigManager
from oxswarm.config.secrets import SecretBox, create_key_file
from oxswarm.deploy import install
from oxswarm.deploy.docker import Docker
from oxswarm.deploy.image import BuildResult, ImageBuilder
from oxswarm.deploy.lab.driver import LabDriver
from oxswarm.deploy.lb import LoadBalancer
from oxswarm.deploy.operator_env import operator_env
from oxswarm.deploy.render.stack import LDAP_PORT, LDAP_SCHEME, cache_shards, ldap_urls
from oxswarm.deploy.runner import Runner, SubprocessRunner, clean_env
from oxswarm.deploy.spec import ClusterSpec, lab_spec, ssh_spec
from oxswarm.deploy.ssh import SshDriver
from oxswarm.deploy.stacksteps import StackSteps
from oxswarm.deploy.swarm import OVERLAY_POOL
from oxswarm.errors import DeployError, InvalidInput, OxSwarmError, Unavailable
from oxswarm.local.process import tcp_open
from oxswarm.roles.wait import wait_for
from oxswarm.settings import Settings

log = logging.getLogger(__name__)

STATE_ROOT = Path("/var/lib/oxswarm")
Step = Callable[[str], None]
Driver = LabDriver | SshDriver


def _quiet(_: str) -> None:
    return None


def default_params(hostname: str) -> dict[str, str]:
    """config-init answers when no ``--params`` file is given (a random admin password)."""
    password = "Ox-" + secrets.token_urlsafe(12) + "7a"
    return {"hostname": hostname, "country_code": "US", "state": "Texas", "city": "Austin",
            "admin_email": f"admin@{hostname.partition('.')[2] or hostname}", "org_name": "OxSwarm",
            "admin_pw": password}


@dataclass
class UpResult:
    """What ``oxswarm up`` prints (``--json``: this, as one object)."""

    url: str
    issuer: str
    identity_url: str  # oxTrust's root: the admin UI (user admin), its API, SCIM
    idp_metadata_url: str  # the SAML IdP's metadata, which is also its entityID
    ca_file: str
    nodes: dict[str, str]
    store: str
    cluster: str
    master_key_file: str
    admin_credentials: str
    load_balancer: str | None  # the lab's; an ssh cluster: the operator's own (DNS, LB)
    image: str
    test_client: str
    changes: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)  # what `oxswarm env` prints

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def discovery(address: str, hostname: str, ca_file: Path,
              path: str = "/.well-known/openid-configuration", expect: str = "issuer") -> bool:
    """True when ``https://address{path}`` answers 200 for ``hostname`` (the discovery
    document; with ``path="/identity/health"``, oxTrust behind that NGINX)."""
    url = f"https://{address}{path}"
    try:
        with httpx.Client(verify=ssl.create_default_context(cafile=str(ca_file)),
                          timeout=5.0, trust_env=False) as c:
            res = c.get(url, headers={"Host": hostname}, extensions={"sni_hostname": hostname})
    except httpx.HTTPError as exc:
        raise Unavailable(f"{url}: {exc}") from exc
    if res.status_code == 200 and expect in res.text:
        return True
    raise Unavailable(f"{url}: HTTP {res.status_code}")


def oxauth_networks(spec: ClusterSpec) -> dict[str, str]:
    """The cluster's networks as oxAuth's policy names them: the proxies in front of it
    (each node's NGINX reaches oxAuth over the overlay; the lab's load balancer) and the
    cluster's own addresses, which server-side fetches never reach."""
    lb = [f"{spec.lab.lb_ip}/32"] if spec.lab is not None else []
    nodes = [f"{node.address}/32" for node in spec.nodes]
    return {
        keys.OXAUTH_TRUSTED_PROXIES: ",".join([OVERLAY_POOL, *lb]),
        keys.OXAUTH_FETCH_DENY: ",".join(dict.fromkeys([OVERLAY_POOL, *nodes, *lb])),
    }


class Deployer(StackSteps):
    """One cluster's deployment; its files live under ``state_dir``."""

    def __init__(self, *, cluster: str = "oxswarm", state_dir: Path | None = None,
                 runner: Runner | None = None) -> None:
        self.cluster = cluster
        self.state_dir = state_dir or STATE_ROOT / cluster
        self.runner = runner or SubprocessRunner()

    # -- files -------------------------------------------------------------------
    @property
    def spec_file(self) -> Path:
        return self.state_dir / "cluster.json"

    @property
    def master_key_file(self) -> Path:
        return self.state_dir / "master.key"

    def saved_spec(self) -> ClusterSpec | None:
        try:
            return ClusterSpec.model_validate_json(self.spec_file.read_text())
        except (OSError, ValueError):
            return None

    def spec_for(self, nodes: int, hostname: str, image: str = "pending") -> ClusterSpec:
        return lab_spec(nodes=nodes, state_dir=str(self.state_dir), cluster=self.cluster,
                        hostname=hostname, image=image)

    def ssh_spec_for(self, hosts: list[str], hostname: str, ssh_config: Path | None,
                     registry: str | None) -> ClusterSpec:
        """The ssh cluster's spec; without ``--host``, the saved one (a second ``up``)."""
        saved = self.saved_spec()
        if not hosts:
            if saved is None or saved.driver != "ssh":
                raise InvalidInput("host: the ssh driver needs --host NAME=ssh://user@addr "
                                   "(one per node, manager first)", field="host")
            return saved.model_copy(update={"hostname": hostname} if hostname else {})
        return ssh_spec(hosts=hosts, cluster=self.cluster, hostname=hostname, image="pending",
                        ssh_config=str(ssh_config.resolve()) if ssh_config else None,
                        registry=registry)

    def driver(self, spec: ClusterSpec) -> Driver:
        if spec.driver == "ssh":
            return SshDriver(spec, self.state_dir, self.runner)
        return LabDriver(spec, self.state_dir, self.runner)

    @property
    def ca_file(self) -> Path:
        """The cluster CA's certificate, for clients to trust."""
        return self.state_dir / "ca.crt"

    def settings(self, spec: ClusterSpec) -> Settings:
        """The operator's settings: the closed store with the operator's certificate."""
        creds = self.store_pki.operator
        return Settings.load(env={}, store=spec.store_url(), cluster=spec.cluster,
                             master_key_file=str(self.master_key_file),
                             store_ca_file=creds.ca_file, store_cert_file=creds.cert_file,
                             store_key_file=creds.key_file)

    # -- up ------------------------------------------------------------------------
    def up(self, *, nodes: int = 3, hostname: str = "id.oxswarm.test",
           params_file: Path | None = None, params: Mapping[str, str] | None = None,
           step: Step = _quiet, driver_name: str = "lab", hosts: list[str] | None = None,
           ssh_config: Path | None = None, registry: str | None = None,
           rotate_store_certs: bool = False) -> UpResult:
        timings: dict[str, float] = {}
        changes: list[str] = []
        started = time.monotonic()

        def timed(name: str, since: float) -> float:
            now = time.monotonic()
            timings[name] = round(now - since, 1)
            return now

        t = started
        if driver_name == "ssh":
            spec = self.ssh_spec_for(list(hosts or []), hostname, ssh_config, registry)
        else:
            spec = self.spec_for(nodes, hostname)
        changes += self.host(step)
        driver = self.driver(spec)
        changes += driver.up(step)
        t = timed("nodes", t)
        build = self.image(driver, changes, step)
        timings["image_size_mb"] = round(build.size_bytes / 1e6, 1)
        t = timed("image", t)
        spec = spec.model_copy(update={"image": build.image})
        self.spec_file.write_text(spec.model_dump_json(indent=2) + "\n")
        upgrade = self.open_store_running(driver.docker(spec.manager.name), spec)
        if upgrade:  # deployed before the store was closed: close it by rolling
            changes += self.export_store_ca(spec, step)
        changes += self.store_pki.ensure(spec)
        if not upgrade:  # an open store gets its users while it is closed (upgrade_store)
            changes += self.users_before_stack(spec, driver, step)
        if rotate_store_certs and not upgrade:
            changes += self.rotate_store_certs(spec, step)
        if upgrade:
            changes += self.upgrade_store(spec, driver, step)
        changes += self.deploy_stack(spec, driver, step)
        t = timed("deploy", t)
        settings = self.settings(spec)
        step("config store quorum")
        self.wait_store(settings, step=step)
        if rotate_store_certs:
            step("waiting for every service to roll onto its new store certificate")
            self.wait_rolled(spec, driver)
        changes += self.store_auth(settings, prune=rotate_store_certs)
        changes += self.config_init(spec, settings, hostname, params_file, step, params=params)
        t = timed("config_init", t)
        changes += self.directory_init(spec, settings, step)
        changes += self.test_client(spec, settings, step)
        t = timed("directory_init", t)
        lb = LoadBalancer(spec, self.state_dir / "lb", self.runner) if spec.lab else None
        changes += self.load_balancer(lb, settings, step)
        step("waiting for the cluster to serve" + (" through the load balancer" if lb else ""))
        self.wait_serving(spec, lb)
        timed("serving", t)
        timings["total"] = round(time.monotonic() - started, 1)
        return self.result(spec, lb, build.image, changes, timings, params_file=params_file)

    def host(self, step: Step) -> list[str]:
        """This machine: the packages ``up`` needs, the state folder, the master key."""
        changes: list[str] = []
        step("host packages")
        missing = install.missing_packages()
        if missing:
            step(f"apt-get install {' '.join(missing)}")
            install.install(self.runner, missing)
            changes.append(f"installed {' '.join(missing)}")
        self.state_dir.mkdir(parents=True, exist_ok=True)
        if not self.master_key_file.exists():
            create_key_file(self.master_key_file)
            changes.append(f"master key {self.master_key_file}")
        return changes

    def image(self, driver: Driver, changes: list[str], step: Step) -> BuildResult:
        """Build (when the tree changed) and bring the image to every node."""
        builder = ImageBuilder(runner=self.runner)
        registry_endpoint = (driver.registry.endpoint if isinstance(driver, LabDriver)
                             else driver.image_registry())
        build = builder.build(registry_endpoint, step)
        if build.built:
            changes.append(f"image {build.image}")
        if isinstance(driver, SshDriver):
            changes += driver.distribute(builder.docker, build.image, step)
        return build

    def wait_store(self, settings: Settings, timeout: float = 300.0,
                   step: Step = _quiet) -> None:
        said = [0.0]

        def probe() -> bool | None:
            try:
                with EtcdStore.from_settings(settings) as store:
                    store.put(f"{settings.prefix}/deploy/probe", b"1")
                    return True
            except OxSwarmError as exc:
                if time.monotonic() - said[0] >= 15.0:  # what it waits for, as it waits
                    step(f"config store not ready yet: {exc}")
                    said[0] = time.monotonic()
                raise

        wait_for("the config store (etcd quorum)", probe, timeout=timeout, interval=2.0)

    def _cli(self, settings: Settings, *args: str, timeout: float = 300.0) -> str:
        argv = [sys.executable, "-c", "from oxswarm.cli.main import main; main()", *args,
                "--store", settings.store_url, "--cluster", settings.cluster,
                "--master-key-file", str(self.master_key_file)]
        for option, path in (("--store-ca-file", settings.store_ca_file),
                             ("--store-cert-file", settings.store_cert_file),
                             ("--store-key-file", settings.store_key_file)):
            argv += [option, str(path)] if path else []
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout,
                              env=clean_env(), check=False)
        if proc.returncode != 0:
            raise DeployError(f"oxswarm {' '.join(args[:2])}: {proc.stderr.strip()[-400:]}")
        return proc.stdout

    def config_init(self, spec: ClusterSpec, settings: Settings, hostname: str,
                    params_file: Path | None, step: Step, *,
                    params: Mapping[str, str] | None = None) -> list[str]:
        changes: list[str] = []
        # auth was just enabled: every service logs in at once (a bcrypt check each), and
        # on a loaded machine the operator's first login timed out and failed up (2 lab
        # runs of 3 under a load of 13-28 on 2 cores); wait for it as for the quorum
        self.wait_store(settings, step=step)
        with EtcdStore.from_settings(settings) as store:
            manager = ConfigManager(store, settings.prefix, SecretBox.from_file(
                self.master_key_file))
            initialised = manager.is_initialised()
            if not initialised:
                step("config-init (oxswarm config generate)")
                if params_file is None:
                    params_file = self.state_dir / "params.json"
                    if not params_file.exists():
                        params_file.touch(mode=0o600)
                        answers = dict(params) if params else default_params(hostname)
                        params_file.write_text(json.dumps(answers, indent=2))
                pki = self.store_pki
                self._cli(settings, "config", "generate", "--params", str(params_file),
                          "--ca-cert-file", str(pki.ca_file), "--ca-key-file",
                          str(pki.ca_key_file))
                changes.append("config generated")
            peers = json.dumps(ldap_urls(spec))
            if manager.get(keys.LDAP_PEERS) != peers:
                manager.set(keys.LDAP_PEERS, peers)
                changes.append("ldap_peers set")
            shards = json.dumps(cache_shards(spec))
            if manager.get(keys.CACHE_SHARDS) != shards:  # where the cache keeps 2 copies
                manager.set(keys.CACHE_SHARDS, shards)
                changes.append("cache_shards set")
            for name, value in oxauth_networks(spec).items():
                if (manager.get(name) or "[]").strip() == "[]":  # an operator's value stays
                    manager.set(name, value)
                    changes.append(f"{name} set")
            if manager.get_secret(keys.REDIS_PW) is None:  # a cluster older than cache auth
                manager.set_secret(keys.REDIS_PW, secrets.token_urlsafe(24))
                changes.append("redis_pw generated")
        return changes

    def directory_init(self, spec: ClusterSpec, settings: Settings, step: Step) -> list[str]:
        step("directory: waiting for ldap-manager")
        address = spec.manager.address
        wait_for(f"ldap on {address}:{LDAP_PORT}",
                 lambda: tcp_open(address, LDAP_PORT, timeout=1.0) or None, timeout=300)
        step("directory: initial data (oxswarm ldap init)")
        out = wait_for("oxswarm ldap init", lambda: self._try_ldap_init(settings, address),
                       timeout=180, interval=3.0)
        added = [line for line in out.splitlines() if line.startswith("added ")]
        return [f"directory: {len(added)} entries added"] if added else []

    @property
    def test_client_file(self) -> Path:
        """``client_id:client_secret`` of the test client (mode 0600)."""
        return self.state_dir / "test-client"

    def test_client(self, spec: ClusterSpec, settings: Settings, step: Step) -> list[str]:
        """A ``client_credentials`` client to try the cluster with (made once, kept)."""
        ldap = ["--ldap-url", f"{LDAP_SCHEME}://{spec.manager.address}:{LDAP_PORT}"]
        file = self.test_client_file
        if file.is_file():
            client_id = file.read_text().partition(":")[0]
            try:
                self._cli(settings, "clients", "show", client_id, *ldap)
                return []
            except DeployError as exc:  # a new directory: make it again
                log.info("test client %s not found: %s", client_id, exc)
        step("test client (oxswarm clients add)")
        made = json.loads(self._cli(settings, "clients", "add", "--name",
                                    "OxSwarm test client", "--grant-type",
                                    "client_credentials", *ldap))
        file.unlink(missing_ok=True)
        file.touch(mode=0o600)
        file.write_text(f"{made['client_id']}:{made['client_secret']}")
        return [f"test client {made['client_id']} ({file})"]

    def _try_ldap_init(self, settings: Settings, address: str) -> str | None:
        try:
            return self._cli(settings, "ldap", "init", "--url",
                             f"{LDAP_SCHEME}://{address}:{LDAP_PORT}")
        except DeployError as exc:
            log.info("ldap init not yet: %s", exc)
            return None

    def load_balancer(self, lb: LoadBalancer | None, settings: Settings,
                      step: Step) -> list[str]:
        """The cluster CA for clients, and the lab's load balancer (none for ssh)."""
        step("load balancer" if lb else "cluster CA certificate")
        with EtcdStore.from_settings(settings) as store:
            manager = ConfigManager(store, settings.prefix, SecretBox.from_file(
                self.master_key_file))
            cert = manager.get(keys.SSL_CERT)
            key = manager.get_secret(keys.SSL_KEY)
            ca = manager.get(keys.CA_CERT)
        if not (cert and key and ca):
            raise DeployError("the store has no ssl_cert/ssl_key/ca_cert: config-init failed")
        changes: list[str] = []
        if not self.ca_file.is_file() or self.ca_file.read_text() != ca:
            self.ca_file.write_text(ca)
            changes.append(f"ca {self.ca_file}")
        if lb is not None:
            done = lb.start(lb.write(cert, key, ca))
            changes += [done] if done else []
        return changes

    def wait_serving(self, spec: ClusterSpec, lb: LoadBalancer | None,
                     timeout: float = 600.0) -> None:
        """Until the load balancer (lab), then every node's own NGINX, answer discovery
        (oxAuth), ``/identity/health`` (oxTrust) and ``/idp/health`` (the SAML IdP)."""
        targets = [(lb.address, "the load balancer")] if lb else []
        for address, what in [*targets, *((n.address, n.name) for n in spec.nodes)]:
            wait_for(f"the cluster to serve through {what}",
                     lambda a=address: discovery(a, spec.hostname, self.ca_file),  # type: ignore[misc]
                     timeout=timeout, interval=2.0)
            for name, path in (("oxTrust", "/identity/health"), ("the SAML IdP", "/idp/health")):
                wait_for(f"{name} to serve through {what}",
                         lambda a=address, p=path: discovery(  # type: ignore[misc]
                             a, spec.hostname, self.ca_file, p, '"ok"'),
                         timeout=timeout, interval=2.0)

    def admin_file(self, params_file: Path | None) -> Path:
        """The file holding config-init's answers (the admin password): ``--params``'s,
        remembered for later runs, else the one ``up`` wrote into the state folder."""
        pointer = self.state_dir / "params-file"
        if params_file is not None:
            pointer.write_text(str(params_file.resolve()) + "\n")
            return params_file.resolve()
        if pointer.is_file() and not (self.state_dir / "params.json").is_file():
            return Path(pointer.read_text().strip())
        return self.state_dir / "params.json"

    def result(self, spec: ClusterSpec, lb: LoadBalancer | None, image: str,
               changes: list[str], timings: dict[str, float], *,
               params_file: Path | None = None) -> UpResult:
        host = spec.hostname
        front = lb.address if lb else spec.manager.address
        client = (f'curl -s --cacert {self.ca_file} --resolve {host}:443:{front} '
                  f'-u "$(cat {self.test_client_file})" -d grant_type=client_credentials '
                  f'https://{host}/oxauth/restv1/token')
        return UpResult(
            url=f"https://{host}", issuer=f"https://{host}",
            identity_url=f"https://{host}/identity",
            idp_metadata_url=f"https://{host}/idp/shibboleth", ca_file=str(self.ca_file),
            nodes={n.name: n.address for n in spec.nodes}, store=spec.store_url(),
            cluster=spec.cluster, master_key_file=str(self.master_key_file),
            admin_credentials=str(self.admin_file(params_file)),
            load_balancer=lb.address if lb else None, image=image, test_client=client,
            changes=changes, timings=timings, env=operator_env(spec, self.state_dir))

    # -- down ----------------------------------------------------------------------
    def down(self, step: Step = _quiet) -> list[str]:
        spec = self.saved_spec() or self.spec_for(1, "id.oxswarm.test")
        if spec.lab is not None:
            LoadBalancer(spec, self.state_dir / "lb", self.runner).stop()
        done = self.driver(spec).down(step)
        ImageBuilder(runner=self.runner).stop()
        return done

    def docker(self, node: str) -> Docker:
        spec = self.saved_spec()
        if spec is None:
            raise DeployError(f"cluster {self.cluster} is not up (no {self.spec_file})")
        return self.driver(spec).docker(node)
