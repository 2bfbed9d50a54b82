"""``/oxauth/branding/style.css``, ``/oxauth/branding/logo`` and
``/oxauth/branding/pages.js``: what the pages need, served by oxAuth itself (the first two
from the branding it follows live, :mod:`oxswarm.oxauth.branding`), so the pages' CSP
allows styles and images from ``'self'`` only and no inline script or style at all.

``pages.js`` is the pages' only script: it submits the ``form_post`` response form and,
on the signed-out page, goes on to the client's ``post_logout_redirect_uri`` (the link's
``href``, after the front-channel iframes loaded). The pages load it with the response's
nonce (CSP ``script-src 'nonce-...'``: not even another script of this origin runs).

All carry ``X-Content-Type-Options: nosniff`` and a CSP of ``default-src 'none'``. The
pages link them with ``?v=<version>`` (a hash of the branding): an answer for the current
version may be cached a day; any other (a process that has not yet seen a change, or an
old link) is revalidated every time, so no browser keeps a stale look.
"""

from __future__ import annotations

from typing import Final

from starlette.requests import Request
from starlette.responses import Response

from oxswarm.oxauth.branding import stylesheet
from oxswarm.oxauth.model import OxAuthDeps
from oxswarm.oxauth.web.render import branding_of

SCRIPT_PATH: Final = "/oxauth/branding/pages.js"
SCRIPT: Final = """(function () {
  "use strict";
  var form = document.getElementById("form-post");
  if (form) { form.submit(); return; }
  var next = document.getElementById("continue");
  if (next && next.getAttribute("data-auto") === "1") {
    window.addEventListener("load", function () { window.location.replace(next.href); });
  }
})();
"""
STYLE_PATH: Final = "/oxauth/branding/style.css"
LOGO_PATH: Final = "/oxauth/branding/logo"
_BASE: Final = {"X-Content-Type-Options": "nosniff",
                "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'"}


def _caching(request: Request, version: str) -> dict[str, str]:
    fresh = request.query_params.get("v") == version
    return {**_BASE, "ETag": f'"{version}"',
            "Cache-Control": "public, max-age=86400" if fresh else "no-cache"}


async def style(request: Request) -> Response:
    deps: OxAuthDeps = request.app.state.deps
    brand = branding_of(deps)
    headers = _caching(request, brand.version)
    if request.headers.get("if-none-match") == headers["ETag"]:
        return Response(status_code=304, headers=headers)
    return Response(stylesheet(brand), media_type="text/css; charset=utf-8", headers=headers)


async def logo(request: Request) -> Response:
    deps: OxAuthDeps = request.app.state.deps
    brand = branding_of(deps)
    if not brand.logo:
        return Response("no logo\n", status_code=404, media_type="text/plain", headers=_BASE)
    headers = _caching(request, brand.version)
    if request.headers.get("if-none-match") == headers["ETag"]:
        return Response(status_code=304, headers=headers)
    return Response(brand.logo, media_type=brand.logo_type, headers=headers)


async def script(request: Request) -> Response:
    headers = {**_BASE, "Cache-Control": "public, max-age=3600"}
    return Response(SCRIPT, media_type="text/javascript; charset=utf-8", headers=headers)
