"""Roles run unprivileged: the entrypoint does what needs root, then drops to a user.

A container of the stack starts as root for two things only: the resolver options it
writes into its own ``/etc/resolv.conf`` (a root-owned bind mount, see
:mod:`oxswarm.roles.resolver`) and the ownership of the folders it writes (host folders
bind-mounted by Swarm, root-owned on a new node). Then, when ``OXS_RUN_AS`` names a user
(the stack sets it for every service whose process allows it), the role makes those
folders (``OXS_RUN_AS_OWN``) the user's, joins the group of a socket it must use
(``OXS_RUN_AS_SOCKET``: the registrator's Docker socket) and switches to the user
(setgroups, setgid, setuid: no way back) before it renders anything or starts its daemon.
Its standard streams are handed to the user too (as runc does for a container that
starts unprivileged), so that a daemon can still open ``/dev/stderr``.

Why not Swarm's ``user:``: a process started unprivileged could not set the resolver's
options, nor own a host folder Docker created. Without ``OXS_RUN_AS`` (workstations, the
tests' local daemons) nothing changes.
"""

from __future__ import annotations

import contextlib
import logging
import os
import pwd
from collections.abc import Mapping
from pathlib import Path

log = logging.getLogger("oxswarm.roles")

ENV_RUN_AS = "OXS_RUN_AS"
ENV_RUN_AS_OWN = "OXS_RUN_AS_OWN"
ENV_RUN_AS_SOCKET = "OXS_RUN_AS_SOCKET"


def own_tree(folder: Path, uid: int, gid: int) -> None:
    """``chown -R uid:gid folder`` (created if missing; symbolic links themselves only)."""
    folder.mkdir(parents=True, exist_ok=True)
    os.lchown(folder, uid, gid)
    for top, dirs, files in os.walk(folder):
        for name in (*dirs, *files):
            os.lchown(os.path.join(top, name), uid, gid)


def drop_privileges(user: str, own: list[Path], sockets: list[Path]) -> tuple[int, int]:
    """Make ``own`` the user's, then become ``user`` (with the groups of ``sockets``)."""
    entry = pwd.getpwnam(user)
    uid, gid = entry.pw_uid, entry.pw_gid
    for folder in own:
        own_tree(folder, uid, gid)
    groups = [gid, *(s.stat().st_gid for s in sockets if s.exists())]
    for fd in (0, 1, 2):
        with contextlib.suppress(OSError):  # a character device (/dev/null), or closed
            os.fchown(fd, uid, gid)
    os.setgroups(sorted(set(groups)))
    os.setgid(gid)
    os.setuid(uid)
    os.environ["HOME"] = entry.pw_dir
    os.environ["USER"] = user
    return uid, gid


def drop_from_env(env: Mapping[str, str] | None = None) -> bool:
    """:func:`drop_privileges` as the stack asks (``OXS_RUN_AS``); True when dropped."""
    env = os.environ if env is None else env
    user = env.get(ENV_RUN_AS, "").strip()
    if not user or os.geteuid() != 0:
        return False
    own = [Path(p) for p in env.get(ENV_RUN_AS_OWN, "").split(",") if p.strip()]
    sockets = [Path(p) for p in env.get(ENV_RUN_AS_SOCKET, "").split(",") if p.strip()]
    uid, _ = drop_privileges(user, own, sockets)
    log.info("running as %s (uid %d)", user, uid)
    return True
