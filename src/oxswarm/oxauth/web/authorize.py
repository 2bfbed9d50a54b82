"""``/oxauth/restv1/authorize`` (GET and POST): OpenID Connect Core 1.0 section 3.1.2.1
(POST as form serialization), RFC 6749 section 3.1.

Errors before the client and redirect URI are established are shown on a page (400);
after that they are returned to the redirect URI (302) in the response mode.
"""

from __future__ import annotations

from collections.abc import Iterable

from starlette.requests import Request
from starlette.responses import Response

from oxswarm.oauth.models import ClientMetadata
from oxswarm.oauth.oidc.core.authorization import (
    AuthorizationPageError,
    AuthorizationRedirectError,
    validate,
)
from oxswarm.oxauth.model import OxAuthDeps
from oxswarm.oxauth.web import render, sessions
from oxswarm.oxauth.web.deps import web_deps
from oxswarm.oxauth.web.flow import proceed


def unique_params(items: Iterable[tuple[str, str]]) -> dict[str, str]:
    """RFC 6749 3.1: empty values are omitted, a repeated parameter is an error."""
    out: dict[str, str] = {}
    for name, value in items:
        if value == "":
            continue
        if name in out:
            raise AuthorizationPageError("invalid_request", f"parameter {name!r} is repeated")
        out[name] = value
    return out


async def lookup_client(deps: OxAuthDeps, params: dict[str, str]) -> ClientMetadata | None:
    client_id = params.get("client_id")
    return await deps.clients.get(client_id) if client_id else None


async def authorize(request: Request) -> Response:
    deps: OxAuthDeps = request.app.state.deps
    web = web_deps(deps)
    render.use(request, deps)
    try:
        if request.method == "POST":
            form = await request.form()
            items = [(k, v) for k, v in form.multi_items() if isinstance(v, str)]
        else:
            items = list(request.query_params.multi_items())
        params = unique_params(items)
        render.use(request, deps, params.get("ui_locales"))
        client = await lookup_client(deps, params)
        req = validate(params, client)
        assert client is not None
        session = await sessions.current(request, deps)
        return await proceed(request, deps, web, req, client, session=session)
    except AuthorizationPageError as exc:
        return render.error_page(exc.error, exc.description)
    except AuthorizationRedirectError as exc:
        return render.authorization_response(exc.response(deps.config.issuer), 302)
