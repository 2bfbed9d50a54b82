"""Who may touch what in the config store: etcd's roles, users and auth, reconciled.

etcd v3 auth (https://etcd.io/docs/v3.4/op-guide/authentication/) through the gateway's
``/v3/auth/...`` calls. Each service role reads or writes only its prefixes under the
cluster's ``<prefix>`` (``/oxswarm/<cluster>``):

============  ======================================  =========
etcd role     keys                                    right
============  ======================================  =========
oxauth        config/, secret/                        read
nginx         config/, secret/, catalogue/            read
ldap, csync2  config/, secret/                        read
redis         config/, secret/                        read
twemproxy     config/, secret/                        read
registrator   catalogue/                              readwrite
oxtrust       config/, secret/ (the admin UI and API:     readwrite
              live policy, keys, organisation);
              catalogue/ (its dashboard)                  read
oxshibboleth  config/, secret/ (the SAML IdP)             read
every role    ping (the readiness probe's key)        read
operator      everything (etcd's ``root`` role)       all, and auth
============  ======================================  =========

Users are ``<role>.<fingerprint>`` of each client certificate
(:mod:`oxswarm.config.etcd_auth`); the ``root`` user etcd needs to enable auth has no
password (the gateway cannot log in as it). :func:`reconcile` compares and acts: a second
run changes nothing; ``prune`` deletes the users of retired certificates. Adding a user or
role that etcd says already exists is not an error: :func:`reconcile` saw it absent just
before, so an earlier attempt of the same call was applied although it timed out (a write
may commit after its client's timeout; the store then retries it).
"""

from __future__ import annotations

import base64
import contextlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from oxswarm.config.etcd import EtcdStore, prefix_range_end
from oxswarm.errors import Conflict, InvalidInput

ROOT = "root"
OPERATOR = "operator"
READ, WRITE, READWRITE = "READ", "WRITE", "READWRITE"
_CONFIG = (("config/", READ), ("secret/", READ))
ROLE_PREFIXES: Mapping[str, tuple[tuple[str, str], ...]] = {
    "oxauth": _CONFIG,
    "nginx": (*_CONFIG, ("catalogue/", READ)),
    "ldap": _CONFIG,
    "csync2": _CONFIG,
    "redis": _CONFIG,
    "twemproxy": _CONFIG,
    "registrator": (("catalogue/", READWRITE),),
    # the administration service writes the live policy, rotates keys, edits settings;
    # its dashboard reads the catalogue (the nodes and their services), never writes it
    "oxtrust": (("config/", READWRITE), ("secret/", READWRITE), ("catalogue/", READ)),
    "oxshibboleth": _CONFIG,  # the SAML IdP reads its keys and client; writes nothing
}
SERVICE_ROLES = tuple(ROLE_PREFIXES)
CLIENT_ROLES = (*SERVICE_ROLES, OPERATOR)
PING = "ping"
_USER = re.compile(r"^(?P<role>[a-z0-9-]+)\.[0-9a-f]{12}$")


@dataclass(frozen=True, order=True)
class Perm:
    """One permission of a role: ``[key, range_end)`` (``range_end`` empty: one key)."""

    key: bytes
    range_end: bytes
    perm: str


def role_perms(prefix: str, role: str) -> set[Perm]:
    """The permissions role ``role`` should have in the cluster under ``prefix``."""
    base = prefix.rstrip("/") + "/"
    perms = {Perm((base + PING).encode(), b"", READ)}
    for sub, right in ROLE_PREFIXES[role]:
        key = base + sub
        perms.add(Perm(key.encode(), prefix_range_end(key), right))
    return perms


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def _unb64(text: str | None) -> bytes:
    return base64.b64decode(text or "")


def role_of(user: str) -> str | None:
    """The role a certificate user (``oxauth.0123456789ab``) belongs to."""
    match = _USER.match(user)
    return match["role"] if match else None


class Rbac:
    """The auth calls of the store, through a store logged in with the ``root`` role."""

    def __init__(self, store: EtcdStore) -> None:
        self.store = store

    def _post(self, path: str, body: dict[str, Any], what: str) -> dict[str, Any]:
        return self.store.request(path, body, what)

    def users(self) -> set[str]:
        return set(self._post("/v3/auth/user/list", {}, "list users").get("users") or [])

    def roles(self) -> set[str]:
        return set(self._post("/v3/auth/role/list", {}, "list roles").get("roles") or [])

    def user_roles(self, user: str) -> set[str]:
        data = self._post("/v3/auth/user/get", {"name": user}, f"get user {user}")
        return set(data.get("roles") or [])

    def perms(self, role: str) -> set[Perm]:
        data = self._post("/v3/auth/role/get", {"role": role}, f"get role {role}")
        return {Perm(_unb64(p.get("key")), _unb64(p.get("range_end")),
                     str(p.get("permType") or READ)) for p in data.get("perm") or []}

    def add_user(self, user: str, password: str | None) -> None:
        body: dict[str, Any] = {"name": user}
        if password is None:
            body["options"] = {"no_password": True}
        else:
            body["password"] = password
        with contextlib.suppress(Conflict):  # a timed-out attempt was applied
            self._post("/v3/auth/user/add", body, f"add user {user}")

    def grant_user(self, user: str, role: str) -> None:
        self._post("/v3/auth/user/grant", {"user": user, "role": role}, f"grant {role} to {user}")

    def delete_user(self, user: str) -> None:
        self._post("/v3/auth/user/delete", {"name": user}, f"delete user {user}")

    def add_role(self, role: str) -> None:
        with contextlib.suppress(Conflict):  # a timed-out attempt was applied
            self._post("/v3/auth/role/add", {"name": role}, f"add role {role}")

    def grant(self, role: str, perm: Perm) -> None:
        body = {"name": role, "perm": {"permType": perm.perm, "key": _b64(perm.key),
                                       "range_end": _b64(perm.range_end)}}
        self._post("/v3/auth/role/grant", body, f"grant {perm.perm} {perm.key!r} to {role}")

    def revoke(self, role: str, perm: Perm) -> None:
        body = {"role": role, "key": _b64(perm.key), "range_end": _b64(perm.range_end)}
        self._post("/v3/auth/role/revoke", body, f"revoke {perm.key!r} from {role}")

    def enable(self) -> None:
        self._post("/v3/auth/enable", {}, "enable auth")


def reconcile(store: EtcdStore, prefix: str, users: Mapping[str, str], *,
              prune: bool = False) -> list[str]:
    """Make the store's auth what ``users`` (user -> password) need, then enable it.

    Each user's role is the first part of its name; ``operator`` users get etcd's
    ``root`` role. ``prune``: delete certificate users not in ``users`` (retired
    certificates). Returns what changed; the passwords never leave this function.
    """
    rbac = Rbac(store)
    changes: list[str] = []
    roles = rbac.roles()
    for role in SERVICE_ROLES:
        if role not in roles:
            rbac.add_role(role)
            changes.append(f"role {role}")
        want, have = role_perms(prefix, role), rbac.perms(role)
        for perm in sorted(have - want):
            rbac.revoke(role, perm)
            changes.append(f"role {role}: revoked {perm.perm} {perm.key.decode()}")
        for perm in sorted(want - have):
            rbac.grant(role, perm)
            changes.append(f"role {role}: {perm.perm} {perm.key.decode()}")
    existing = rbac.users()
    if ROOT not in existing:
        rbac.add_user(ROOT, None)
        changes.append("user root (no password)")
    if ROOT not in rbac.user_roles(ROOT):
        rbac.grant_user(ROOT, ROOT)
    for user, password in sorted(users.items()):
        role = role_of(user) or ""
        if role not in CLIENT_ROLES:
            raise InvalidInput(f"user: {user!r} is not <role>.<fingerprint> of a known role",
                               field="user")
        etcd_role = ROOT if role == OPERATOR else role
        if user not in existing:
            rbac.add_user(user, password)
            changes.append(f"user {user}")
        if etcd_role not in rbac.user_roles(user):
            rbac.grant_user(user, etcd_role)
    if prune:
        for user in sorted(existing - set(users)):
            if role_of(user) in CLIENT_ROLES:
                rbac.delete_user(user)
                changes.append(f"user {user} deleted (retired certificate)")
    rbac.enable()  # idempotent; the store logs in again when it must
    return changes
