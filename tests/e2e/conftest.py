"""A whole single-host OxSwarm (the ``oxswarm dev up`` machinery) for end-to-end tests,
and the Node.js relying party under ``rp/`` (``npm ci`` runs here, at test time, when its
``node_modules`` is missing or older than the lock file)."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from oxswarm.local.dev import DevInfo, dev_down, dev_up

RP_DIR = Path(__file__).parent / "rp"


@pytest.fixture(scope="session")
def dev_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevInfo]:
    root = tmp_path_factory.mktemp("dev")
    try:
        yield dev_up(root)
    finally:
        dev_down(root)


@pytest.fixture(scope="session")
def rp_dir() -> Path:
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        pytest.fail("node and npm are required (scripts/install installs them)")
    marker = RP_DIR / "node_modules" / ".package-lock.json"
    lock = RP_DIR / "package-lock.json"
    if not marker.exists() or marker.stat().st_mtime < lock.stat().st_mtime:
        subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"],
            cwd=RP_DIR,
            check=True,
            timeout=300,
        )
    return RP_DIR


RunRp = Callable[[str, dict[str, Any]], dict[str, Any]]


@pytest.fixture(scope="session")
def run_rp(rp_dir: Path) -> RunRp:
    """``run_rp(script, payload)``: the relying party's result for ``payload``."""
    return lambda script, payload: _run_rp(rp_dir, script, payload)


def _run_rp(rp_dir: Path, script: str, payload: dict[str, Any]) -> dict[str, Any]:
    """Run ``node <script>`` with ``payload`` on stdin; its stdout is one JSON object."""
    result = subprocess.run(
        ["node", script],
        cwd=rp_dir,
        input=json.dumps(payload),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    out: dict[str, Any] = json.loads(result.stdout)
    return out
