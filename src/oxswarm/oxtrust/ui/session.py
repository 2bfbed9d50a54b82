"""UI sessions: a signed cookie naming a record in the shared cache; CSRF tokens.

The cookie is ``<sid>.<mac>`` (:func:`oxswarm.oxauth.web.security.session_cookie_value`,
HMAC-SHA256 under the UI's own key), ``HttpOnly``, ``SameSite=Lax``, ``Secure`` when the
public URL is https, scoped to ``/identity``. The record (who, their ID token for the
sign-out, when) lives in the cache with a sliding expiry, never past the lifetime: any
oxtrust process reads it. Every change is a POST carrying ``csrf_token`` in the form,
``HMAC(key, "csrf" | "ui" | sid)``, compared byte-wise in constant time.
"""

from __future__ import annotations

import hmac
import time
from dataclasses import asdict, dataclass
from typing import Final

from starlette.requests import Request
from starlette.responses import Response

from oxswarm.oxauth.web.security import csrf_token, new_id, session_cookie_value
from oxswarm.oxtrust.ui.deps import UiDeps

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


async def create(deps: UiDeps, sub: str, uid: str, id_token: str) -> UiSession:
    now = _now()
    session = UiSession(new_id(), sub, uid, id_token, now, now + deps.settings.session_idle)
    await deps.cache.set_json(KIND, session.sid, asdict(session), deps.settings.session_idle)
    return session


async def current(request: Request, deps: UiDeps) -> UiSession | None:
    """The live session of the request's cookie (its expiry slid forward), or None."""
    sid = sid_from_cookie(deps.settings.secret, request.cookies.get(COOKIE))
    if sid is None:
        return None
    data = await deps.cache.get_json(KIND, sid)
    if not isinstance(data, dict):
        return None
    try:
        session = UiSession(**data)
    except TypeError:
        return None
    now = _now()
    if session.expires_at <= now:
        return None
    end = min(now + deps.settings.session_idle, session.auth_time + deps.settings.session_lifetime)
    if end - session.expires_at > 60:  # write at most once a minute
        session = UiSession(**{**asdict(session), "expires_at": end})
        await deps.cache.set_json(KIND, sid, asdict(session), max(1, end - now))
    return session


async def end(deps: UiDeps, session: UiSession) -> None:
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
