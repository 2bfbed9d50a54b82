"""Configuration -> Passport providers (oxPassport's upstream OpenID Providers and SAML
IdPs, docs/passport.md): list, add, edit (options and attribute mapping), enable or
disable, remove.

The same store and rules as ``oxswarm providers`` and the admin API
(:class:`~oxswarm.passport.providers.ProviderStore`, :func:`~oxswarm.passport.providers.build`):
a bad field is a 400 naming it beside the field, nothing stored. The client secret is
write-only (a password field; never shown). Every form that changes a provider carries
the provider's version as the page showed it (a hidden field): a change made meanwhile by
anyone else (another admin, the CLI, the API) refuses the stale form with 409 and a
message, instead of overwriting it. Every change is in the audit log
(``passport_provider.*``, never the secret).
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import Any, Final

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from oxswarm.errors import AssertionFailed, Conflict, InvalidInput, NotFound
from oxswarm.oxtrust.ui.deps import UiDeps
from oxswarm.oxtrust.ui.render import Ctx, admin
from oxswarm.passport.providers import (
    DEFAULT_MAPPING,
    LINKING,
    MAPPABLE,
    UPDATES,
    Provider,
    ProviderStore,
    build,
    check_secret,
    version,
)

BLANK_ROWS: Final = 3  # empty mapping rows offered for new claims
STALE: Final = ("was changed by someone else since this page was loaded; nothing was saved. "
                "Reload the page to see the current provider and edit it again.")


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


def mapping_rows(mapping: dict[str, str], blanks: int = BLANK_ROWS) -> list[tuple[str, str]]:
    """The edit form's rows: each mapped claim, then empty rows to add more."""
    return [*sorted(mapping.items()), *([("", "")] * blanks)]


def entered_mapping(form: dict[str, str]) -> dict[str, str]:
    """The mapping rows of the edit form (``map_claim_N``, ``map_field_N``); an empty claim
    with no field is an unused row. :class:`InvalidInput` names the row's input."""
    out: dict[str, str] = {}
    for n in range(64 + BLANK_ROWS):
        claim = form.get(f"map_claim_{n}", "").strip()
        target = form.get(f"map_field_{n}", "").strip()
        if not claim:
            if target:
                raise InvalidInput(f"mapping: row {n + 1} names the field {target} but no "
                                   "claim", field=f"map_claim_{n}")
            continue
        if claim in out:
            raise InvalidInput(f"mapping: the claim {claim!r} is mapped twice",
                               field=f"map_claim_{n}")
        if len(claim) > 128 or any(ord(c) < 0x21 for c in claim):
            raise InvalidInput(f"mapping: {claim[:40]!r} is not a claim name (at most 128 "
                               "printable characters, no spaces)", field=f"map_claim_{n}")
        if target and target not in MAPPABLE:
            raise InvalidInput(f"mapping: {claim} -> {target!r}: the field must be one of "
                               f"{', '.join(MAPPABLE)} (or none to drop it)",
                               field=f"map_field_{n}")
        out[claim] = target
    return out


def edited(current: Provider, form: dict[str, str]) -> Provider:
    """The edit form applied to the provider as stored; :class:`InvalidInput` naming the
    field (scopes space-separated; the type and id are not editable)."""
    data = {**current.public(), "name": " ".join(form.get("name", "").split()),
            "linking": form.get("linking", ""), "update": form.get("update", ""),
            "mapping": entered_mapping(form)}
    if current.type == "saml":
        data["subject_attribute"] = form.get("subject_attribute", "").strip()
    else:
        data.update(issuer=form.get("issuer", "").strip(),
                    client_id=form.get("client_id", "").strip(),
                    scopes=form.get("scopes", "").split())
    return build(data)


def _field(exc: InvalidInput) -> str:
    name = (exc.field or "id").replace("-", "_")
    return {"scope": "scopes", "client_secret": "client_secret"}.get(name, name)


async def _list_page(store: ProviderStore, ctx: Ctx, status: int = 200, *,
                     errors: dict[str, str] | None = None, form: dict[str, str] | None = None,
                     saved: str | None = None, problem: str | None = None) -> Response:
    rows = await asyncio.to_thread(store.list)
    return ctx.page("providers.html", status, title="Passport providers",
                    section="providers", providers=rows, errors=errors or {},
                    form=form or {}, saved=saved, linking=LINKING, version=version,
                    problem=problem)


def _edit_page(ctx: Ctx, provider: Provider, status: int = 200, *,
               errors: dict[str, str] | None = None, form: dict[str, str] | None = None,
               problem: str | None = None, shown_version: str | None = None) -> Response:
    values = form or {"name": provider.name, "linking": provider.linking,
                      "update": provider.update, "issuer": provider.issuer,
                      "client_id": provider.client_id, "scopes": " ".join(provider.scopes),
                      "subject_attribute": provider.subject_attribute}
    if form is not None:  # the rows as entered, so a refused form keeps them
        count = sum(1 for k in form if k.startswith("map_claim_"))
        rows = [(form.get(f"map_claim_{n}", ""), form.get(f"map_field_{n}", ""))
                for n in range(count)]
    else:
        rows = mapping_rows(dict(provider.mapping))
    return ctx.page("provider_form.html", status, title=f"Provider {provider.id}",
                    section="providers", provider=provider, form=values, rows=rows,
                    errors=errors or {}, linking=LINKING, updates=UPDATES,
                    fields=MAPPABLE, defaults=DEFAULT_MAPPING, problem=problem,
                    version=shown_version or version(provider))


def provider_routes(deps: UiDeps) -> list[Route]:
    guard = admin(deps)
    store = ProviderStore(deps.manager)

    async def page(ctx: Ctx, status: int = 200, **context: Any) -> Response:
        return await _list_page(store, ctx, status, **context)

    @guard
    async def index(request: Request, ctx: Ctx) -> Response:
        if request.method == "GET":
            return await page(ctx, saved=request.query_params.get("saved"))
        form = {k: v for k, v in ctx.form.items() if k != "client_secret"}
        try:
            provider, secret = entered(dict(ctx.form))
            await asyncio.to_thread(store.add, provider, secret)
        except InvalidInput as exc:
            return await page(ctx, 400, errors={_field(exc): str(exc)}, form=form)
        except Conflict as exc:
            return await page(ctx, 409, form=form, problem=str(exc))
        await ctx.audit("passport_provider.create", provider.id,
                        {k: v for k, v in provider.public().items() if k != "metadata"})
        return RedirectResponse(f"/identity/providers?saved={provider.id}", status_code=303)

    @guard
    async def edit(request: Request, ctx: Ctx) -> Response:
        provider_id = request.path_params["provider_id"]
        try:
            found = await asyncio.to_thread(store.get, provider_id)
        except NotFound:
            return ctx.page("error.html", 404, title="Not found", message="No such provider.")
        if request.method == "GET":
            return _edit_page(ctx, found)
        form = {k: v for k, v in ctx.form.items() if k not in ("client_secret", "csrf_token")}
        shown = ctx.form.get("version", "")
        secret = (ctx.form.get("client_secret") or None) if found.type != "saml" else None
        try:
            changed = await asyncio.to_thread(
                store.update, provider_id, lambda current: edited(current, dict(ctx.form)),
                secret, lambda current: version(current) == shown)
        except InvalidInput as exc:
            return _edit_page(ctx, found, 400, errors={_field(exc): str(exc)}, form=form,
                             shown_version=shown)
        except NotFound:
            return ctx.page("error.html", 404, title="Not found", message="No such provider.")
        except AssertionFailed:
            return _edit_page(ctx, found, 409, form=form, shown_version=shown,
                             problem=f"Provider {provider_id} {STALE}")
        except Conflict as exc:
            return _edit_page(ctx, found, 409, form=form, shown_version=shown,
                             problem=str(exc))
        detail = {k: v for k, v in changed.public().items() if k != "metadata"}
        await ctx.audit("passport_provider.update", changed.id,
                        {**detail, "credential_changed": secret is not None})
        return RedirectResponse(f"/identity/providers?saved={changed.id}", status_code=303)

    @guard
    async def change(request: Request, ctx: Ctx) -> Response:
        provider_id, action = request.path_params["provider_id"], request.path_params["action"]
        if action not in ("enable", "disable", "remove"):
            return ctx.page("error.html", 404, title="Not found", message="No such action.")
        shown = ctx.form.get("version", "")

        def same(current: Provider) -> bool:
            return version(current) == shown
        try:
            if action == "remove":
                await asyncio.to_thread(store.remove, provider_id, same)
            else:
                await asyncio.to_thread(
                    store.update, provider_id,
                    lambda current: replace(current, enabled=action == "enable"), None, same)
        except NotFound:
            return ctx.page("error.html", 404, title="Not found", message="No such provider.")
        except AssertionFailed:
            return await page(ctx, 409, problem=f"Provider {provider_id} {STALE}")
        except Conflict as exc:
            return await page(ctx, 409, problem=str(exc))
        if action == "remove":
            await ctx.audit("passport_provider.delete", provider_id, {})
        else:
            await ctx.audit("passport_provider.update", provider_id,
                            {"enabled": action == "enable"})
        return RedirectResponse("/identity/providers", status_code=303)

    return [
        Route("/identity/providers", index, methods=["GET", "POST"]),
        Route("/identity/providers/{provider_id}", edit, methods=["GET", "POST"]),
        Route("/identity/providers/{provider_id}/{action:str}", change, methods=["POST"]),
    ]
