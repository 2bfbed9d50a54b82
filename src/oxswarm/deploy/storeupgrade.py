"""``oxswarm up`` on a cluster whose config store is still open (deployed before the
store was closed: etcd on plain HTTP, no authentication): close it by rolling, losing
nothing, the quorum kept the whole time (``docs/security.md``, "Upgrading").

1. The cluster CA the store holds (``ca_cert``, ``ca_key``: config-init made it, and the
   HTTPS, LDAP and csync2 certificates chain to it) is exported to ``ca.crt``/``ca.key``;
   the store's certificates are then issued from it (:mod:`oxswarm.deploy.storepki`).
2. Each member in turn gets its TLS files and listens on both schemes (phase ``1`` of
   :mod:`oxswarm.roles.etcd`: clients plain and TLS on 2379, peers plain on 2380 and
   TLS on 2381), waited healthy before the next.
3. ``member update``: every member's peer URL becomes ``https://etcd-<node>:2381``.
4. Each member in turn: phase ``2`` (peers TLS on 2380 and 2381), then ``member update``
   back to ``https://etcd-<node>:2380``.
5. The stack is deployed with every other service on the closed store (``etcd+https``,
   its certificate); the members keep their plain listener for the services not rolled
   yet; pinned services roll one node at a time (:meth:`StoreSteps._roll_secrets`).
6. Once no service is updating: etcd's users and rights, auth on.
7. Each member in turn: its final form (TLS only, ``--client-cert-auth``).

``stack.yml`` is rewritten after each member's step with what runs, so an interrupted
``up`` resumes where it stopped (the membership says which phase the peers are in).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from oxswarm.config import etcd_members, keys, store_certs
from oxswarm.config.etcd import EtcdStore
from oxswarm.config.manager import ConfigManager
from oxswarm.config.secrets import SecretBox
from oxswarm.crypto.pki import key_matches_cert
from oxswarm.deploy.docker import Docker
from oxswarm.deploy.render.stack import ETCD_UPGRADE, member, stack_text
from oxswarm.deploy.roll import Roller, new_task, running_task
from oxswarm.deploy.spec import ClusterSpec
from oxswarm.deploy.storesteps import Driver, Step, StoreSteps
from oxswarm.errors import DeployError, OxSwarmError
from oxswarm.roles.etcd import PEER_PORT, UPGRADE_PEER_PORT
from oxswarm.roles.wait import wait_for
from oxswarm.settings import Settings


def _quiet(_: str) -> None:
    return None


def needs_upgrade(stack: Mapping[str, Any]) -> bool:
    """A stack file of an open store, or of one caught halfway through closing it."""
    for svc in stack.get("services", {}).values():
        env = svc.get("environment") or {}
        if str(env.get("OXSWARM_STORE", "")).startswith("etcd://") or ETCD_UPGRADE in env:
            return True
    return False


class StoreUpgrade(StoreSteps):
    """The upgrade of an open store; the deployer provides what :class:`StoreSteps` declares."""

    @property
    def master_key_file(self) -> Path:
        raise NotImplementedError

    def deploy_stack(self, spec: ClusterSpec, driver: Driver, step: Step,
                     etcd_upgrade: str | None = None) -> list[str]:
        raise NotImplementedError

    def wait_store(self, settings: Settings, timeout: float = 300.0,
                   step: Step = _quiet) -> None:
        raise NotImplementedError

    @property
    def stack_file(self) -> Path:
        return self.state_dir / "stack.yml"

    def open_store_running(self, manager: Docker, spec: ClusterSpec) -> bool:
        """True when the stack that runs was deployed with an open store (or is halfway)."""
        try:
            stack = json.loads(self.stack_file.read_text())
        except (OSError, ValueError):
            return False
        if not needs_upgrade(stack):
            return False
        return bool(manager.run("stack", "services", spec.stack, "--format", "{{.Name}}",
                                check=False).stdout.split())

    def open_settings(self, spec: ClusterSpec) -> Settings:
        """The operator's settings for the store as the old code reached it (plain HTTP)."""
        url = "etcd://" + ",".join(f"{n.address}:2379" for n in spec.nodes)
        return Settings.load(env={}, store=url, cluster=spec.cluster,
                             master_key_file=str(self.master_key_file))

    def export_store_ca(self, spec: ClusterSpec, step: Step) -> list[str]:
        """The CA the open store holds -> ``ca.crt``/``ca.key`` (kept: everything issued
        from it stays valid). None in the store (config-init never ran): a new one."""
        if self.store_pki.ca_key_file.is_file():
            return []  # exported by an earlier, interrupted run
        step("cluster CA: exported from the open store")
        return self.export_ca_from(self.open_settings(spec))

    def export_ca_from(self, settings: Settings) -> list[str]:
        """:meth:`export_store_ca` from the store ``settings`` open."""
        pki = self.store_pki
        with EtcdStore.from_settings(settings) as store:
            config = ConfigManager(store, settings.prefix,
                                   SecretBox.from_file(self.master_key_file))
            cert, key = config.get(keys.CA_CERT), config.get_secret(keys.CA_KEY)
        if not cert and not key:
            return []
        if not (cert and key and key_matches_cert(cert, key)):
            raise DeployError(
                f"cluster {self.cluster}: the open store's ca_cert and ca_key do not make a "
                f"pair, so the certificates issued from them cannot be kept: `up` cannot "
                f"close this store in place (dump the configuration, `down`, `up`, load it)")
        store_certs.write_private(pki.ca_key_file, key)
        store_certs.write_private(pki.ca_file, cert, 0o644)
        return [f"cluster CA exported from the store to {pki.ca_file}"]

    def upgrade_store(self, spec: ClusterSpec, driver: Driver, step: Step) -> list[str]:
        """Steps 2-7 of the module's docstring; what changed."""
        manager = driver.docker(spec.manager.name)
        changes: list[str] = []
        if any(u.startswith("http://") for u in self._peer_urls(spec)):
            changes += self._roll_members(spec, manager, "1", step)
            changes += self._move_peers(spec, manager, UPGRADE_PEER_PORT, step)
        if any(u.endswith(f":{UPGRADE_PEER_PORT}") for u in self._peer_urls(spec)):
            changes += self._roll_members(spec, manager, "2", step)
            changes += self._move_peers(spec, manager, PEER_PORT, step)
        stack = json.loads(self.stack_file.read_text())
        if any(str(s.get("environment", {}).get("OXSWARM_STORE", "")).startswith("etcd://")
               for s in stack["services"].values()):
            step("every service onto the closed store (members still serve plain HTTP)")
            changes += self.deploy_stack(spec, driver, step, etcd_upgrade="2")
        settings = self.settings(spec)
        self.wait_store(settings, step=step)
        step("waiting for every service to roll onto the closed store")
        self.wait_rolled(spec, driver)
        changes += self.store_auth(settings)
        changes += self._roll_members(spec, manager, None, step)
        return changes

    def _peer_urls(self, spec: ClusterSpec) -> list[str]:
        """Every member's peer URLs (plain while members serve it, then over TLS)."""
        last: OxSwarmError | None = None
        for settings in (self.open_settings(spec), self.settings(spec)):
            try:
                with EtcdStore.from_settings(settings) as store:
                    return [u for m in etcd_members.members(store) for u in m.peer_urls]
            except OxSwarmError as exc:
                last = exc
        raise DeployError(f"the store's members cannot be listed: {last}")

    def _roller(self, spec: ClusterSpec, manager: Docker, step: Step) -> Roller:
        return Roller(spec, manager, step, store_tls=self.store_pki.operator.ssl_context())

    def _roll_members(self, spec: ClusterSpec, manager: Docker, phase: str | None,
                      step: Step) -> list[str]:
        """Each member whose service differs from its form in ``phase`` takes it, alone,
        and is waited healthy before the next; ``stack.yml`` follows what runs."""
        target = json.loads(stack_text(spec, str(self.master_key_file),
                                       store_tls=self.store_pki.stack_tls(spec),
                                       etcd_upgrade=phase))
        current = json.loads(self.stack_file.read_text())
        roller = self._roller(spec, manager, step)
        what = f"phase {phase} (plain and TLS listeners)" if phase else "TLS only"
        done: list[str] = []
        for node in spec.nodes:
            name = member("etcd", node.name)
            if current["services"].get(name) == target["services"][name]:
                continue
            step(f"{name}: {what}")
            current["services"][name] = target["services"][name]
            current["secrets"] = {**current.get("secrets", {}), **target["secrets"]}
            full = f"{spec.stack}_{name}"
            before = running_task(manager, full)
            interim = self.stack_file.with_suffix(".interim")
            interim.write_text(json.dumps(current, indent=2) + "\n")
            self._stack_deploy(manager, interim, spec)
            wait_for(f"{name} restarted", lambda f=full, b=before: new_task(manager, f, b),  # type: ignore[misc]
                     timeout=300, interval=2.0)
            wait_for(f"{name} healthy", lambda s=name, n=node.name: roller.healthy(s, n),  # type: ignore[misc]
                     timeout=300, interval=2.0)
            self.stack_file.write_text(json.dumps(current, indent=2) + "\n")
            interim.unlink()
            done.append(f"{name}: {what}")
        if current == target:  # byte for byte what a later `up` renders
            self.stack_file.write_text(json.dumps(target, indent=2) + "\n")
        return done

    def _move_peers(self, spec: ClusterSpec, manager: Docker, port: int,
                    step: Step) -> list[str]:
        """``member update`` of each member to ``https://etcd-<node>:port``; every member
        waited healthy after."""
        done: list[str] = []
        with EtcdStore.from_settings(self.settings(spec)) as store:
            for found in etcd_members.members(store):
                want = [f"https://{found.name}:{port}"]
                if list(found.peer_urls) != want:
                    step(f"{found.name}: peer URL {want[0]}")
                    etcd_members.set_peer_urls(store, found, want)
                    done.append(f"{found.name}: peer URL {want[0]}")
        roller = self._roller(spec, manager, step)
        for node in spec.nodes:
            name = member("etcd", node.name)
            wait_for(f"{name} healthy", lambda s=name, n=node.name: roller.healthy(s, n),  # type: ignore[misc]
                     timeout=120, interval=1.0)
        return done
