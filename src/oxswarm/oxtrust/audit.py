"""The audit log: who changed what, when, from which address (``ou=audit``).

Every change made through oxTrust's admin API, its web UI or the CLI (``oxswarm clients``,
``oxswarm users``) is recorded here with :func:`record`. An entry is an ``oxAuditEntry``
(directory/schema/oxswarm.schema) whose ``inum`` starts with the UTC time to the
microsecond, so sorting by ``inum`` is sorting by time; :func:`page` reads newest first.

Secrets never reach the log: :func:`redact` masks every value whose key names a secret
(password, secret, token, key) at any depth before the detail is stored.

Actors are written ``user:<uid>`` (UI), ``client:<client_id>`` (API token without a
user), ``user:<uid> via client:<id>`` (API token for a user) and ``cli:<OS user>``.
"""

from __future__ import annotations

import contextlib
import getpass
import json
import logging
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

from oxswarm.directory.connection import LEVEL, Directory, Entry
from oxswarm.directory.tree import Tree, parse_generalized_time, rdn_of
from oxswarm.errors import Conflict, InvalidInput, NotFound

log = logging.getLogger(__name__)

AUDIT_CLASSES: Final = ("top", "oxAuditEntry")
MASK: Final = "**********"
_SECRET_WORDS: Final = ("password", "secret", "token", "private", "key")
_ATTRS: Final = (
    "inum",
    "oxAuditActor",
    "oxAuditAction",
    "oxAuditTarget",
    "oxAuditAddress",
    "oxAuditTime",
    "oxAuditDetail",
)
MAX_DETAIL: Final = 8000  # characters of JSON; a longer detail is cut and marked


@dataclass(frozen=True)
class AuditEvent:
    """One recorded change."""

    id: str
    time: datetime
    actor: str
    action: str
    target: str | None = None
    address: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "time": self.time.isoformat().replace("+00:00", "Z"),
            "actor": self.actor,
            "action": self.action,
            "target": self.target,
            "address": self.address,
            "detail": self.detail,
        }


def _secret_key(key: str) -> bool:
    lowered = key.lower()
    if lowered in ("token_endpoint_auth_method", "jwks_uri", "key_id"):
        return False
    return any(word in lowered for word in _SECRET_WORDS)


def redact(value: Any) -> Any:
    """``value`` with every entry under a secret-looking key replaced by ``MASK``."""
    if isinstance(value, Mapping):
        return {
            str(k): (MASK if _secret_key(str(k)) and v not in (None, "") else redact(v))
            for k, v in value.items()
        }
    if isinstance(value, (list, tuple)):
        return [redact(v) for v in value]
    return value


def cli_actor() -> str:
    """``cli:<OS user>`` for changes made with the ``oxswarm`` command."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = str(os.getuid())
    return f"cli:{user}"


def _new_id(now: datetime) -> str:
    return f"{now.strftime('%Y%m%d%H%M%S%f')}-{secrets.token_hex(4)}"


def _ensure_ou(directory: Directory, tree: Tree) -> None:
    attrs = {"objectClass": ["top", "organizationalUnit"], "ou": ["audit"]}
    with contextlib.suppress(Conflict):  # another writer created it meanwhile
        directory.add(tree.ou("audit"), attrs)


def record(
    directory: Directory,
    actor: str,
    action: str,
    target: str | None = None,
    *,
    address: str | None = None,
    detail: Mapping[str, Any] | None = None,
    tree: Tree | None = None,
) -> AuditEvent:
    """Store one change and return it; ``detail`` is redacted before it is written.

    Blocking (directory I/O): call it from a worker thread in async code. A directory
    created before the audit log existed gets its ``ou=audit`` on the first record.
    """
    if not actor:
        raise InvalidInput("actor: must not be empty", field="actor")
    if not action:
        raise InvalidInput("action: must not be empty", field="action")
    tree = tree or Tree()
    now = datetime.now(UTC)
    clean = redact(dict(detail or {}))
    text = json.dumps(clean, separators=(",", ":"), sort_keys=True, default=str)
    if len(text) > MAX_DETAIL:
        clean = {"truncated": True, "keys": sorted(clean)}
        text = json.dumps(clean, separators=(",", ":"))
    event = AuditEvent(_new_id(now), now, actor, action, target or None, address or None, clean)
    attrs: dict[str, list[str]] = {
        "objectClass": list(AUDIT_CLASSES),
        "inum": [event.id],
        "oxAuditActor": [actor],
        "oxAuditAction": [action],
        "oxAuditTime": [now.strftime("%Y%m%d%H%M%S") + "Z"],
        "oxAuditDetail": [text],
    }
    if event.target:
        attrs["oxAuditTarget"] = [event.target]
    if event.address:
        attrs["oxAuditAddress"] = [event.address]
    dn = f"inum={event.id},{tree.ou('audit')}"
    try:
        directory.add(dn, attrs)
    except NotFound:
        _ensure_ou(directory, tree)
        directory.add(dn, attrs)
    log.info("audit %s %s %s by %s from %s", event.id, action, target, actor, address)
    return event


def event_from_entry(entry: Entry) -> AuditEvent:
    inum = entry.get("inum") or rdn_of(entry.dn)
    try:
        detail = json.loads(entry.get("oxAuditDetail") or "{}")
    except ValueError:
        detail = {}
    when = parse_generalized_time(entry.get("oxAuditTime"))
    if len(inum) >= 20 and inum[:20].isdigit():  # microseconds from the id
        when = datetime.strptime(inum[:20], "%Y%m%d%H%M%S%f").replace(tzinfo=UTC)
    return AuditEvent(
        id=inum,
        time=when or datetime.fromtimestamp(0, UTC),
        actor=entry.get("oxAuditActor") or "",
        action=entry.get("oxAuditAction") or "",
        target=entry.get("oxAuditTarget"),
        address=entry.get("oxAuditAddress"),
        detail=detail if isinstance(detail, dict) else {},
    )


@dataclass(frozen=True)
class AuditPage:
    total: int
    start: int
    events: list[AuditEvent]


def page(
    directory: Directory, start: int = 0, limit: int = 50, *, tree: Tree | None = None
) -> AuditPage:
    """Events newest first: ``limit`` of them from the ``start``-th (0-based)."""
    if start < 0:
        raise InvalidInput("start: must be 0 or more", field="start")
    if limit < 0:
        raise InvalidInput("limit: must be 0 or more", field="limit")
    tree = tree or Tree()
    ids = directory.search(tree.ou("audit"), "(objectClass=oxAuditEntry)", LEVEL, ["inum"])
    names = sorted((e.get("inum") or rdn_of(e.dn) for e in ids), reverse=True)
    chosen = names[start : start + limit]
    events = []
    for inum in chosen:
        try:
            entry = directory.read(f"inum={inum},{tree.ou('audit')}", _ATTRS)
        except NotFound:
            continue
        events.append(event_from_entry(entry))
    return AuditPage(len(names), start, events)
