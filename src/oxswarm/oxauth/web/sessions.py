"""The browser session: a signed cookie naming a :class:`Session` in the shared cache.

The cookie is ``HttpOnly``, ``SameSite=Lax``, ``Secure`` when the issuer is https, and
scoped to ``/oxauth``. The record's lifetime slides: each use moves ``expires_at`` to
``now + session_idle``, never past ``auth_time + session_lifetime``; the lifetime is the
live policy's (``oxauth_session_lifetime``), applied also to sessions that began before it
was lowered. The session cookie's ``Max-Age`` is that lifetime.
"""

from __future__ import annotations

import dataclasses
import time

from starlette.requests import Request
from starlette.responses import Response

from oxswarm.oxauth import addressing
from oxswarm.oxauth.model import OxAuthDeps, Session
from oxswarm.oxauth.web.deps import WebSettings
from oxswarm.oxauth.web.security import (
    BROWSER_COOKIE,
    SESSION_COOKIE,
    session_cookie_value,
    sid_from_cookie,
)

COOKIE_PATH = "/oxauth"


def now() -> int:
    return int(time.time())


def secret_of(deps: OxAuthDeps) -> str:
    secret = deps.config.session_secret
    if not secret:
        raise RuntimeError("oxAuth has no session_secret: config-init did not run")
    return secret


def secure(deps: OxAuthDeps) -> bool:
    return deps.config.issuer.startswith("https://")


def expiry(deps: OxAuthDeps, settings: WebSettings, auth_time: int, at: int) -> int:
    return min(at + settings.session_idle, auth_time + deps.config.session_lifetime)


async def current(request: Request, deps: OxAuthDeps) -> Session | None:
    """The live session the request's cookie names, or None."""
    sid = sid_from_cookie(secret_of(deps), request.cookies.get(SESSION_COOKIE))
    if sid is None:
        return None
    session = await deps.sessions.get(sid)
    at = now()
    if session is None or session.expires_at <= at:
        return None
    if session.auth_time + deps.config.session_lifetime <= at:  # the lifetime was lowered
        return None
    return session


async def touch(deps: OxAuthDeps, settings: WebSettings, session: Session) -> Session:
    """Slide the session's expiry forward (and save it)."""
    moved = dataclasses.replace(
        session, expires_at=expiry(deps, settings, session.auth_time, now())
    )
    await deps.sessions.save(moved)
    return moved


def set_session_cookie(response: Response, deps: OxAuthDeps, sid: str) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        session_cookie_value(secret_of(deps), sid),
        max_age=deps.config.session_lifetime,
        path=COOKIE_PATH,
        httponly=True,
        secure=secure(deps),
        samesite="lax",
    )


def clear_session_cookie(response: Response, deps: OxAuthDeps) -> None:
    response.delete_cookie(
        SESSION_COOKIE, path=COOKIE_PATH, httponly=True, secure=secure(deps), samesite="lax"
    )


def set_browser_cookie(response: Response, deps: OxAuthDeps, value: str) -> None:
    response.set_cookie(
        BROWSER_COOKIE,
        value,
        path=COOKIE_PATH,
        httponly=True,
        secure=secure(deps),
        samesite="lax",
    )


def client_address(request: Request, settings: WebSettings) -> str:
    """The user agent's address (:func:`oxswarm.oxauth.addressing.client_address`)."""
    return addressing.client_address(
        request.client.host if request.client else None,
        request.headers.get("x-forwarded-for"),
        settings.trusted_proxies,
    )
