"""Rendering: Jinja2 templates (autoescaped) and the security headers of every page.

Pages are never cached (``Cache-Control: no-store``), never framed except the logout page's
own RP iframes (``frame-ancestors 'none'``), and run only the inline script and style
carrying the response's nonce (Content Security Policy).
"""

from __future__ import annotations

import secrets
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.responses import HTMLResponse, RedirectResponse, Response

from oxswarm.oauth import oauth2_response_modes as modes

_ENV = Environment(
    loader=PackageLoader("oxswarm.oxauth.web", "templates"),
    autoescape=select_autoescape(["html"]),
    trim_blocks=False,
)


def page(
    template: str,
    status_code: int = 200,
    *,
    frame_src: str = "'none'",
    **context: Any,
) -> HTMLResponse:
    """Render ``template`` with a fresh CSP nonce and the security headers."""
    nonce = secrets.token_urlsafe(16)
    html = _ENV.get_template(template).render(nonce=nonce, **context)
    csp = (
        f"default-src 'none'; style-src 'nonce-{nonce}'; script-src 'nonce-{nonce}'; "
        f"frame-src {frame_src}; frame-ancestors 'none'; base-uri 'none'"
    )
    return HTMLResponse(
        html,
        status_code=status_code,
        headers={
            "Cache-Control": "no-store",
            "Pragma": "no-cache",
            "Content-Security-Policy": csp,
            "X-Frame-Options": "DENY",
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "no-referrer",
        },
    )


def error_page(error: str, description: str, status_code: int = 400) -> HTMLResponse:
    return page("error.html", status_code, error=error, description=description)


def authorization_response(out: modes.AuthorizationResponse, status_code: int = 303) -> Response:
    """A redirect (303 after a POST, 302 after a GET) or an auto-submitting form."""
    if isinstance(out, modes.FormPostResponse):
        return page("form_post.html", action=out.action, params=out.params)
    return RedirectResponse(
        out.location, status_code=status_code, headers={"Cache-Control": "no-store"}
    )
