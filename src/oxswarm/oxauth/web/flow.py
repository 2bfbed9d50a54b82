"""The authorization flow shared by the authorize endpoint, the login and consent forms.

:func:`proceed` takes a validated request and the browser's session and answers with the
next page (login, consent) or the authorization response (OpenID Connect Core 1.0
sections 3.1.2.5, 3.2.2.5, 3.3.2.5). The validated request travels through the forms
sealed (:func:`~oxswarm.oxauth.web.security.seal_params`): no per-process state.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Final

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from oxswarm.oauth import oauth2_response_modes as modes
from oxswarm.oauth.models import ClientMetadata
from oxswarm.oauth.oidc.core import acr
from oxswarm.oauth.oidc.core.authorization import AuthorizationRequest
from oxswarm.oauth.oidc.core.pairwise import subject_for
from oxswarm.oauth.oidc.core.prompt import (
    CONSENT,
    LOGIN,
    Situation,
    next_step,
    remembered_consent_matters,
)
from oxswarm.oauth.rfc6749.errors import InvalidRequest, UnmetAuthenticationRequirements
from oxswarm.oxauth.model import OxAuthDeps, Session
from oxswarm.oxauth.web import render, sessions
from oxswarm.oxauth.web.deps import WebDeps
from oxswarm.oxauth.web.i18n import N_
from oxswarm.oxauth.web.security import (
    BROWSER_COOKIE,
    browser_id,
    csrf_token,
    new_id,
    seal_params,
)

LOGIN_PATH: Final = "/oxauth/login"
CONSENT_PATH: Final = "/oxauth/consent"

SCOPE_TEXT: Final = {
    "openid": N_("Sign you in with your account identifier"),
    "profile": N_("Your name and basic profile"),
    "email": N_("Your e-mail address"),
    "address": N_("Your postal address"),
    "phone": N_("Your phone number"),
    "offline_access": N_("Keep access while you are not using the application"),
}


def client_name(client: ClientMetadata) -> str:
    return client.client_name or client.client_id


def login_page(
    request: Request,
    deps: OxAuthDeps,
    web: WebDeps,
    req: AuthorizationRequest,
    client: ClientMetadata,
    *,
    error: str | None = None,
    username: str | None = None,
    status_code: int = 200,
) -> Response:
    """The sign-in form, its CSRF token bound to the browser cookie (set if missing)."""
    from oxswarm.oxauth.web import passport

    secret = sessions.secret_of(deps)
    sealed = seal_params(secret, req.params)
    hinted = passport.enabled(deps, req.params.get("idp_hint"))
    if hinted is not None and error is None:  # idp_hint: straight to that provider
        return RedirectResponse(passport.start_url(hinted.id, sealed), 302,
                                headers={"Cache-Control": "no-store"})
    browser = browser_id(request.cookies.get(BROWSER_COOKIE))
    fresh = not browser
    browser = browser or new_id()
    response = render.page(
        "login.html",
        status_code,
        action=LOGIN_PATH,
        csrf_token=csrf_token(secret, "login", browser),
        authz=sealed,
        client_name=client_name(client),
        username=username if username is not None else (req.login_hint or ""),
        error=error,
        providers=passport.buttons(deps, sealed),
    )
    if fresh:
        sessions.set_browser_cookie(response, deps, browser)
    return response


def after_login(params: Mapping[str, str]) -> dict[str, str]:
    """The request to carry once the user just signed in: ``prompt=login`` and ``max_age``
    are satisfied (the ID token's ``auth_time`` tells the client when)."""
    out = {k: v for k, v in params.items() if k != "max_age"}
    prompt = [p for p in out.get("prompt", "").split() if p not in ("login", "select_account")]
    if prompt:
        out["prompt"] = " ".join(prompt)
    else:
        out.pop("prompt", None)
    return out


def consent_page(
    deps: OxAuthDeps,
    req: AuthorizationRequest,
    client: ClientMetadata,
    session: Session,
    *,
    fresh_login: bool = False,
) -> Response:
    secret = sessions.secret_of(deps)
    carried = after_login(req.params) if fresh_login else req.params
    scopes = [{"name": s, "description": SCOPE_TEXT.get(s)} for s in req.scope]
    return render.page(
        "consent.html",
        action=CONSENT_PATH,
        csrf_token=csrf_token(secret, "consent", session.sid),
        authz=seal_params(secret, carried),
        client_name=client_name(client),
        username=session.username,
        scopes=scopes,
    )


async def proceed(
    request: Request,
    deps: OxAuthDeps,
    web: WebDeps,
    req: AuthorizationRequest,
    client: ClientMetadata,
    *,
    session: Session | None,
    fresh_login: bool = False,
    fresh_consent: bool = False,
    status_code: int = 302,
) -> Response:
    """Next page, or the authorization response once signed in and consented."""
    if not acr.can_satisfy(req.claims):
        raise req.error(
            UnmetAuthenticationRequirements(
                f"no supported acr among the essential values; supported: {' '.join(acr.SUPPORTED)}"
            )
        )
    hint_sub = None
    if req.id_token_hint:
        claims = await deps.issuer.verify_id_token_hint(req.id_token_hint, client.client_id)
        if claims is None:
            raise req.error(
                InvalidRequest("id_token_hint is not an ID token issued to this client")
            )
        hint_sub = str(claims.get("sub"))
    consented = False
    session_sub = None
    if session is not None:
        session_sub = subject_for(
            client, session.sub, deps.config.pairwise_key, deps.config.pairwise_salt
        )
        if client.trusted:  # an administrator's flag, never the client's own metadata
            consented = True
        elif remembered_consent_matters(req, fresh_consent):  # else no directory read
            granted = await web.consents.granted(session.sub, client.client_id)
            consented = set(req.scope) <= granted
    step = next_step(
        req,
        Situation(
            now=sessions.now(),
            auth_time=session.auth_time if session else None,
            session_sub=session_sub,
            fresh_login=fresh_login,
            consented=consented,
            fresh_consent=fresh_consent,
            hint_sub=hint_sub,
            session_acr=session.acr if session else None,
        ),
    )
    if step == LOGIN or session is None:
        return login_page(request, deps, web, req, client)
    if step == CONSENT:
        return consent_page(deps, req, client, session, fresh_login=fresh_login)
    return await issue(deps, web, req, client, session=session, status_code=status_code)


async def issue(
    deps: OxAuthDeps,
    web: WebDeps,
    req: AuthorizationRequest,
    client: ClientMetadata,
    *,
    session: Session,
    status_code: int,
) -> Response:
    """Record the client in the session, then return code and/or tokens."""
    clients = session.clients
    if client.client_id not in clients:
        clients = (*clients, client.client_id)
    session = dataclasses.replace(session, clients=clients)
    await sessions.touch(deps, web.settings, session)
    code = None
    if "code" in req.response_types:
        code = await deps.issuer.issue_code(
            client=client,
            redirect_uri=req.redirect_uri,
            scope=req.scope,
            session=session,
            nonce=req.nonce,
            code_challenge=req.code_challenge,
            code_challenge_method=req.code_challenge_method,
            claims=req.claims,
        )
    params: dict[str, str | None] = {"code": code}
    if req.response_types & {"token", "id_token"}:
        tokens = await deps.issuer.issue_tokens_for_authorization(
            client=client,
            response_types=req.response_types,
            scope=req.scope,
            session=session,
            nonce=req.nonce,
            code=code,
            state=req.state,
            claims=req.claims,
        )
        params.update({k: str(v) for k, v in tokens.items() if v is not None})
    params["state"] = req.state
    params["iss"] = deps.config.issuer
    out = modes.build_response(req.redirect_uri, params, req.response_mode)
    return render.authorization_response(out, status_code)
