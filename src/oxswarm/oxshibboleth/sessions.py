"""What single logout needs to know, in the shared cache (any node reads it):

* per oxAuth session (the ID token's ``sid``): the *participants*, every (SP, NameID,
  SessionIndex) issued under it (SAML Profiles 4.4.4: the IdP keeps the session
  participants to send them LogoutRequests);
* per (SP, NameID): the oxAuth session it was issued in (its ID token and ``sid``), for a
  LogoutRequest from that SP;
* per browser: a random handle in the ``oxidp_session`` cookie (path ``/idp``) leading to
  the browser's oxAuth session, for IdP-initiated logout and to check that a front-channel
  logout frame comes from the browser that holds the session.

The participants are *taken* (read and deleted at once) by whichever logout runs first,
so the session's SPs are sent one LogoutRequest each even when oxAuth's front-channel
frame and the IdP's own logout race.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any, Final

from oxswarm.cache.aio import AsyncCache

SESSION_KIND: Final = "saml-session"  # (SP, NameID) -> the oxAuth session's ID token, sid
PARTICIPANTS_KIND: Final = "saml-participants"  # sid -> [participant]
BROWSER_KIND: Final = "saml-browser"  # cookie handle -> the oxAuth session
SESSION_TTL: Final = 8 * 3600
BROWSER_COOKIE: Final = "oxidp_session"
COOKIE_PATH: Final = "/idp"


def session_key(sp: str, name_id: str) -> str:
    return hashlib.sha256(f"{sp}\x00{name_id}".encode()).hexdigest()


def _sid_key(sid: str) -> str:
    return hashlib.sha256(sid.encode()).hexdigest()


def participant(sp: str, name_id: str, fmt: str, session_index: str) -> dict[str, str]:
    return {"sp": sp, "name_id": name_id, "format": fmt, "session_index": session_index}


async def remember(cache: AsyncCache, sid: str | None, id_token: str,
                   entry: dict[str, str]) -> None:
    """A Response was issued to ``entry['sp']`` in the oxAuth session ``sid``."""
    await cache.set_json(SESSION_KIND, session_key(entry["sp"], entry["name_id"]),
                         {"id_token": id_token, "sid": sid}, SESSION_TTL)
    if not sid:
        return
    known = await cache.get_json(PARTICIPANTS_KIND, _sid_key(sid))
    kept = [p for p in known if isinstance(p, dict) and (p.get("sp"), p.get("name_id"))
            != (entry["sp"], entry["name_id"])] if isinstance(known, list) else []
    await cache.set_json(PARTICIPANTS_KIND, _sid_key(sid), [*kept, entry], SESSION_TTL)


async def take_participants(cache: AsyncCache, sid: str | None) -> list[dict[str, str]]:
    """The session's participants, removed (the caller logs them out)."""
    if not sid:
        return []
    found = await cache.take_json(PARTICIPANTS_KIND, _sid_key(sid))
    return [p for p in found if isinstance(p, dict)] if isinstance(found, list) else []


async def session_of(cache: AsyncCache, sp: str, name_id: str) -> dict[str, Any] | None:
    """The oxAuth session (``id_token``, ``sid``) ``sp``'s NameID was issued in, removed."""
    found = await cache.take_json(SESSION_KIND, session_key(sp, name_id))
    return found if isinstance(found, dict) else None


async def keep_browser(cache: AsyncCache, handle: str, sid: str | None, id_token: str) -> None:
    await cache.set_json(BROWSER_KIND, handle, {"sid": sid, "id_token": id_token},
                         SESSION_TTL)


async def browser_session(cache: AsyncCache, handle: str | None, *,
                          take: bool = False) -> dict[str, Any] | None:
    if not handle or len(handle) > 128:
        return None
    found = await (cache.take_json if take else cache.get_json)(BROWSER_KIND, handle)
    return found if isinstance(found, dict) else None


def csrf_token(key: bytes, handle: str) -> str:
    """The IdP-initiated logout form's token, bound to the browser's handle."""
    return hmac.new(key, b"oxidp-logout\x00" + handle.encode(), hashlib.sha256).hexdigest()


def csrf_ok(key: bytes, handle: str, token: str) -> bool:
    return hmac.compare_digest(csrf_token(key, handle).encode(), token.encode())
