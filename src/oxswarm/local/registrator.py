"""A registrator for local processes, as a process of its own (tests and ``oxswarm dev``).

``python -m oxswarm.local.registrator --store etcd://h:p --prefix /oxswarm/c --instances
FILE`` registers the instances declared in ``FILE`` (a JSON list of
:class:`~oxswarm.catalogue.records.Instance` objects) through a
:class:`~oxswarm.catalogue.source.StaticSource`, until SIGTERM (records removed) or
SIGKILL (records left to expire with their leases). :class:`LocalRegistrator` starts it
as a :class:`~oxswarm.local.process.Daemon`.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from oxswarm.catalogue.health import ProbeChecker
from oxswarm.catalogue.records import Instance
from oxswarm.catalogue.registrator import DEFAULT_INTERVAL, DEFAULT_TTL, Registrator
from oxswarm.catalogue.source import StaticSource
from oxswarm.config.etcd import EtcdStore
from oxswarm.errors import OxSwarmError
from oxswarm.local.process import Daemon, stop_on_signals, wait_until


@dataclass
class LocalRegistrator:
    """The registrator process for ``instances``, with its files under ``workdir``."""

    store_url: str
    prefix: str
    instances: Sequence[Instance]
    workdir: Path
    ttl: int = DEFAULT_TTL
    interval: float = DEFAULT_INTERVAL
    daemon: Daemon = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.daemon = Daemon(
            name="registrator",
            argv=[
                sys.executable, "-m", "oxswarm.local.registrator",
                "--store", self.store_url,
                "--prefix", self.prefix,
                "--instances", str(self.instances_file),
                "--ttl", str(self.ttl),
                "--interval", str(self.interval),
            ],
            workdir=self.workdir,
        )  # fmt: skip

    @property
    def instances_file(self) -> Path:
        return self.workdir / "instances.json"

    def start(self, timeout: float = 15.0) -> LocalRegistrator:
        """Write the instance list, start, and wait until the process says it runs."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.instances_file.write_text(
            json.dumps([i.model_dump(mode="json") for i in self.instances])
        )
        self.daemon.start()

        def started() -> bool:
            if not self.daemon.running():
                raise OxSwarmError(f"registrator exited: {self.daemon.tail()}")
            return "registrator running" in self.daemon.tail(50)

        wait_until(started, timeout, "the registrator to start")
        return self

    def running(self) -> bool:
        return self.daemon.running()

    def stop(self) -> None:
        self.daemon.stop()

    def kill(self) -> None:
        self.daemon.kill()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m oxswarm.local.registrator")
    parser.add_argument("--store", required=True)
    parser.add_argument("--prefix", required=True)
    parser.add_argument("--instances", required=True, type=Path)
    parser.add_argument("--ttl", type=int, default=DEFAULT_TTL)
    parser.add_argument("--interval", type=float, default=DEFAULT_INTERVAL)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    stop = stop_on_signals()
    try:
        raw = json.loads(args.instances.read_text())
        instances = [Instance.model_validate(item) for item in raw]
        with EtcdStore.from_url(args.store) as store:
            checker = ProbeChecker(timeout=min(1.0, args.interval))
            registrator = Registrator(
                store,
                args.prefix,
                StaticSource(instances),
                checker,
                ttl=args.ttl,
                interval=args.interval,
            )
            registrator.start_events()
            print("registrator running", flush=True)
            try:
                registrator.run(stop)
            finally:
                registrator.close()
                checker.close()
    except (OxSwarmError, OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr, flush=True)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
