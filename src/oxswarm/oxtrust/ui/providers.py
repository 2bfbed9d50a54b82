"""Configuration -> Passport providers (oxPassport's upstream OpenID Providers and SAML
IdPs, docs/passport.md): list, add, enable or disable, remove.

The same store and rules as ``oxswarm providers`` and the admin API
(:class:`~oxswarm.passport.providers.ProviderStore`, :func:`~oxswarm.passport.providers.build`):
a bad field is a 400 naming it, nothing stored. The client secret is write-only (a
password field; never shown). Every change is in the audit log (``passport_provider.*``,
never the secret).
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from oxswarm.errors import InvalidInput, NotFound
from oxswarm.oxtrust.ui.deps import UiDeps
from oxswarm.oxtrust.ui.render import Ctx, admin
from oxswarm.passport.providers import LINKING, Provider, ProviderStore, build, check_secret


def entered(form: dict[str, str]) -> tuple[Provider, str | None]:
    """The add form as a provider and its secret; :class:`InvalidInput` naming the field."""
    kind = form.get("type", "oidc")
    data: dict[str, Any] = {"id": form.get("id", "").strip(), "type": kind,
                            "name": " ".join(form.get("name", "").split()),
                            "linking": form.get("linking", "create")}
    if kind == "saml":
        data["metadata"] = form.get("metadata", "").strip()
        return build(data), None
    data.update(issuer=form.get("issuer", "").strip(), client_id=form.get("client_id", "").strip())
    provider = build(data)
    return provider, check_secret(form.get("client_secret", ""))


def provider_routes(deps: UiDeps) -> list[Route]:
    guard = admin(deps)
    store = ProviderStore(deps.manager)

    async def page(ctx: Ctx, status: int = 200, errors: dict[str, str] | None = None,
                   form: dict[str, str] | None = None, saved: str | None = None) -> Response:
        rows = await asyncio.to_thread(store.list)
        return ctx.page("providers.html", status, title="Passport providers",
                        section="providers", providers=rows, errors=errors or {},
                        form=form or {}, saved=saved, linking=LINKING)

    @guard
    async def index(request: Request, ctx: Ctx) -> Response:
        if request.method == "GET":
            return await page(ctx, saved=request.query_params.get("saved"))
        form = {k: v for k, v in ctx.form.items() if k != "client_secret"}
        try:
            provider, secret = entered(dict(ctx.form))
            await asyncio.to_thread(store.add, provider, secret)
        except InvalidInput as exc:
            field = (exc.field or "id").replace("-", "_")
            return await page(ctx, 400, {field: str(exc)}, form)
        await ctx.audit("passport_provider.create", provider.id,
                        {k: v for k, v in provider.public().items() if k != "metadata"})
        return RedirectResponse(f"/identity/providers?saved={provider.id}", status_code=303)

    @guard
    async def change(request: Request, ctx: Ctx) -> Response:
        provider_id, action = request.path_params["provider_id"], request.path_params["action"]
        if action not in ("enable", "disable", "remove"):
            return ctx.page("error.html", 404, title="Not found", message="No such action.")
        try:
            found = await asyncio.to_thread(store.get, provider_id)
        except NotFound:
            return ctx.page("error.html", 404, title="Not found", message="No such provider.")
        if action == "remove":
            await asyncio.to_thread(store.remove, found.id)
            await ctx.audit("passport_provider.delete", found.id, {})
        else:
            await asyncio.to_thread(store.replace, replace(found, enabled=action == "enable"))
            await ctx.audit("passport_provider.update", found.id, {"enabled": action == "enable"})
        return RedirectResponse("/identity/providers", status_code=303)

    return [
        Route("/identity/providers", index, methods=["GET", "POST"]),
        Route("/identity/providers/{provider_id}/{action:str}", change, methods=["POST"]),
    ]
