"""A role drops to an unprivileged user after making its folders the user's (real
setuid in a child process: the tests run as root)."""

from __future__ import annotations

import json
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from oxswarm.roles.privileges import drop_from_env

CHILD = """
import json, os, sys
from oxswarm.roles.privileges import drop_from_env
dropped = drop_from_env()
data = sys.argv[1]
open(os.path.join(data, "written-after"), "w").write("x")
print(json.dumps({"dropped": dropped, "uid": os.getuid(), "euid": os.geteuid(),
                  "gid": os.getgid(), "groups": os.getgroups(),
                  "owner": os.stat(os.path.join(data, "sub", "old")).st_uid}))
"""


@pytest.mark.skipif(os.geteuid() != 0, reason="setuid needs root")
def test_the_role_owns_its_folders_then_runs_as_the_user() -> None:
    tmp_path = Path(tempfile.mkdtemp(prefix="oxs-privileges-"))  # /tmp: others may enter
    try:
        check_drop(tmp_path)
    finally:
        shutil.rmtree(tmp_path)


def check_drop(tmp_path: Path) -> None:
    nobody = pwd.getpwnam("nobody")
    data = tmp_path / "data"
    (data / "sub").mkdir(parents=True)
    (data / "sub" / "old").write_text("root's")  # as a root-owned host folder holds
    sock_path = tmp_path / "docker.sock"
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(sock_path))
    os.chown(sock_path, 0, 4242)
    tmp_path.chmod(0o755)
    env = dict(os.environ, OXS_RUN_AS="nobody", OXS_RUN_AS_OWN=f"{data},{tmp_path}/run",
               OXS_RUN_AS_SOCKET=str(sock_path))
    try:
        proc = subprocess.run([sys.executable, "-c", CHILD, str(data)], env=env,
                              capture_output=True, text=True, timeout=30, check=False)
    finally:
        server.close()
    assert proc.returncode == 0, proc.stderr
    seen = json.loads(proc.stdout)
    assert seen["dropped"] is True
    assert seen["uid"] == seen["euid"] == nobody.pw_uid
    assert seen["gid"] == nobody.pw_gid
    assert 4242 in seen["groups"] and 0 not in seen["groups"]
    assert seen["owner"] == nobody.pw_uid
    assert (tmp_path / "run").stat().st_uid == nobody.pw_uid
    assert (data / "written-after").stat().st_uid == nobody.pw_uid


def test_without_the_variable_nothing_changes() -> None:
    assert drop_from_env({}) is False
