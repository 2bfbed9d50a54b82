"""Running commands: the one place where deployment code starts a program.

Deployment steps call :class:`Runner` (a small interface) so that pure code can be tested
with a recording fake while the real thing runs ``ip``, ``nsenter`` and ``docker``.
"""

from __future__ import annotations

import logging
import os
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from oxswarm.errors import DeployError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Result:
    """What a finished command returned."""

    argv: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        return self.returncode == 0


class Runner(Protocol):
    """Runs one command to completion."""

    def run(
        self,
        argv: Sequence[str],
        *,
        check: bool = True,
        input: str | None = None,
        timeout: float = 120.0,
        env: Mapping[str, str] | None = None,
    ) -> Result: ...


def clean_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment for a child: ours without ``ETCD_*`` (etcd reads them as flags)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ETCD_")}
    env.pop("DOCKER_HOST", None)
    if extra:
        env.update(extra)
    return env


class SubprocessRunner:
    """The real runner; a failing command raises :class:`DeployError` with its stderr."""

    def run(
        self,
        argv: Sequence[str],
        *,
        check: bool = True,
        input: str | None = None,
        timeout: float = 120.0,
        env: Mapping[str, str] | None = None,
    ) -> Result:
        args = tuple(argv)
        log.debug("run: %s", " ".join(args))
        try:
            proc = subprocess.run(
                args,
                input=input,
                capture_output=True,
                text=True,
                timeout=timeout,
                env=clean_env(env),
                check=False,
            )
        except FileNotFoundError as exc:
            raise DeployError(f"{args[0]}: command not found") from exc
        except subprocess.TimeoutExpired as exc:
            raise DeployError(f"{' '.join(args[:4])}: timed out after {timeout:.0f}s") from exc
        result = Result(args, proc.returncode, proc.stdout, proc.stderr)
        if check and not result.ok:
            detail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
            raise DeployError(f"{' '.join(args[:5])} failed: {' | '.join(detail)}")
        return result
