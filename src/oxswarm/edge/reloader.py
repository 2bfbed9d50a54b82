"""Keeps a node's NGINX in step with the catalogue (consul-template's job in the original).

On each catalogue snapshot: render; if the text differs from the live config, write it
beside it, check it with ``nginx -t``, and only then move it into place and reload
(SIGHUP). A config that fails the test is logged and left aside: NGINX keeps serving the
last good one, and the same text is not tested again until the catalogue changes.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Protocol

from oxswarm import metrics
from oxswarm.catalogue.reader import Catalogue
from oxswarm.catalogue.records import Instance
from oxswarm.edge.render import render_nginx
from oxswarm.edge.routes import SERVICES
from oxswarm.edge.spec import EdgeSpec
from oxswarm.errors import DaemonError

log = logging.getLogger(__name__)


class NginxControl(Protocol):
    """What the reloader needs from NGINX (:class:`~oxswarm.local.nginx.LocalNginx`)."""

    def test(self, conf_file: Path | None = None) -> None:
        """Raise :class:`~oxswarm.errors.DaemonError` when NGINX rejects ``conf_file``."""
        ...

    def reload(self) -> None: ...


class EdgeReloader:
    """Renders ``base`` with the catalogue's healthy instances into ``conf_file``."""

    def __init__(
        self,
        catalogue: Catalogue,
        base: EdgeSpec,
        control: NginxControl,
        conf_file: Path,
        *,
        render: Callable[[EdgeSpec], str] = render_nginx,
    ) -> None:
        self.catalogue = catalogue
        self.base = base
        self.control = control
        self.conf_file = conf_file
        self.render = render
        self.reloads = 0
        self._rejected: str | None = None

    @property
    def candidate_file(self) -> Path:
        return self.conf_file.with_name(self.conf_file.name + ".next")

    def write_initial(self, snapshot: Mapping[str, tuple[Instance, ...]] | None = None) -> str:
        """Render and test the first config (before NGINX starts); returns its text."""
        text = self.render(self.base.with_instances(snapshot or self.catalogue.snapshot()))
        self._install(text)
        return text

    def _install(self, text: str) -> None:
        candidate = self.candidate_file
        candidate.parent.mkdir(parents=True, exist_ok=True)
        candidate.write_text(text)
        try:
            self.control.test(candidate)
        except DaemonError:
            candidate.unlink(missing_ok=True)
            raise
        os.replace(candidate, self.conf_file)

    def apply(self, snapshot: Mapping[str, tuple[Instance, ...]]) -> bool:
        """Bring NGINX to ``snapshot``; True when it was reloaded."""
        spec = self.base.with_instances(snapshot)
        metrics.set_catalogue({s: len(b) for s, b in spec.upstreams.items()}, SERVICES)
        text = self.render(spec)
        try:
            live = self.conf_file.read_text()
        except OSError:
            live = None
        if text in (live, self._rejected):
            return False
        try:
            self._install(text)
        except DaemonError as exc:
            self._rejected = text
            metrics.EDGE_CONFIGS.labels("rejected").inc()
            log.error("edge: new config rejected, keeping the last good one: %s", exc)
            return False
        self._rejected = None
        self.control.reload()
        self.reloads += 1
        metrics.EDGE_CONFIGS.labels("reloaded").inc()
        counts = {s: len(b) for s, b in spec.upstreams.items()}
        log.info("edge: reloaded nginx (reload %d): %s", self.reloads, counts)
        return True

    def run(self, stop: threading.Event, *, resync: float = 5.0) -> None:
        """Apply every catalogue change until ``stop`` is set (checked every ``resync`` s)."""
        while not stop.is_set():
            for snapshot in self.catalogue.watch_all(resync=min(resync, 1.0), timeout=resync):
                try:
                    self.apply(snapshot)
                except DaemonError as exc:
                    log.error("edge: cannot reload nginx: %s", exc)
                if stop.is_set():
                    return
