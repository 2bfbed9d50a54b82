"""The Docker CLI behind a small object: one per daemon (``unix://`` or ``ssh://``).

The CLI (not the SDK) is used because ``docker stack deploy`` / ``stack config`` exist only
there; its errors become :class:`DeployError` (or :class:`Unavailable` when the daemon
cannot be reached).
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Mapping
from typing import Any

from oxswarm.deploy.runner import Result, Runner, SubprocessRunner
from oxswarm.errors import Unavailable

UNREACHABLE = ("Cannot connect to the Docker daemon", "error during connect",
               "connection refused", "No such file or directory")


def docker_binary() -> str:
    """The newest client on PATH (``/usr/local/bin/docker`` before Debian's)."""
    return shutil.which("docker") or "docker"


class Docker:
    """Runs ``docker -H <host> ...``."""

    def __init__(self, host: str, runner: Runner | None = None,
                 env: Mapping[str, str] | None = None) -> None:
        self.host = host
        self.runner = runner or SubprocessRunner()
        self.env = dict(env or {})
        self.binary = docker_binary()

    def __repr__(self) -> str:
        return f"Docker({self.host!r})"

    def run(self, *args: str, check: bool = True, input: str | None = None,
            timeout: float = 120.0) -> Result:
        res = self.runner.run([self.binary, "-H", self.host, *args], check=False,
                              input=input, timeout=timeout, env=self.env)
        if not res.ok and any(s in res.stderr for s in UNREACHABLE) and args[:1] != ("stack",):
            raise Unavailable(f"docker at {self.host} is not reachable: "
                              f"{res.stderr.strip().splitlines()[-1:]}")
        if check and not res.ok:
            from oxswarm.errors import DeployError

            detail = " | ".join((res.stderr or res.stdout).strip().splitlines()[-3:])
            raise DeployError(f"docker {' '.join(args[:3])} on {self.host}: {detail}")
        return res

    def json(self, *args: str, timeout: float = 60.0) -> Any:
        return json.loads(self.run(*args, timeout=timeout).stdout or "null")

    def json_lines(self, *args: str) -> list[dict[str, Any]]:
        out = self.run(*args, "--format", "{{json .}}").stdout
        return [json.loads(line) for line in out.splitlines() if line.strip()]

    def reachable(self) -> bool:
        try:
            return self.run("version", "--format", "{{.Server.Version}}", check=False,
                            timeout=10).ok
        except Unavailable:
            return False

    def swarm_info(self) -> dict[str, Any]:
        info = self.json("info", "--format", "{{json .Swarm}}")
        return dict(info or {})

    def image_exists(self, ref: str) -> bool:
        return self.run("image", "inspect", ref, check=False).ok
