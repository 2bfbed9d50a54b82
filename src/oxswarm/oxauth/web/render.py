"""Rendering: Jinja2 templates (autoescaped), in the page's language and the
organisation's branding, and the security headers of every page.

Pages are never cached (``Cache-Control: no-store``), never framed except the logout page's
own RP iframes (``frame-ancestors 'none'``), take their styles and images only from oxAuth
itself (``/oxauth/branding/style.css`` and ``logo``: :mod:`oxswarm.oxauth.branding`) and
run only the script carrying the response's nonce (Content Security Policy): the one
script file oxAuth serves (``/oxauth/branding/pages.js``, form_post and signed-out
pages). No inline script, no inline style.

Each front-channel view calls :func:`use` first: the language
(:func:`oxswarm.oxauth.web.i18n.negotiate`: ``ui_locales``, else ``Accept-Language``) and
the branding the process follows live (``deps.extras["branding"]``) are kept for the
request's task; pages carry ``<html lang>``, ``Content-Language`` and
``Vary: Accept-Language``. Messages are translated in the templates (``_()``, ``{% trans
%}``); an error description is looked up in the catalogue too (the sign-in errors and the
pages' fixed texts are there; a protocol error's technical description stays English).

:func:`frame_sources` turns the logged-out page's iframe URLs (each client's
``frontchannel_logout_uri``) into CSP ``frame-src`` sources: the parsed origin
(``https://host[:port]``, rebuilt from its parts, CSP Level 3 ``host-source``), never the
registered text, so a URI carrying ``; script-src *``, quotes or spaces cannot add a
directive. Only ``https``, or ``http`` on a loopback host while the issuer itself is
``http`` (local development); anything else is skipped with its iframe (and logged).
"""

from __future__ import annotations

import ipaddress
import logging
import re
import secrets
from collections.abc import Iterable
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, Final
from urllib.parse import urlsplit

from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from oxswarm.oauth import oauth2_response_modes as modes
from oxswarm.oxauth.branding import Branding
from oxswarm.oxauth.model import OxAuthDeps
from oxswarm.oxauth.web import i18n

log = logging.getLogger(__name__)

# RFC 3986 characters; anything else (spaces, quotes, controls, ``<>\\^`{|}``) is no URI.
_URI: Final = re.compile(r"^[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]+$")
_LABEL: Final = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_HOST: Final = re.compile(rf"^{_LABEL}(?:\.{_LABEL})*$")
LOOPBACK_NAMES: Final = frozenset({"localhost"})

_ENV = Environment(
    loader=PackageLoader("oxswarm.oxauth.web", "templates"),
    autoescape=select_autoescape(["html"]),
    trim_blocks=False,
    extensions=["jinja2.ext.i18n"],
)


@dataclass(frozen=True, slots=True)
class Look:
    """How one request's pages look: their language and the branding."""

    lang: str = i18n.DEFAULT
    brand: Branding = field(default_factory=Branding)


_LOOK: ContextVar[Look] = ContextVar("oxauth_page_look", default=Look())  # noqa: B039


def branding_of(deps: OxAuthDeps) -> Branding:
    found = deps.extras.get("branding")
    return found if isinstance(found, Branding) else Branding()


def use(request: Request, deps: OxAuthDeps, ui_locales: str | None = None) -> Look:
    """Fix the language and branding of the pages this request renders."""
    look = Look(i18n.negotiate(request.headers.get("accept-language"), ui_locales),
                branding_of(deps))
    _LOOK.set(look)
    return look


def page(
    template: str,
    status_code: int = 200,
    *,
    frame_src: str = "'none'",
    **context: Any,
) -> HTMLResponse:
    """Render ``template`` with a fresh CSP nonce and the security headers."""
    nonce = secrets.token_urlsafe(16)
    look = _LOOK.get()
    words = i18n.translations(look.lang)
    html = _ENV.get_template(template).render(
        nonce=nonce, lang=look.lang, brand=look.brand, gettext=words.gettext,
        ngettext=words.ngettext, **context)
    csp = (
        f"default-src 'none'; style-src 'self'; img-src 'self'; script-src 'nonce-{nonce}'; "
        f"frame-src {frame_src}; frame-ancestors 'none'; base-uri 'none'"
    )
    return HTMLResponse(
        html,
        status_code=status_code,
        headers={
            "Cache-Control": "no-store",
            "Pragma": "no-cache",
            "Content-Security-Policy": csp,
            "Content-Language": look.lang,
            "Vary": "Accept-Language, Cookie",
            "X-Frame-Options": "DENY",
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "no-referrer",
        },
    )


def _loopback(host: str) -> bool:
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def frame_origin(url: str, *, allow_http_loopback: bool = False) -> str | None:
    """``scheme://host[:port]`` of ``url`` as a CSP source, or None when it is not a
    plain https (or allowed loopback http) URL with a well-formed host."""
    if not _URI.match(url):
        return None
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    host = parts.hostname or ""
    scheme = parts.scheme.lower()
    if scheme == "http" and not (allow_http_loopback and _loopback(host)):
        return None
    if scheme not in ("https", "http"):
        return None
    if host.startswith("[") or ":" in host:
        try:
            host = f"[{ipaddress.IPv6Address(host.strip('[]')).compressed}]"
        except ValueError:
            return None
    elif not _HOST.match(host):
        return None
    return f"{scheme}://{host}" + (f":{port}" if port is not None else "")


def frame_sources(
    urls: Iterable[str], *, allow_http_loopback: bool = False
) -> tuple[list[str], str]:
    """The URLs that may be framed and the ``frame-src`` value allowing exactly them."""
    kept: list[str] = []
    origins: set[str] = set()
    for url in urls:
        origin = frame_origin(url, allow_http_loopback=allow_http_loopback)
        if origin is None:
            log.warning("front-channel logout URI skipped, not an https origin: %.200r", url)
            continue
        kept.append(url)
        origins.add(origin)
    return kept, " ".join(sorted(origins)) or "'none'"


def error_page(error: str, description: str, status_code: int = 400) -> HTMLResponse:
    return page("error.html", status_code, error=error, description=description)


def authorization_response(out: modes.AuthorizationResponse, status_code: int = 303) -> Response:
    """A redirect (303 after a POST, 302 after a GET) or an auto-submitting form."""
    if isinstance(out, modes.FormPostResponse):
        return page("form_post.html", action=out.action, params=out.params)
    return RedirectResponse(
        out.location, status_code=status_code, headers={"Cache-Control": "no-store"}
    )
