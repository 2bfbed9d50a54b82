"""``/oxauth/consent`` (POST): the consent form's answer (OpenID Connect Core 3.1.2.4).

``decision=allow`` remembers the granted scopes in the directory (durable, shared by every
node) and continues; anything else returns ``access_denied`` to the client. The CSRF token
is bound to the session's ``sid``. Without a live session the request starts over at the
sign-in form.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from oxswarm.oauth.oidc.core.authorization import (
    AuthorizationPageError,
    AuthorizationRedirectError,
    validate,
)
from oxswarm.oauth.rfc6749.errors import AccessDenied
from oxswarm.oxauth.model import OxAuthDeps
from oxswarm.oxauth.web import render, sessions
from oxswarm.oxauth.web.authorize import lookup_client
from oxswarm.oxauth.web.deps import web_deps
from oxswarm.oxauth.web.flow import proceed
from oxswarm.oxauth.web.i18n import N_
from oxswarm.oxauth.web.security import csrf_ok, open_params


async def consent(request: Request) -> Response:
    deps: OxAuthDeps = request.app.state.deps
    web = web_deps(deps)
    secret = sessions.secret_of(deps)
    render.use(request, deps)
    form = await request.form()
    token = form.get("csrf_token")
    params = open_params(secret, str(form.get("authz") or ""), web.settings.request_lifetime)
    if params is None:
        return render.error_page("invalid_request", N_(
            "The request expired or was altered. Go back to the application and start again."))
    render.use(request, deps, params.get("ui_locales"))
    session = await sessions.current(request, deps)
    if session is not None and not csrf_ok(
        secret, "consent", session.sid, token if isinstance(token, str) else None
    ):
        return render.error_page(
            "invalid_csrf_token", N_("The consent form was not sent by this site."), 403
        )
    try:
        client = await lookup_client(deps, params)
        req = validate(params, client)
        assert client is not None
        if session is None:
            return await proceed(request, deps, web, req, client, session=None, status_code=303)
        if form.get("decision") != "allow":
            raise req.error(AccessDenied("the end-user denied the request"))
        await web.consents.grant(session.sub, client.client_id, frozenset(req.scope))
        return await proceed(
            request, deps, web, req, client, session=session, fresh_consent=True, status_code=303
        )
    except AuthorizationPageError as exc:
        return render.error_page(exc.error, exc.description)
    except AuthorizationRedirectError as exc:
        return render.authorization_response(exc.response(deps.config.issuer), 303)
