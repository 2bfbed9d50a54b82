"""``/oxauth/login`` (POST): the sign-in form's target.

The form posts ``username``, ``password``, ``csrf_token`` (bound to the pre-login browser
cookie) and ``authz`` (the sealed authorization request). The user is checked against the
directory (a bind as the user) under the lockout (:mod:`oxswarm.oxauth.web.lockout`:
per user, slowed down per client address). A successful sign-in always starts a new session
(new ``sid``: no session fixation) and continues the authorization request.

Statuses: 403 bad CSRF token, 400 expired or tampered request / missing fields,
401 wrong credentials, 429 the user is locked out; each re-shows the form with the error tied to the
fields (``aria-describedby``) except the first two, which show an error page.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from oxswarm.oauth.oidc.core import acr
from oxswarm.oauth.oidc.core.authorization import (
    AuthorizationPageError,
    AuthorizationRedirectError,
    validate,
)
from oxswarm.oauth.rfc6749.grants.password import SignInLocked
from oxswarm.oxauth.model import OxAuthDeps, Session
from oxswarm.oxauth.web import render, sessions
from oxswarm.oxauth.web.authorize import lookup_client
from oxswarm.oxauth.web.deps import web_deps
from oxswarm.oxauth.web.flow import login_page, proceed
from oxswarm.oxauth.web.i18n import N_
from oxswarm.oxauth.web.security import BROWSER_COOKIE, csrf_ok, new_id, open_params

MSG_MISSING = N_("Enter your username and your password.")
MSG_WRONG = N_("The username or password is wrong.")
MSG_LOCKED = N_("Too many failed sign-in attempts. Wait a few minutes, then try again.")
MSG_CSRF = N_(
    "The sign-in form was not sent by this site or your browser lost its cookie. "
    "Go back to the application and start again.")
MSG_EXPIRED = N_(
    "The sign-in request expired or was altered. Go back to the application and start again.")


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


async def login(request: Request) -> Response:
    deps: OxAuthDeps = request.app.state.deps
    web = web_deps(deps)
    secret = sessions.secret_of(deps)
    render.use(request, deps)
    form = await request.form()
    if not csrf_ok(
        secret, "login", request.cookies.get(BROWSER_COOKIE), _text(form.get("csrf_token"))
    ):
        return render.error_page("invalid_csrf_token", MSG_CSRF, 403)
    params = open_params(secret, _text(form.get("authz")), web.settings.request_lifetime)
    if params is None:
        return render.error_page("invalid_request", MSG_EXPIRED)
    render.use(request, deps, params.get("ui_locales"))
    try:
        client = await lookup_client(deps, params)
        req = validate(params, client)
        assert client is not None
        username = _text(form.get("username")).strip()
        password = _text(form.get("password"))
        if not username or not password:
            return login_page(
                request,
                deps,
                web,
                req,
                client,
                error=MSG_MISSING,
                username=username,
                status_code=400,
            )
        address = sessions.client_address(request, web.settings)
        try:
            user = await web.lockout.authenticate(deps.users, username, password, address)
        except SignInLocked:
            return login_page(
                request,
                deps,
                web,
                req,
                client,
                error=MSG_LOCKED,
                username=username,
                status_code=429,
            )
        if user is None:
            return login_page(
                request,
                deps,
                web,
                req,
                client,
                error=MSG_WRONG,
                username=username,
                status_code=401,
            )
        old = await sessions.current(request, deps)
        if old is not None:
            await deps.sessions.delete(old.sid)
        at = sessions.now()
        session = Session(
            sid=new_id(),
            sub=user.sub,
            username=user.username,
            auth_time=at,
            expires_at=sessions.expiry(deps, web.settings, at, at),
            acr=acr.chosen(req.acr_values, client.extra.get("default_acr_values"),
                           web.settings.default_acr),
            amr=acr.PASSWORD_AMR,
        )
        await deps.sessions.save(session)
        response = await proceed(
            request, deps, web, req, client, session=session, fresh_login=True, status_code=303
        )
        sessions.set_session_cookie(response, deps, session.sid)
        return response
    except AuthorizationPageError as exc:
        return render.error_page(exc.error, exc.description)
    except AuthorizationRedirectError as exc:
        return render.authorization_response(exc.response(deps.config.issuer), 303)
