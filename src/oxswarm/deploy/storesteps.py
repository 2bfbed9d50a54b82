"""``oxswarm up``'s steps for the closed config store (a base of
:class:`~oxswarm.deploy.deployer.Deployer`): its credentials, etcd's users and rights,
rotation of the client certificates. Closing a store deployed open:
:mod:`oxswarm.deploy.storeupgrade`.

See :mod:`oxswarm.deploy.storepki` for the files and ``docs/security.md`` for the model.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from pathlib import Path

from oxswarm.config import etcd_rbac
from oxswarm.config.etcd import EtcdStore
from oxswarm.deploy.docker import Docker
from oxswarm.deploy.lab.driver import LabDriver
from oxswarm.deploy.roll import Roller, held_secrets, interim_stack, new_task, running_task
from oxswarm.deploy.spec import ClusterSpec
from oxswarm.deploy.ssh import SshDriver
from oxswarm.deploy.storepki import StorePki
from oxswarm.errors import OxSwarmError
from oxswarm.roles.wait import wait_for
from oxswarm.settings import Settings

log = logging.getLogger(__name__)
Step = Callable[[str], None]
Driver = LabDriver | SshDriver


class StoreSteps:
    """The store's part of ``up``; the deployer provides the attributes declared here."""

    cluster: str
    state_dir: Path

    def settings(self, spec: ClusterSpec) -> Settings:
        raise NotImplementedError

    @staticmethod
    def _stack_deploy(manager: Docker, stack_file: Path, spec: ClusterSpec) -> None:
        raise NotImplementedError

    @property
    def store_pki(self) -> StorePki:
        return StorePki(self.state_dir, self.cluster)

    def store_auth(self, settings: Settings, *, prune: bool = False) -> list[str]:
        """etcd's roles and users for the current certificates, auth on (compare, act)."""
        with EtcdStore.from_settings(settings) as store:
            done = etcd_rbac.reconcile(store, settings.prefix, self.store_pki.users(),
                                       prune=prune)
        return [f"store auth: {c}" for c in done]

    def users_before_stack(self, spec: ClusterSpec, driver: Driver, step: Step) -> list[str]:
        """On a running cluster, the store's users and rights for every role's certificate
        before a new stack names them: a role the stack gains (oxtrust on a cluster made
        without it) logs in at its first start. A new cluster's store does not run yet,
        and one that does not answer now is reconciled after the deploy, as always."""
        manager = driver.docker(spec.manager.name)
        if not manager.run("stack", "services", spec.stack, "--format", "{{.Name}}",
                           check=False).stdout.split():
            return []
        step("store users and rights (before the stack)")
        try:
            return self.store_auth(self.settings(spec))
        except OxSwarmError as exc:
            log.info("store auth before the stack skipped: %s", exc)
            return []

    def rotate_store_certs(self, spec: ClusterSpec, step: Step) -> list[str]:
        """New client certificates whose users exist before any service uses them; the
        operator's old certificate stays usable until :meth:`store_auth` prunes it."""
        step("new store client certificates")
        settings = self.settings(spec)
        pki = self.store_pki
        old = pki.users()
        # opened (certificate and key read) before the operator's files are replaced
        with EtcdStore.from_settings(settings) as store:
            changes = pki.rotate()
            etcd_rbac.reconcile(store, settings.prefix, old | pki.users())
        return changes

    def wait_rolled(self, spec: ClusterSpec, driver: Driver, timeout: float = 600.0) -> None:
        """Until no service of the stack is still updating (the roll has finished)."""
        manager = driver.docker(spec.manager.name)

        def rolled() -> bool | None:
            names = manager.run("stack", "services", spec.stack, "--format",
                                "{{.Name}}").stdout.split()
            for name in names:
                state = manager.run("service", "inspect", name, "--format",
                                    "{{if .UpdateStatus}}{{.UpdateStatus.State}}{{end}}",
                                    check=False).stdout.strip()
                if state in ("updating", "rollback_started"):
                    return None
            return True

        wait_for("the services to roll onto their new store certificates", rolled,
                 timeout=timeout, interval=3.0)

    def _roll_secrets(self, spec: ClusterSpec, manager: Docker, stack_file: Path, text: str,
                      step: Step, *, settle: Callable[[], None] | None = None) -> list[str]:
        """Pinned services whose credentials changed take them one node at a time;
        ``settle``: called once the rest was deployed, before the first of them rolls."""
        target = json.loads(text)
        held = held_secrets(json.loads(stack_file.read_text()), target)
        if not held:
            return []
        interim = stack_file.with_suffix(".interim")
        roller = Roller(spec, manager, step, store_tls=self.store_pki.operator.ssl_context())
        step(f"docker stack deploy {spec.stack} (pinned services kept on their secrets)")
        done: list[str] = []
        for service in [None, *held]:
            if service is not None:
                del held[service]
                step(f"roll {service} onto its new secrets")
            full = f"{spec.stack}_{service}"
            before = running_task(manager, full) if service else None
            interim.write_text(json.dumps(interim_stack(target, held, spec.stack), indent=2))
            self._stack_deploy(manager, interim, spec)
            if service is None:
                if settle is not None:
                    settle()
                continue
            node = service.split("-", 1)[1]
            wait_for(f"{service} on its new secrets",
                     lambda f=full, b=before: new_task(manager, f, b),  # type: ignore[misc]
                     timeout=300, interval=2.0)
            wait_for(f"{service} healthy", lambda s=service, n=node: roller.healthy(s, n),  # type: ignore[misc]
                     timeout=300, interval=2.0)
            done.append(f"{service} rolled onto new secrets")
        interim.unlink()
        return done
