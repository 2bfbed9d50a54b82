"""Signed values the front channel hands to the browser (HMAC-SHA256 with SESSION_SECRET).

* Session cookie ``<sid>.<mac>``: the ``sid`` is public (it goes into ID tokens and logout
  URLs, OpenID Connect Session Management / Front-Channel Logout), so the cookie carries
  a MAC over it that only the provider can compute: knowing a ``sid`` is not enough to
  present the session.
* CSRF tokens: ``HMAC(secret, "csrf" | purpose | binding)`` where the binding is the
  pre-login browser cookie (login form) or the session's ``sid`` (consent, logout).
* Carried authorization requests: the validated parameters, JSON, base64url, with an
  issue time and a MAC, so the login and consent forms can hand them back unchanged
  without any per-process state.

Every comparison is constant time and on bytes (:func:`oxswarm.oauth.compare.equal`): a
value with non-ASCII characters is simply not equal. Values are checked for length and
characters before any work (:func:`well_formed`).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import secrets
import time
from collections.abc import Mapping
from typing import Final, TypeGuard

from oxswarm.oauth.compare import equal

SESSION_COOKIE: Final = "oxauth_session"
BROWSER_COOKIE: Final = "oxauth_browser"  # the pre-login session: CSRF binding of the login form
MAX_SEALED: Final = 64 * 1024  # a sealed authorization request, base64url

_TOKEN = re.compile(r"[A-Za-z0-9_\-]{1,128}")  # a sid, a MAC, a CSRF token, a browser id
_SEALED = re.compile(r"[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]{1,128}")


def well_formed(value: str | None) -> TypeGuard[str]:
    """A cookie value, id or token as this module makes them: base64url, at most 128."""
    return value is not None and _TOKEN.fullmatch(value) is not None


def browser_id(value: str | None) -> str | None:
    """The pre-login browser cookie's id when well formed (else a new one is set)."""
    return value if well_formed(value) else None


def _mac(secret: str, *parts: str) -> str:
    msg = "\x1f".join(parts).encode()
    digest = hmac.new(secret.encode(), msg, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def new_id() -> str:
    """A fresh random identifier (256 bits)."""
    return secrets.token_urlsafe(32)


def session_cookie_value(secret: str, sid: str) -> str:
    return f"{sid}.{_mac(secret, 'session', sid)}"


def sid_from_cookie(secret: str, value: str | None) -> str | None:
    """The ``sid`` of a well-signed session cookie, else None."""
    if not value or "." not in value:
        return None
    sid, mac = value.rsplit(".", 1)
    if not well_formed(sid) or not well_formed(mac) or not equal(mac, _mac(secret, "session", sid)):
        return None
    return sid


def csrf_token(secret: str, purpose: str, binding: str) -> str:
    return _mac(secret, "csrf", purpose, binding)


def csrf_ok(secret: str, purpose: str, binding: str | None, token: str | None) -> bool:
    if not well_formed(binding) or not well_formed(token):
        return False
    return equal(token, csrf_token(secret, purpose, binding))


def seal_params(secret: str, params: Mapping[str, str], now: int | None = None) -> str:
    """Sign authorization request parameters for a round trip through the browser."""
    body = json.dumps({"p": dict(params), "t": int(now or time.time())}, separators=(",", ":"))
    data = base64.urlsafe_b64encode(body.encode()).rstrip(b"=").decode()
    return f"{data}.{_mac(secret, 'authz', data)}"


def open_params(
    secret: str, sealed: str | None, max_age: int, now: int | None = None
) -> dict[str, str] | None:
    """The parameters of a sealed request when its MAC is right and it is fresh, else None."""
    if not sealed or len(sealed) > MAX_SEALED or not _SEALED.fullmatch(sealed):
        return None
    data, mac = sealed.rsplit(".", 1)
    if not equal(mac, _mac(secret, "authz", data)):
        return None
    try:
        body = json.loads(base64.urlsafe_b64decode(data + "=" * (-len(data) % 4)))
    except ValueError:
        return None
    if not isinstance(body, dict) or not isinstance(body.get("p"), dict):
        return None
    issued = body.get("t")
    if not isinstance(issued, int) or int(now or time.time()) - issued > max_age:
        return None
    return {str(k): str(v) for k, v in body["p"].items()}
