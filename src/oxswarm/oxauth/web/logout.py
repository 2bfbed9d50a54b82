"""``/oxauth/restv1/end_session`` (GET and POST): OpenID Connect RP-Initiated Logout 1.0.

With a valid ``id_token_hint`` naming the current session (its ``sid``), the session ends
at once; otherwise the user confirms on a page (a CSRF-protected POST back here with
``logout=yes``), since anyone can link to this endpoint. Ending a session deletes it from
the shared cache, clears the cookie, renders front-channel logout iframes for every client
of the session and sends back-channel Logout Tokens after the response. Then the browser
goes to the registered ``post_logout_redirect_uri`` (with ``state``), or sees a page.
Refused requests (bad hint, unregistered URI) get an error page (400), never a redirect.
The page's ``frame-src`` is built from each iframe's parsed origin
(:func:`~oxswarm.oxauth.web.render.frame_sources`).
"""

from __future__ import annotations

from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from oxswarm.oauth.oidc import rp_initiated_logout as rpil
from oxswarm.oauth.oidc.core.authorization import AuthorizationPageError
from oxswarm.oxauth.model import OxAuthDeps, Session
from oxswarm.oxauth.web import notify, render, sessions
from oxswarm.oxauth.web.authorize import unique_params
from oxswarm.oxauth.web.deps import WebDeps, web_deps
from oxswarm.oxauth.web.flow import client_name
from oxswarm.oxauth.web.security import csrf_ok, csrf_token

END_SESSION_PATH = "/oxauth/restv1/end_session"
CARRIED = ("id_token_hint", "post_logout_redirect_uri", "state", "client_id", "ui_locales")


async def end_session(request: Request) -> Response:
    deps: OxAuthDeps = request.app.state.deps
    web = web_deps(deps)
    secret = sessions.secret_of(deps)
    render.use(request, deps)
    try:
        if request.method == "POST":
            form = await request.form()
            params = unique_params((k, v) for k, v in form.multi_items() if isinstance(v, str))
        else:
            params = unique_params(request.query_params.multi_items())
    except AuthorizationPageError as exc:
        return render.error_page(exc.error, exc.description)
    render.use(request, deps, params.get("ui_locales"))
    hint = None
    if params.get("id_token_hint"):
        hint = await deps.issuer.verify_id_token_hint(
            params["id_token_hint"], params.get("client_id") or None
        )
    try:
        client_id = rpil.client_id_of(params, hint)
        client = await deps.clients.get(client_id) if client_id else None
        logout = rpil.validate(
            params, hint=hint, hint_given=bool(params.get("id_token_hint")), client=client
        )
    except rpil.LogoutRequestError as exc:
        return render.error_page(exc.error, exc.description)
    session = await sessions.current(request, deps)
    if session is None:
        return _finish(deps, logout, [])
    confirmed = params.get("logout") == "yes" and csrf_ok(
        secret, "logout", session.sid, params.get("csrf_token")
    )
    if not confirmed and (logout.hint_sid is None or logout.hint_sid != session.sid):
        return render.page(
            "logout_confirm.html",
            action=END_SESSION_PATH,
            csrf_token=csrf_token(secret, "logout", session.sid),
            params=[(k, params[k]) for k in CARRIED if params.get(k)],
            username=session.username,
            client_name=client_name(client) if client else None,
        )
    return await _end(deps, web, logout, session)


async def _end(
    deps: OxAuthDeps, web: WebDeps, logout: rpil.LogoutRequest, session: Session
) -> Response:
    await deps.sessions.delete(session.sid)
    clients = await notify.session_clients(deps, session)
    frames = notify.frontchannel_urls(deps, session, clients)
    response = _finish(deps, logout, frames)
    if any(c.backchannel_logout_uri for c in clients):
        response.background = BackgroundTask(
            notify.backchannel, deps, web.http, session, clients, sessions.now()
        )
    return response


def _finish(deps: OxAuthDeps, logout: rpil.LogoutRequest, frames: list[str]) -> Response:
    next_url = logout.redirect_location()
    response: Response
    if next_url and not frames:
        response = RedirectResponse(
            next_url, status_code=303, headers={"Cache-Control": "no-store"}
        )
    else:
        dev = deps.config.issuer.startswith("http://")
        frames, frame_src = render.frame_sources(frames, allow_http_loopback=dev)
        response = render.page(
            "logged_out.html", frames=frames, next_url=next_url, frame_src=frame_src
        )
    sessions.clear_session_cookie(response, deps)
    return response
