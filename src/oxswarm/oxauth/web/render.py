"""Rendering: Jinja2 templates (autoescaped) and the security headers of every page.

Pages are never cached (``Cache-Control: no-store``), never framed except the logout page's
own RP iframes (``frame-ancestors 'none'``), and run only the inline script and style
carrying the response's nonce (Content Security Policy).

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
from typing import Any, Final
from urllib.parse import urlsplit

from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.responses import HTMLResponse, RedirectResponse, Response

from oxswarm.oauth import oauth2_response_modes as modes

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
