"""UI sessions: a signed cookie naming a record in the shared cache, with a copy in the
directory; CSRF tokens.

The cookie is ``<sid>.<mac>`` (:func:`oxswarm.oxauth.web.security.session_cookie_value`,
HMAC-SHA256 under the UI's own key), ``HttpOnly``, ``SameSite=Lax``, ``Secure`` when the
public URL is https, scoped to ``/identity``. The record (who, their ID token for the
sign-out, when) lives in the cache with a sliding expiry, never past the lifetime: any
oxtrust process reads it. The cache keeps each record on two shards (docs/cache.md, "A
second copy"), which covers the loss of one node; the directory copy is kept as the last
resort for the cache as a whole (two shards lost, or no cache at all). Each record has a
copy in the replicated directory (``inum=<sid>,ou=sessions``, ``oxSession``: the root DN alone reads
it), written at sign-in and with each slide of the expiry (at most once a minute), read
only when the cache has no record (or cannot answer) and then put back in the cache:
a lost node loses no admin session. Sign-out deletes the copy first (a sign-out the
directory cannot record fails, rather than leave a copy that would bring the session
back). Every change is a POST carrying ``csrf_token`` in the form,
``HMAC(key, "csrf" | "ui" | sid)``, compared byte-wise in constant time.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any, Final

from starlette.requests import Request
from starlette.responses import Response

from oxswarm.directory.connection import REPLACE
from oxswarm.directory.tree import rdn_value
from oxswarm.errors import Conflict, NotFound, OxSwarmError
from oxswarm.oxauth.web.security import csrf_token, new_id, session_cookie_value
from oxswarm.oxtrust.ui.deps import UiDeps

log = logging.getLogger(__name__)

COOKIE: Final = "oxtrust_session"
COOKIE_PATH: Final = "/identity"
KIND: Final = "oxtrust-ui-session"
CSRF_PURPOSE: Final = "ui"


@dataclass(frozen=True)
class UiSession:
    sid: str
    sub: str
    uid: str
    id_token: str
    auth_time: int
    expires_at: int


def _same(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode(), expected.encode())


def sid_from_cookie(secret: str, value: str | None) -> str | None:
    """The ``sid`` of a well-signed cookie, else None (byte-wise compare)."""
    if not value or "." not in value:
        return None
    sid = value.rsplit(".", 1)[0]
    return sid if sid and _same(value, session_cookie_value(secret, sid)) else None


def _now() -> int:
    return int(time.time())


# -- the directory's copy -----------------------------------------------------------------
def _dn(deps: UiDeps, sid: str) -> str:
    return f"inum={rdn_value(sid)},{deps.tree.ou('sessions')}"


def _time(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y%m%d%H%M%SZ")


def _keep(deps: UiDeps, session: UiSession) -> None:
    """Write the copy (add, or replace its expiry and record)."""
    data, expiry = json.dumps(asdict(session)), _time(session.expires_at)
    try:
        deps.directory.add(_dn(deps, session.sid), {
            "objectClass": ["top", "oxSession"], "inum": session.sid,
            "oxUserInum": session.sub, "oxExpiration": expiry, "oxData": data})
    except Conflict:
        deps.directory.modify(_dn(deps, session.sid), {
            "oxExpiration": [(REPLACE, [expiry])], "oxData": [(REPLACE, [data])]})


def _copy(deps: UiDeps, sid: str) -> dict[str, Any] | None:
    try:
        entry = deps.directory.read(_dn(deps, sid), ["oxData"])
    except NotFound:
        return None
    try:
        data = json.loads(entry.get("oxData") or "")
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def _sweep(deps: UiDeps, now: int) -> None:
    """Delete the copies of sessions that expired unused (never signed out)."""
    for entry in deps.directory.search(
            deps.tree.ou("sessions"),
            f"(&(objectClass=oxSession)(oxExpiration<={_time(now)}))", attributes=["1.1"]):
        try:
            deps.directory.delete(entry.dn)
        except NotFound:
            continue


async def _background(what: str, call: Any, *args: Any) -> None:
    """A best-effort write (the session works from the cache meanwhile): logged if it fails."""
    try:
        await asyncio.to_thread(call, *args)
    except OxSwarmError as exc:
        log.warning("UI session: %s failed: %s", what, exc)


# -- the session ---------------------------------------------------------------------------
async def create(deps: UiDeps, sub: str, uid: str, id_token: str) -> UiSession:
    now = _now()
    session = UiSession(new_id(), sub, uid, id_token, now, now + deps.settings.session_idle)
    await deps.cache.set_json(KIND, session.sid, asdict(session), deps.settings.session_idle)
    await _background("directory copy", _keep, deps, session)
    await _background("sweep of expired copies", _sweep, deps, now)
    return session


async def _record(deps: UiDeps, sid: str) -> tuple[dict[str, Any] | None, bool]:
    """The record from the cache, else from the directory's copy; True when it came from
    the copy (the cache lost it with a shard, or cannot answer)."""
    try:
        data = await deps.cache.get_json(KIND, sid)
    except OxSwarmError as exc:
        log.warning("UI session: cache unavailable, reading the directory's copy: %s", exc)
        data = None
    if isinstance(data, dict):
        return data, False
    copy = await asyncio.to_thread(_copy, deps, sid)
    if copy is not None:  # the sid is a credential: never logged
        log.warning("UI session: the cache had no record, read the directory's copy")
    return copy, True


async def current(request: Request, deps: UiDeps) -> UiSession | None:
    """The live session of the request's cookie (its expiry slid forward), or None."""
    sid = sid_from_cookie(deps.settings.secret, request.cookies.get(COOKIE))
    if sid is None:
        return None
    data, from_copy = await _record(deps, sid)
    if data is None:
        return None
    try:
        session = UiSession(**data)
    except TypeError:
        return None
    now = _now()
    if session.expires_at <= now or session.sid != sid:
        return None
    end = min(now + deps.settings.session_idle, session.auth_time + deps.settings.session_lifetime)
    if end - session.expires_at > 60 or from_copy:  # write at most once a minute
        session = UiSession(**{**asdict(session), "expires_at": max(end, session.expires_at)})
        try:
            await deps.cache.set_json(KIND, sid, asdict(session),
                                      max(1, session.expires_at - now))
        except OxSwarmError as exc:
            log.warning("UI session: cache write failed: %s", exc)
        await _background("directory copy", _keep, deps, session)
    return session


async def end(deps: UiDeps, session: UiSession) -> None:
    """Delete the directory's copy, then the cache's record. Raises :class:`OxSwarmError`
    when the directory cannot delete the copy (nothing is deleted then)."""
    with contextlib.suppress(NotFound):
        await asyncio.to_thread(deps.directory.delete, _dn(deps, session.sid))
    await deps.cache.delete(KIND, session.sid)


def set_cookie(response: Response, deps: UiDeps, sid: str) -> None:
    response.set_cookie(
        COOKIE, session_cookie_value(deps.settings.secret, sid), path=COOKIE_PATH,
        httponly=True, secure=deps.settings.secure, samesite="lax",
    )


def clear_cookie(response: Response, deps: UiDeps) -> None:
    response.delete_cookie(
        COOKIE, path=COOKIE_PATH, httponly=True, secure=deps.settings.secure, samesite="lax"
    )


def token_for(deps: UiDeps, session: UiSession) -> str:
    return csrf_token(deps.settings.secret, CSRF_PURPOSE, session.sid)


def token_ok(deps: UiDeps, session: UiSession, token: str | None) -> bool:
    return bool(token) and _same(token or "", token_for(deps, session))
