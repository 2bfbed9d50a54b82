"""Sign-in through oxAuth: OpenID Connect authorization code flow with PKCE (RFC 7636).

``/identity/auth/login`` draws ``state``, ``nonce`` and a code verifier, keeps them in the
shared cache under ``state`` (one use, 10 minutes), binds ``state`` to the browser with a
short cookie (no login CSRF) and sends the browser to oxAuth's authorize endpoint (from
discovery). ``/identity/auth/callback`` takes that record,
exchanges the code at the token endpoint over the back channel (``--oxauth-url``, the
client's secret from the config store), verifies the ID token (signature against the
provider's JWKS, ``iss``, ``aud``, ``exp``, ``nonce``), and opens a UI session for a
member of the managers group; anyone else gets 403. ``/identity/auth/logout`` (POST, CSRF)
ends the UI session and sends the browser to oxAuth's end_session with ``id_token_hint``
and ``post_logout_redirect_uri`` so the oxAuth session ends too.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from typing import Any, Final

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from oxswarm.directory.people import PeopleRepository
from oxswarm.errors import NotFound, OxSwarmError
from oxswarm.oxauth.relying_party import OidcError as SignInError
from oxswarm.oxtrust.ui import session as sessions
from oxswarm.oxtrust.ui.deps import UiDeps
from oxswarm.oxtrust.ui.render import forbidden, html, is_admin

log = logging.getLogger(__name__)
STATE_KIND: Final = "oxtrust-ui-signin"
STATE_TTL: Final = 600
STATE_COOKIE: Final = "oxtrust_signin"  # binds the state to the browser that asked


async def discovery(deps: UiDeps) -> dict[str, Any]:
    return await deps.rp.discovery()


def _unavailable(exc: SignInError) -> Response:
    log.warning("sign-in: %s", exc)
    title = "Sign-in unavailable" if exc.status == 503 else "Sign-in failed"
    return html("error.html", exc.status, title=title, message=str(exc))


def signin_routes(deps: UiDeps) -> list[Route]:
    async def login(request: Request) -> Response:
        state, nonce, verifier = (secrets.token_urlsafe(32) for _ in range(3))
        try:
            target_url = await deps.rp.authorize_url(state, nonce, verifier)
        except SignInError as exc:
            return _unavailable(exc)
        target = request.query_params.get("next", "/identity")
        if not target.startswith("/identity") or target.startswith("//"):
            target = "/identity"
        await deps.cache.set_json(
            STATE_KIND, state, {"nonce": nonce, "verifier": verifier, "next": target}, STATE_TTL
        )
        response = RedirectResponse(target_url, status_code=303)
        response.set_cookie(STATE_COOKIE, state, max_age=STATE_TTL, path="/identity/auth",
                            httponly=True, secure=deps.settings.secure, samesite="lax")
        return response

    async def callback(request: Request) -> Response:
        params = request.query_params
        state = params.get("state") or ""
        bound = request.cookies.get(STATE_COOKIE) or ""
        same_browser = bool(state and bound and _same(state, bound))
        record = await deps.cache.take_json(STATE_KIND, state) if same_browser else None
        if not isinstance(record, dict):
            return html("error.html", 400, title="Sign-in failed",
                        message="state: unknown or expired; sign in again.")
        if params.get("error"):
            return html("error.html", 403, title="Sign-in refused",
                        message=f"oxAuth answered {params.get('error')}.")
        code = params.get("code")
        if not code:
            return html("error.html", 400, title="Sign-in failed", message="code: missing")
        try:
            claims, id_token = await deps.rp.exchange(code, str(record["verifier"]),
                                                      str(record["nonce"]))
        except SignInError as exc:
            return _unavailable(exc)
        sub = str(claims["sub"])
        if not await asyncio.to_thread(is_admin, deps, sub):
            return forbidden("You are signed in but not an administrator of this server.")
        uid = await asyncio.to_thread(_uid_of, deps, sub)
        session = await sessions.create(deps, sub, uid, id_token)
        response = RedirectResponse(str(record.get("next") or "/identity"), status_code=303)
        sessions.set_cookie(response, deps, session.sid)
        response.delete_cookie(STATE_COOKIE, path="/identity/auth", httponly=True,
                               secure=deps.settings.secure, samesite="lax")
        return response

    async def logout(request: Request) -> Response:
        session = await sessions.current(request, deps)
        if session is None:
            return RedirectResponse("/identity/auth/signed-out", status_code=303)
        form = await request.form()
        token = form.get("csrf_token")
        if not isinstance(token, str) or not sessions.token_ok(deps, session, token):
            return forbidden("csrf_token: missing or wrong; reload the page and retry.")
        if (failed := await _end(deps, session)) is not None:
            return _unavailable(failed)
        try:
            end = await deps.rp.end_session_url(session.id_token, deps.settings.signed_out)
        except SignInError:
            end = None
        response = RedirectResponse(end or deps.settings.signed_out, status_code=303)
        sessions.clear_cookie(response, deps)
        return response

    async def signed_out(_request: Request) -> Response:
        return html("signed_out.html", title="Signed out")

    return [
        Route("/identity/auth/login", login, methods=["GET"]),
        Route("/identity/auth/callback", callback, methods=["GET"]),
        Route("/identity/auth/logout", logout, methods=["POST"]),
        Route("/identity/auth/signed-out", signed_out, methods=["GET"]),
    ]


async def _end(deps: UiDeps, session: sessions.UiSession) -> SignInError | None:
    """End the UI session; what failed, when the directory could not record it."""
    try:
        await sessions.end(deps, session)
    except OxSwarmError as exc:
        return SignInError(f"sign-out could not be recorded: {exc}; retry")
    return None


def _uid_of(deps: UiDeps, sub: str) -> str:
    try:
        return PeopleRepository(deps.directory, deps.tree).get_by_inum(sub).uid
    except NotFound:
        return sub


def _same(a: str, b: str) -> bool:
    return secrets.compare_digest(a.encode(), b.encode())
