"""Pages: Jinja2 templates (autoescaped), security headers, and the admin guard.

Every page handler is wrapped by :func:`admin`: no session -> sign-in; signed in but
not a member of the managers group (``Gluu Manager Group``) -> 403; a POST without the
session's CSRF token in its form -> 403 and nothing done. Membership is read from the
directory on each request, so removing someone from the group takes effect at once.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final
from urllib.parse import quote

from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from oxswarm.directory.people import GroupRepository
from oxswarm.directory.slapdconf import ADMIN_GROUP_INUM
from oxswarm.errors import NotFound
from oxswarm.oxauth.addressing import client_address
from oxswarm.oxtrust.ui import session as sessions
from oxswarm.oxtrust.ui.deps import UiDeps
from oxswarm.oxtrust.ui.session import UiSession

_ENV = Environment(
    loader=PackageLoader("oxswarm.oxtrust.ui", "templates"),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)
HEADERS: Final = {
    "Content-Security-Policy": "default-src 'self'; frame-ancestors 'none'; form-action 'self' "
    "http: https:; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
NAV: Final = (
    ("dashboard", "Dashboard", "/identity"),
    ("people", "People", "/identity/people"),
    ("groups", "Groups", "/identity/groups"),
    ("clients", "Clients", "/identity/clients"),
    ("trusts", "SAML", "/identity/trusts"),
    ("scopes", "Scopes", "/identity/scopes"),
    ("sectors", "Sector identifiers", "/identity/sectors"),
    ("providers", "Passport", "/identity/providers"),
    ("keys", "Keys", "/identity/keys"),
    ("policy", "Authentication", "/identity/policy"),
    ("config", "Configuration", "/identity/config"),
    ("branding", "Branding", "/identity/branding"),
)


def html(template: str, status: int = 200, **context: Any) -> HTMLResponse:
    body = _ENV.get_template(template).render(nav=NAV, **context)
    return HTMLResponse(body, status_code=status, headers=dict(HEADERS))


def forbidden(message: str) -> HTMLResponse:
    return html("error.html", 403, title="Forbidden", message=message)


@dataclass
class Ctx:
    """One admin request: the deps, the session, the form of a POST."""

    deps: UiDeps
    session: UiSession
    form: Mapping[str, str] = field(default_factory=dict)
    lists: FormData | None = None
    address: str | None = None

    @property
    def actor(self) -> str:
        return self.session.uid

    def page(self, template: str, status: int = 200, **context: Any) -> HTMLResponse:
        return html(template, status, user=self.session.uid,
                    csrf_token=sessions.token_for(self.deps, self.session), **context)

    def values(self, name: str) -> list[str]:
        return [str(v) for v in self.lists.getlist(name)] if self.lists is not None else []

    async def audit(self, action: str, target: str, details: Mapping[str, Any]) -> None:
        await self.deps.audit(self.actor, action, target, details, self.address)


def is_admin(deps: UiDeps, sub: str) -> bool:
    try:
        group = GroupRepository(deps.directory, deps.tree).get(ADMIN_GROUP_INUM)
    except NotFound:
        return False
    return sub in group.members


Handler = Callable[[Request, Ctx], Awaitable[Response]]


def admin(deps: UiDeps) -> Callable[[Handler], Callable[[Request], Awaitable[Response]]]:
    """Wrap a page handler with the sign-in, admin and CSRF checks."""

    def wrap(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
        @functools.wraps(handler)
        async def endpoint(request: Request) -> Response:
            session = await sessions.current(request, deps)
            if session is None:
                target = request.url.path if request.method == "GET" else "/identity"
                return RedirectResponse(
                    f"/identity/auth/login?next={quote(target, safe='/')}", status_code=303
                )
            if not await asyncio.to_thread(is_admin, deps, session.sub):
                return forbidden(f"{session.uid} is not an administrator of this server.")
            ctx = Ctx(deps, session, address=client_address(
                request.client.host if request.client else None,
                request.headers.get("x-forwarded-for"), deps.settings.trusted_proxies,
            ))
            if request.method == "POST":
                form = await request.form()
                token = form.get("csrf_token")
                if not isinstance(token, str) or not sessions.token_ok(deps, session, token):
                    return forbidden("csrf_token: missing or wrong; reload the page and retry.")
                ctx.form = {k: str(v) for k, v in form.items() if isinstance(v, str)}
                ctx.lists = form
            return await handler(request, ctx)

        return endpoint

    return wrap
