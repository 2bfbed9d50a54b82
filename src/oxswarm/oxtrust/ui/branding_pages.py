"""Configuration -> Branding: the organisation's name, logo and colours on oxAuth's
sign-in, consent and signed-out pages.

The values go to the config store as ``oxauth_brand_*`` (:mod:`oxswarm.oxauth.branding`,
the one validator: ``#rrggbb`` colours, a PNG or JPEG logo of at most 100,000 bytes known
by its magic bytes, never SVG); every oxAuth process follows them by its live-policy watch,
without a restart. A refusal names its field beside it and nothing is written. The logo's
preview here is served by oxTrust itself (``/identity/branding/logo``, nosniff), so this
page's CSP stays ``default-src 'self'``.
"""

from __future__ import annotations

import asyncio
import base64
from typing import Any

from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from oxswarm.errors import InvalidInput
from oxswarm.oxauth import branding as B
from oxswarm.oxtrust.ui.deps import UiDeps
from oxswarm.oxtrust.ui.render import Ctx, admin


def _stored(deps: UiDeps) -> dict[str, str]:
    return {name: deps.manager.get(name) or "" for name in B.NAMES}


def _shown(stored: dict[str, str]) -> dict[str, Any]:
    return {B.NAME: stored[B.NAME], B.COLOR: stored[B.COLOR] or B.DEFAULT_COLOR,
            B.BACKGROUND: stored[B.BACKGROUND] or B.DEFAULT_BACKGROUND,
            "has_logo": bool(stored[B.LOGO])}


async def _upload(ctx: Ctx) -> bytes | None:
    """The uploaded logo's bytes (at most one byte more than allowed), None when none."""
    found = ctx.lists.get(B.LOGO) if ctx.lists is not None else None
    if not isinstance(found, UploadFile) or not found.filename:
        return None
    return await found.read(B.MAX_LOGO + 1)


def _checked(ctx: Ctx, logo: bytes | None) -> tuple[dict[str, str], dict[str, str], str]:
    """``(values to store, errors by field, what happened to the logo)``."""
    form = ctx.form
    values: dict[str, str] = {}
    errors: dict[str, str] = {}
    for name in (B.NAME, B.COLOR, B.BACKGROUND):
        raw = form.get(name, "")
        try:
            values[name] = B.brand_name(raw) if name == B.NAME else B.colour(raw, name)
        except InvalidInput as exc:
            errors[name] = str(exc)
    logo_change = "kept"
    if logo is not None:
        try:
            kind = B.image_type(logo)
            values[B.LOGO] = base64.b64encode(logo).decode()
            logo_change = f"{len(logo)} bytes {kind}"
        except InvalidInput as exc:
            errors[B.LOGO] = str(exc)
    elif "remove_logo" in form:
        values[B.LOGO] = ""
        logo_change = "removed"
    return values, errors, logo_change


def branding_routes(deps: UiDeps) -> list[Route]:
    guard = admin(deps)

    @guard
    async def branding(request: Request, ctx: Ctx) -> Response:
        stored = await asyncio.to_thread(_stored, deps)
        if request.method == "GET":
            return ctx.page("branding.html", title="Branding", section="branding",
                            values=_shown(stored), errors={},
                            saved=request.query_params.get("saved"))
        values, errors, logo_change = _checked(ctx, await _upload(ctx))
        if errors:
            shown = {**_shown(stored), **{k: ctx.form.get(k, "") for k in
                                          (B.NAME, B.COLOR, B.BACKGROUND)}}
            return ctx.page("branding.html", 400, title="Branding", section="branding",
                            values=shown, errors=errors)
        changed = {k: v for k, v in values.items() if v != stored.get(k)}
        await asyncio.to_thread(_set_all, deps, changed)
        detail: dict[str, Any] = {k: v for k, v in changed.items() if k != B.LOGO}
        if B.LOGO in changed:
            detail["logo"] = logo_change
        await ctx.audit("branding.update", "oxauth", detail)
        return RedirectResponse("/identity/branding?saved=1", status_code=303)

    @guard
    async def logo(_request: Request, _ctx: Ctx) -> Response:
        stored = await asyncio.to_thread(deps.manager.get, B.LOGO)
        try:
            data = base64.b64decode(stored or "", validate=True)
            kind = B.image_type(data)
        except (InvalidInput, ValueError):
            return Response("no logo\n", status_code=404, media_type="text/plain")
        return Response(data, media_type=kind, headers={
            "X-Content-Type-Options": "nosniff", "Cache-Control": "no-store",
            "Content-Security-Policy": "default-src 'none'"})

    return [
        Route("/identity/branding", branding, methods=["GET", "POST"]),
        Route("/identity/branding/logo", logo, methods=["GET"]),
    ]


def _set_all(deps: UiDeps, changed: dict[str, str]) -> None:
    for key, value in changed.items():
        deps.manager.set(key, value)
