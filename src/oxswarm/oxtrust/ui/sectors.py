"""OpenID Connect -> Sector identifiers (Gluu's ``ou=sector_identifiers``): list, add with
redirect URIs, delete.

oxAuth publishes each at ``<issuer>/oxauth/sectoridentifier/<id>`` (the JSON array of its
redirect URIs, :mod:`oxswarm.oxauth.endpoints.sector`); a pairwise client names it as its
``sector_identifier_uri`` and registration checks its redirect URIs against it. Redirect
URIs are checked by the client metadata's own rule
(:func:`oxswarm.oauth.metadata_values.redirect_uri`). A sector identifier still named by a
client cannot be deleted (the client's registration would no longer hold). The issuer is
the one oxAuth's discovery names.
"""

from __future__ import annotations

import asyncio
from typing import Any, Final

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from oxswarm.directory.sectors import SectorRepository, sector_uri
from oxswarm.errors import NotFound
from oxswarm.oauth.metadata_values import MAX_VALUES, redirect_uri
from oxswarm.oauth.rfc6749.errors import OAuthError
from oxswarm.oxauth.relying_party import OidcError as SignInError
from oxswarm.oxtrust.ui.deps import UiDeps
from oxswarm.oxtrust.ui.render import Ctx, admin
from oxswarm.oxtrust.ui.signin import discovery

FIELD: Final = "redirect_uris"


def check(form: dict[str, str]) -> tuple[list[str], str, dict[str, str]]:
    """``(redirect URIs, description, errors by field)`` of the add form."""
    errors: dict[str, str] = {}
    uris: list[str] = []
    for line in form.get(FIELD, "").split():
        if line not in uris:
            uris.append(line)
    if not uris:
        errors[FIELD] = f"{FIELD}: at least one redirect URI"
    elif len(uris) > MAX_VALUES:
        errors[FIELD] = f"{FIELD}: at most {MAX_VALUES}"
    for uri in uris:
        try:
            redirect_uri(FIELD, uri, native=False)
        except OAuthError as exc:
            errors.setdefault(FIELD, str(exc.description))
    description = " ".join(form.get("description", "").split())
    if len(description) > 200:
        errors["description"] = "description: at most 200 characters"
    return uris, description, errors


async def issuer(deps: UiDeps) -> str:
    """The issuer oxAuth's discovery names (the base of hosted sector URIs)."""
    try:
        return str((await discovery(deps))["issuer"])
    except (SignInError, KeyError):
        return deps.settings.public_url


async def hosted(deps: UiDeps) -> list[dict[str, Any]]:
    """Every hosted sector identifier with its ``sector_identifier_uri``."""
    found = await asyncio.to_thread(SectorRepository(deps.directory, deps.tree).list)
    base = await issuer(deps)
    return [{"id": s.id, "uri": sector_uri(base, s.id), "description": s.description,
             "redirect_uris": s.redirect_uris} for s in found]


def client_sector_problem(uri: str | None, redirect_uris: tuple[str, ...],
                          sectors: list[dict[str, Any]], current: str | None) -> str | None:
    """Why a client form's sector choice cannot stand (the option's message), or None:
    it must be a hosted sector listing every redirect URI (OIDC Registration 5), or the
    client's current value left as it is."""
    if not uri or uri == current:
        return None
    chosen = next((s for s in sectors if s["uri"] == uri), None)
    if chosen is None:
        return "sector-identifier-uri: not one of the sector identifiers"
    missing = [u for u in redirect_uris if u not in chosen["redirect_uris"]]
    if missing:
        return (f"sector-identifier-uri: redirect URI {missing[0]!r} is not listed in the "
                "sector identifier")
    return None


def sector_routes(deps: UiDeps) -> list[Route]:
    guard = admin(deps)
    repo = SectorRepository(deps.directory, deps.tree)

    async def page(ctx: Ctx, status: int = 200, errors: dict[str, str] | None = None,
                   form: dict[str, str] | None = None, saved: str | None = None) -> Response:
        rows = await hosted(deps)
        return ctx.page("sectors.html", status, title="Sector identifiers", section="sectors",
                        sectors=rows, errors=errors or {}, form=form or {}, saved=saved)

    @guard
    async def index(request: Request, ctx: Ctx) -> Response:
        if request.method == "GET":
            return await page(ctx, saved=request.query_params.get("saved"))
        uris, description, errors = check(dict(ctx.form))
        if errors:
            return await page(ctx, 400, errors, dict(ctx.form))
        added = await asyncio.to_thread(repo.add, uris, description)
        await ctx.audit("sector.add", added.id, {"redirect_uris": uris,
                                                 "description": description})
        return RedirectResponse(f"/identity/sectors?saved={added.id}", status_code=303)

    @guard
    async def delete(request: Request, ctx: Ctx) -> Response:
        sector_id = request.path_params["sector_id"]
        try:
            sector = await asyncio.to_thread(repo.get, sector_id)
        except NotFound:
            return ctx.page("error.html", 404, title="Not found",
                            message="No such sector identifier.")
        users = await asyncio.to_thread(repo.users, sector_uri(await issuer(deps), sector.id))
        if users:
            return ctx.page("error.html", 409, title="Refused", message=(
                f"id: sector identifier {sector.id} is the sector_identifier_uri of the "
                f"clients {', '.join(users)}; change them first."))
        await asyncio.to_thread(repo.remove, sector.id)
        await ctx.audit("sector.delete", sector.id, {"redirect_uris": list(sector.redirect_uris)})
        return RedirectResponse("/identity/sectors", status_code=303)

    return [
        Route("/identity/sectors", index, methods=["GET", "POST"]),
        Route("/identity/sectors/{sector_id}/delete", delete, methods=["POST"]),
    ]
