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
import base64
import hashlib
import logging
import secrets
import time
from typing import Any, Final
from urllib.parse import urlencode, urlsplit

import httpx
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from oxswarm.directory.people import PeopleRepository
from oxswarm.errors import NotFound, OxSwarmError
from oxswarm.oxtrust.ui import session as sessions
from oxswarm.oxtrust.ui.deps import UiDeps
from oxswarm.oxtrust.ui.render import forbidden, html, is_admin

log = logging.getLogger(__name__)
STATE_KIND: Final = "oxtrust-ui-signin"
STATE_TTL: Final = 600
STATE_COOKIE: Final = "oxtrust_signin"  # binds the state to the browser that asked
ID_TOKEN_ALGS: Final = ["RS256", "RS384", "RS512", "PS256", "ES256", "ES384", "ES512"]


class SignInError(Exception):
    """The provider's answer is unusable (shown as a page, never a stack trace); 503 when
    oxAuth cannot be reached, 400 when it refused what the browser brought."""

    def __init__(self, message: str, status: int = 503) -> None:
        super().__init__(message)
        self.status = status


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _back(deps: UiDeps, endpoint: str) -> str:
    """An endpoint of discovery reached through this process's back channel."""
    parts = urlsplit(endpoint)
    query = f"?{parts.query}" if parts.query else ""
    return deps.settings.oxauth_url.rstrip("/") + parts.path + query


async def discovery(deps: UiDeps) -> dict[str, Any]:
    url = deps.settings.oxauth_url.rstrip("/") + "/.well-known/openid-configuration"
    try:
        async with httpx.AsyncClient(timeout=10.0, trust_env=False) as http:
            r = await http.get(url)
        r.raise_for_status()
        meta = r.json()
    except (httpx.HTTPError, ValueError) as exc:
        raise SignInError(f"oxAuth is unreachable at {deps.settings.oxauth_url}: {exc}") from None
    if not isinstance(meta, dict) or "authorization_endpoint" not in meta:
        raise SignInError("oxAuth's discovery document has no authorization_endpoint")
    return meta


def _unavailable(exc: SignInError) -> Response:
    log.warning("sign-in: %s", exc)
    title = "Sign-in unavailable" if exc.status == 503 else "Sign-in failed"
    return html("error.html", exc.status, title=title, message=str(exc))


def signin_routes(deps: UiDeps) -> list[Route]:
    async def login(request: Request) -> Response:
        try:
            meta = await discovery(deps)
        except SignInError as exc:
            return _unavailable(exc)
        state, nonce, verifier = (secrets.token_urlsafe(32) for _ in range(3))
        target = request.query_params.get("next", "/identity")
        if not target.startswith("/identity") or target.startswith("//"):
            target = "/identity"
        await deps.cache.set_json(
            STATE_KIND, state, {"nonce": nonce, "verifier": verifier, "next": target}, STATE_TTL
        )
        query = urlencode({
            "response_type": "code", "client_id": deps.settings.client_id,
            "redirect_uri": deps.settings.callback, "scope": "openid profile email",
            "state": state, "nonce": nonce,
            "code_challenge": _b64(hashlib.sha256(verifier.encode()).digest()),
            "code_challenge_method": "S256",
        })
        response = RedirectResponse(f"{meta['authorization_endpoint']}?{query}", status_code=303)
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
            claims, id_token = await _exchange(deps, code, str(record["verifier"]))
        except SignInError as exc:
            return _unavailable(exc)
        if not _same(str(claims.get("nonce", "")), str(record["nonce"])):
            return html("error.html", 400, title="Sign-in failed", message="nonce: mismatch")
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
            end = (await discovery(deps)).get("end_session_endpoint")
        except SignInError:
            end = None
        target = deps.settings.signed_out
        if end:
            target = f"{end}?" + urlencode({
                "id_token_hint": session.id_token, "client_id": deps.settings.client_id,
                "post_logout_redirect_uri": deps.settings.signed_out,
            })
        response = RedirectResponse(target, status_code=303)
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


async def _exchange(deps: UiDeps, code: str, verifier: str) -> tuple[dict[str, Any], str]:
    """The ID token's verified claims and the token itself, for ``code``."""
    meta = await discovery(deps)
    settings = deps.settings
    try:
        async with httpx.AsyncClient(timeout=10.0, trust_env=False) as http:
            r = await http.post(
                _back(deps, meta["token_endpoint"]),
                auth=(settings.client_id, settings.client_secret),
                data={"grant_type": "authorization_code", "code": code,
                      "redirect_uri": settings.callback, "code_verifier": verifier},
            )
            if r.status_code != 200:
                raise SignInError(f"code: oxAuth's token endpoint answered {r.status_code}", 400)
            id_token = str(r.json()["id_token"])
            keys = (await http.get(_back(deps, meta["jwks_uri"]))).json()
    except (httpx.HTTPError, ValueError, KeyError) as exc:
        raise SignInError(f"token exchange failed: {exc}") from None
    try:
        token = jwt.decode(id_token, KeySet.import_key_set(keys), algorithms=ID_TOKEN_ALGS)
        jwt.JWTClaimsRegistry(
            iss={"essential": True, "value": meta["issuer"]},
            aud={"essential": True, "value": settings.client_id},
            sub={"essential": True}, exp={"essential": True},
        ).validate(token.claims)
    except (JoseError, ValueError) as exc:
        raise SignInError(f"id_token: not valid: {exc}", 400) from None
    if token.claims.get("exp", 0) < time.time():
        raise SignInError("id_token: expired", 400)
    return dict(token.claims), id_token
