"""Scope pages: list, add, edit (description, claims released, default, type), delete.

Input is checked by the admin API's model (:class:`oxswarm.oxtrust.api.models.ScopeIn`,
the same rules as ``/identity/restv1/api/v1/scopes``); a refusal names its field beside
it; the scope is written once, after the check.
"""

from __future__ import annotations

import asyncio
from typing import Any, Final

from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from oxswarm.directory.models import Scope
from oxswarm.directory.scopes import ScopeRepository
from oxswarm.errors import InvalidInput, NotFound
from oxswarm.oxtrust.api.models import ScopeIn
from oxswarm.oxtrust.ui.deps import UiDeps
from oxswarm.oxtrust.ui.render import Ctx, admin

TYPES: Final = ("openid", "oauth", "uma", "dynamic")
KEPT: Final = frozenset({"openid"})  # every OpenID Connect request needs it


def _parse(ctx: Ctx, name: str | None = None) -> tuple[ScopeIn | None, dict[str, str]]:
    form = ctx.form
    data: dict[str, Any] = {
        "name": name if name is not None else form.get("name", "").strip(),
        "description": form.get("description", "").strip() or None,
        "claims": form.get("claims", "").split(),
        "default": "default" in form,
        "scope_type": form.get("scope_type", "openid"),
    }
    try:
        return ScopeIn(**data), {}
    except ValidationError as exc:
        errors: dict[str, str] = {}
        for err in exc.errors():
            field = str(err["loc"][0]) if err["loc"] else "name"
            errors.setdefault(field, f"{field}: {err['msg']}")
        return None, errors


def _shown(scope: Scope | None, ctx: Ctx | None = None) -> dict[str, Any]:
    if ctx is not None:
        return {**ctx.form, "default": "default" in ctx.form}
    if scope is None:
        return {"scope_type": "openid"}
    return {"name": scope.name, "description": scope.description or "",
            "claims": " ".join(scope.claims), "default": scope.default,
            "scope_type": scope.scope_type}


def scope_routes(deps: UiDeps) -> list[Route]:
    guard = admin(deps)
    repo = ScopeRepository(deps.directory, deps.tree)

    def page(ctx: Ctx, status: int, scope: dict[str, Any], errors: dict[str, str],
             new: bool, **extra: Any) -> Response:
        title = "Add a scope" if new else f"Scope {scope.get('name')}"
        return ctx.page("scope_form.html", status, title=title, section="scopes",
                        scope=scope, errors=errors, new=new, types=TYPES, **extra)

    @guard
    async def index(_request: Request, ctx: Ctx) -> Response:
        found = sorted(await asyncio.to_thread(repo.list), key=lambda s: s.name)
        return ctx.page("scopes.html", title="Scopes", section="scopes", scopes=found)

    @guard
    async def new(request: Request, ctx: Ctx) -> Response:
        if request.method == "GET":
            return page(ctx, 200, _shown(None), {}, True)
        body, errors = _parse(ctx)
        if body is not None and await asyncio.to_thread(
            deps.directory.exists, deps.tree.scope(body.name)
        ):
            errors["name"] = f"name: a scope named {body.name!r} already exists"
        if body is None or errors:
            return page(ctx, 400, _shown(None, ctx), errors, True)
        await asyncio.to_thread(repo.add, Scope(**body.model_dump()))
        await ctx.audit("scope.add", body.name, body.model_dump())
        return RedirectResponse(f"/identity/scopes/{body.name}?saved=1", status_code=303)

    async def load(name: str) -> Scope | None:
        try:
            return await asyncio.to_thread(repo.get, name)
        except (NotFound, InvalidInput):
            return None

    @guard
    async def show(request: Request, ctx: Ctx) -> Response:
        scope = await load(request.path_params["name"])
        if scope is None:
            return ctx.page("error.html", 404, title="Not found", message="No such scope.")
        if request.method == "GET":
            return page(ctx, 200, _shown(scope), {}, False,
                        saved=request.query_params.get("saved"))
        body, errors = _parse(ctx, scope.name)
        if body is None or errors:
            return page(ctx, 400, {**_shown(None, ctx), "name": scope.name}, errors, False)
        await asyncio.to_thread(repo.update, Scope(**body.model_dump()))
        await ctx.audit("scope.update", scope.name, body.model_dump())
        return RedirectResponse(f"/identity/scopes/{scope.name}?saved=1", status_code=303)

    @guard
    async def delete(request: Request, ctx: Ctx) -> Response:
        scope = await load(request.path_params["name"])
        if scope is None:
            return ctx.page("error.html", 404, title="Not found", message="No such scope.")
        if scope.name in KEPT:
            return ctx.page("error.html", 400, title="Refused",
                            message=f"name: the {scope.name} scope cannot be deleted")
        await asyncio.to_thread(repo.remove, scope.name)
        await ctx.audit("scope.delete", scope.name, {})
        return RedirectResponse("/identity/scopes", status_code=303)

    return [
        Route("/identity/scopes", index, methods=["GET"]),
        Route("/identity/scopes/new", new, methods=["GET", "POST"]),
        Route("/identity/scopes/{name:path}/delete", delete, methods=["POST"]),
        Route("/identity/scopes/{name:path}", show, methods=["GET", "POST"]),
    ]
