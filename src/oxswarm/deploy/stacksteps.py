"""``oxswarm up``'s deployment of the stack file (a base of
:class:`~oxswarm.deploy.deployer.Deployer`): validated with ``docker stack config``,
deployed only when it changed; on a running stack, new credentials and a new image go
through the pinned services one node at a time (:mod:`oxswarm.deploy.roll`), so that no
stateful service stops on every node at once.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

from oxswarm.deploy.docker import Docker
from oxswarm.deploy.render.stack import stack_text
from oxswarm.deploy.roll import Roller, pinned_images, running_images
from oxswarm.deploy.spec import ClusterSpec
from oxswarm.deploy.storesteps import Driver, Step
from oxswarm.deploy.storeupgrade import StoreUpgrade
from oxswarm.errors import DeployError

log = logging.getLogger(__name__)

OUT_OF_SEQUENCE_TRIES = 5


class StackSteps(StoreUpgrade):
    """The stack's part of ``up``; the deployer provides what the bases declare."""

    def deploy_stack(self, spec: ClusterSpec, driver: Driver, step: Step,
                     etcd_upgrade: str | None = None) -> list[str]:
        """Deploy when the stack changed; a new image rolls the stateful services one by
        one. ``etcd_upgrade``: the members' phase while an open store is closed (the
        pinned services then take their new image with their new secrets)."""
        stack_file = self.state_dir / "stack.yml"
        tls = self.store_pki.stack_tls(spec)
        text = stack_text(spec, str(self.master_key_file), store_tls=tls,
                          etcd_upgrade=etcd_upgrade)
        manager = driver.docker(spec.manager.name)
        step("validate stack (docker stack config)")
        new = stack_file.with_suffix(".new")
        new.write_text(text)
        manager.run("stack", "config", "-c", str(new))
        running = manager.run("stack", "services", spec.stack, "--format", "{{.Name}}",
                              check=False).stdout.split()
        if stack_file.is_file() and stack_file.read_text() == text and running:
            new.unlink()
            return []
        changes: list[str] = []
        pinned = pinned_images(spec, running_images(manager, spec.stack)) if running else {}
        if running and stack_file.is_file():  # new credentials first, images kept
            # the global services (oxAuth, NGINX, the registrators, Twemproxy) finish their
            # roll before a shard or a slapd restarts: closing an open store with both at
            # once, 10 of 1092 token requests found no healthy oxAuth (0 of 1342 after)
            changes += self._roll_secrets(
                spec, manager, stack_file,
                stack_text(spec, str(self.master_key_file), None if etcd_upgrade else pinned,
                           tls, etcd_upgrade), step,
                settle=lambda: self.wait_rolled(spec, driver))
            if etcd_upgrade:
                pinned = pinned_images(spec, running_images(manager, spec.stack))
        if pinned:
            step(f"docker stack deploy {spec.stack} (stateful services kept on their image)")
            interim = stack_file.with_suffix(".interim")
            interim.write_text(stack_text(spec, str(self.master_key_file), pinned, tls,
                                          etcd_upgrade))
            self._stack_deploy(manager, interim, spec)
            changes += Roller(spec, manager, step,
                              store_tls=self.store_pki.operator.ssl_context()).roll(list(pinned))
            interim.unlink()
        step(f"docker stack deploy {spec.stack}")
        self._stack_deploy(manager, new, spec)
        new.rename(stack_file)
        return [*changes, f"stack {spec.stack} deployed"]

    @staticmethod
    def _stack_deploy(manager: Docker, stack_file: Path, spec: ClusterSpec) -> None:
        # an image given by docker load is in no registry: nothing to resolve
        resolve = ("--resolve-image", "never") if spec.driver == "ssh" and not spec.registry \
            else ()
        for attempt in range(1, OUT_OF_SEQUENCE_TRIES + 1):
            try:
                manager.run("stack", "deploy", "-c", str(stack_file), "--with-registry-auth",
                            *resolve, spec.stack, timeout=300)
                return
            except DeployError as exc:
                # Swarm bumped a service's version between the CLI's read and its update
                # (a roll it was finishing): read again and update again
                if "update out of sequence" not in str(exc) or attempt == OUT_OF_SEQUENCE_TRIES:
                    raise
                log.info("stack deploy: a service changed meanwhile, again (%d)", attempt)
                time.sleep(2.0)
