"""oxPassport in oxAuth: sign in through an upstream OpenID Provider (Gluu's paths).

* ``GET /passport/auth/{id}?authz=SEALED`` starts: the sealed authorization request of
  oxAuth's login page (or of ``idp_hint``) is kept with a fresh ``state``, ``nonce`` and
  PKCE verifier in the shared cache (``passport:<state>``, 10 minutes), bound to the
  browser by the ``oxpassport_browser`` cookie (only its SHA-256 is kept), and the
  browser goes to the provider's authorization endpoint.
* ``GET /passport/auth/{id}/callback`` finishes, on any node: the record must exist, be
  this provider's and this browser's (the cookie), and is then taken (single use); the code
  is exchanged, the ID token validated (:mod:`oxswarm.oauth.oidc.upstream`), userinfo read
  when the token lacks ``email``, the person found, linked or provisioned
  (:mod:`oxswarm.passport.accounts`), and a new oxAuth session starts exactly as after a
  password sign-in (new ``sid``, ``acr`` ``passport_social``, ``amr`` ``["fed"]``); the
  authorization request then continues (consent, code) as from the login form.

oxAuth hosts these routes itself so that the session is made where sessions are made: no
session or token crosses a service boundary. Every refusal is a 4xx error page with the
reason and a link back to the sign-in page, logged with the provider and the reason;
nothing is written to the directory before every check passed.
"""

from __future__ import annotations

import hashlib
import logging
from typing import Any, Final
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from oxswarm.oauth.compare import equal
from oxswarm.oauth.oidc.core import acr
from oxswarm.oauth.oidc.core.authorization import (
    AuthorizationPageError,
    AuthorizationRedirectError,
    validate,
)
from oxswarm.oauth.oidc.upstream import FederationError, authorization_url, random_value
from oxswarm.oxauth.model import OxAuthDeps, Session
from oxswarm.oxauth.web import render, sessions
from oxswarm.oxauth.web.authorize import lookup_client
from oxswarm.oxauth.web.deps import web_deps
from oxswarm.oxauth.web.flow import proceed
from oxswarm.oxauth.web.security import new_id, open_params, seal_params, well_formed
from oxswarm.passport import accounts
from oxswarm.passport.client import UpstreamClient
from oxswarm.passport.providers import Provider

log = logging.getLogger(__name__)

KIND: Final = "passport"
STATE_TTL: Final = 600
COOKIE: Final = "oxpassport_browser"
COOKIE_PATH: Final = "/passport"
AUTHORIZE_PATH: Final = "/oxauth/restv1/authorize"


def providers_of(deps: OxAuthDeps) -> tuple[Provider, ...]:
    found = deps.extras.get("passport_providers")
    return found if isinstance(found, tuple) else ()


def enabled(deps: OxAuthDeps, provider_id: str | None) -> Provider | None:
    for provider in providers_of(deps):
        if provider.id == provider_id and provider.enabled and (
                provider.client_secret or provider.type == "saml"):
            return provider
    return None


def start_url(provider_id: str, sealed: str) -> str:
    return f"/passport/auth/{provider_id}?{urlencode({'authz': sealed})}"


def buttons(deps: OxAuthDeps, sealed: str) -> list[dict[str, str]]:
    """The login page's buttons: one per enabled provider."""
    return [{"label": p.label, "url": start_url(p.id, sealed)}
            for p in providers_of(deps) if enabled(deps, p.id)]


def _client(deps: OxAuthDeps) -> UpstreamClient:
    found = deps.extras.get("passport_client")
    if not isinstance(found, UpstreamClient):
        found = UpstreamClient(web_deps(deps).http)
        deps.extras["passport_client"] = found
    return found


def _hash(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def redirect_uri(deps: OxAuthDeps, provider_id: str) -> str:
    return f"{deps.config.issuer}/passport/auth/{provider_id}/callback"


def back_link(params: dict[str, str] | None) -> str:
    """The sign-in page of the original request (without ``idp_hint``), else the root."""
    if not params:
        return "/"
    return f"{AUTHORIZE_PATH}?{urlencode({k: v for k, v in params.items() if k != 'idp_hint'})}"


def refused(provider_id: str, reason: str, *, code: str = "access_denied",
            status: int = 403, params: dict[str, str] | None = None) -> Response:
    log.warning("passport %s: sign-in refused: %s", provider_id[:40], reason)
    return render.page("error.html", status, error=code,
                       description=f"Sign-in through {provider_id[:40]} refused: {reason}",
                       back_url=back_link(params))


async def start(request: Request) -> Response:
    deps: OxAuthDeps = request.app.state.deps
    web = web_deps(deps)
    render.use(request, deps)
    provider_id = str(request.path_params["provider"])
    secret = sessions.secret_of(deps)
    sealed = request.query_params.get("authz", "")
    params = open_params(secret, sealed, web.settings.request_lifetime)
    if params is None:
        return refused(provider_id, "the sign-in request expired or was altered", status=400,
                       code="invalid_request")
    provider = enabled(deps, provider_id)
    if provider is None:
        return refused(provider_id, "no such provider is enabled", status=404,
                       code="invalid_request", params=params)
    if provider.type == "saml":
        from oxswarm.oxauth.web.passport_saml import start_saml

        return await start_saml(request, deps, provider, params)
    try:
        endpoints = await _client(deps).endpoints(provider)
    except FederationError as exc:
        return refused(provider.id, exc.reason, code=exc.code, status=502, params=params)
    browser = request.cookies.get(COOKIE)
    fresh = not well_formed(browser)
    browser = new_id() if fresh or browser is None else browser
    state, nonce, verifier = random_value(), random_value(), random_value()
    await deps.extras["cache"].set_json(KIND, state, {
        "provider": provider.id, "authz": seal_params(secret, params),
        "nonce": nonce, "verifier": verifier, "browser": _hash(browser),
    }, STATE_TTL)
    url = authorization_url(
        endpoints["authorization_endpoint"], client_id=provider.client_id,
        redirect_uri=redirect_uri(deps, provider.id), scope=" ".join(provider.scopes),
        state=state, nonce=nonce, verifier=verifier)
    response = RedirectResponse(url, 302, headers={"Cache-Control": "no-store"})
    if fresh:
        response.set_cookie(COOKIE, browser, max_age=STATE_TTL * 6, path=COOKIE_PATH,
                            httponly=True, secure=sessions.secure(deps), samesite="lax")
    return response


async def _record(request: Request, deps: OxAuthDeps, provider_id: str,
                  state: str | None = None) -> dict[str, Any]:
    """The start's record of ``state`` (the query's by default), this browser's, taken."""
    state = request.query_params.get("state") if state is None else state
    if not well_formed(state):
        raise FederationError("the callback has no valid state")
    record = await deps.extras["cache"].get_json(KIND, state)
    if not isinstance(record, dict) or record.get("provider") != provider_id:
        raise FederationError("the state is unknown, expired or already used")
    browser = request.cookies.get(COOKIE)
    if not well_formed(browser) or not equal(_hash(browser), str(record.get("browser"))):
        raise FederationError("the callback did not come from the browser that started it")
    taken = await deps.extras["cache"].take_json(KIND, state)  # single use
    if taken != record:
        raise FederationError("the state is unknown, expired or already used")
    return record


async def callback(request: Request) -> Response:
    deps: OxAuthDeps = request.app.state.deps
    web = web_deps(deps)
    render.use(request, deps)
    provider_id = str(request.path_params["provider"])
    try:
        record = await _record(request, deps, provider_id)
    except FederationError as exc:
        return refused(provider_id, exc.reason, status=400, code="invalid_request")
    secret = sessions.secret_of(deps)
    params = open_params(secret, str(record.get("authz")), web.settings.request_lifetime)
    provider = enabled(deps, provider_id)
    if params is None or provider is None:
        return refused(provider_id, "the sign-in request expired or the provider is disabled",
                       status=400, code="invalid_request", params=params)
    error = request.query_params.get("error")
    if error:
        described = request.query_params.get("error_description", "")[:200]
        log.warning("passport %s: the provider answered %s: %s", provider.id, error[:64],
                    described)
        return refused(provider.id, f"the provider answered {error[:64]}", params=params)
    code = request.query_params.get("code")
    if not code or len(code) > 2048:
        return refused(provider.id, "the callback has no code", status=400,
                       code="invalid_request", params=params)
    upstream = _client(deps)
    try:
        tokens = await upstream.exchange(provider, code, redirect_uri(deps, provider.id),
                                         str(record["verifier"]))
        claims = await upstream.id_token_claims(provider, tokens["id_token"],
                                                str(record["nonce"]))
        if "email" not in claims:
            extra = await upstream.userinfo(provider, str(tokens.get("access_token", "")),
                                            str(claims["sub"]))
            claims = {**extra, **claims}
        person, how = await _resolve(deps, provider, str(claims["sub"]), claims)
    except FederationError as exc:
        status = 502 if exc.code == "temporarily_unavailable" else 403
        return refused(provider.id, exc.reason, code=exc.code, status=status, params=params)
    log.info("passport %s: %s signed in (%s)", provider.id, person.uid, how)
    return await _signed_in(request, deps, params, person.inum, person.uid)


async def _resolve(deps: OxAuthDeps, provider: Provider, subject: str,
                   claims: dict[str, Any]) -> tuple[Any, str]:
    import asyncio

    from oxswarm.directory.people import PeopleRepository
    from oxswarm.directory.tree import Tree

    tree = deps.extras.get("tree")
    repo = PeopleRepository(deps.extras["directory"], tree if isinstance(tree, Tree) else None)
    return await asyncio.to_thread(accounts.resolve, repo, provider, subject, claims)


async def _signed_in(request: Request, deps: OxAuthDeps, params: dict[str, str],
                     sub: str, username: str, *,
                     acr_value: str = acr.PASSPORT_SOCIAL) -> Response:
    web = web_deps(deps)
    try:
        client = await lookup_client(deps, params)
        req = validate(params, client)
        assert client is not None
        old = await sessions.current(request, deps)
        if old is not None:
            await deps.sessions.delete(old.sid)
        at = sessions.now()
        session = Session(
            sid=new_id(), sub=sub, username=username, auth_time=at,
            expires_at=sessions.expiry(deps, web.settings, at, at),
            acr=acr_value, amr=acr.FEDERATED_AMR)
        await deps.sessions.save(session)
        response = await proceed(request, deps, web, req, client, session=session,
                                 fresh_login=True, status_code=302)
        sessions.set_session_cookie(response, deps, session.sid)
        return response
    except AuthorizationPageError as exc:
        return render.error_page(exc.error, exc.description)
    except AuthorizationRedirectError as exc:
        return render.authorization_response(exc.response(deps.config.issuer), 302)
