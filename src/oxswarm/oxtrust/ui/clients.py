"""OpenID Connect client pages: list, add, edit (grant types, redirect URIs, scopes,
auth method, token format, subject type and sector identifier, trusted flag), regenerate
the secret (shown once), delete.

A sector identifier is chosen among the hosted ones (:mod:`.sectors`): it must list every
redirect URI (OIDC Registration 5, checked from the directory as oxAuth's registration
does); a client's current value (e.g. an external URI it registered) may stay.

The metadata is checked by the one validator, :mod:`oxswarm.oauth.client_metadata`,
through :mod:`oxswarm.oxauth.clients_admin` exactly as ``oxswarm clients add|update``
does; its refusal names the option, which is the form field's name, so the message
stands beside that field. The client is written once, after every check passed.
"""

from __future__ import annotations

import asyncio
import secrets
from typing import Any, Final

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from oxswarm.directory.clients import ClientRepository
from oxswarm.directory.models import Client
from oxswarm.errors import InvalidInput, NotFound
from oxswarm.oauth.client_metadata import (
    ACCESS_TOKEN_FORMATS,
    AUTH_METHODS,
    GRANT_TYPES,
    SUBJECT_TYPES,
)
from oxswarm.oxauth.clients_admin import build_client, client_json, update_client
from oxswarm.oxtrust.ui.deps import UiDeps
from oxswarm.oxtrust.ui.render import Ctx, admin
from oxswarm.oxtrust.ui.sectors import client_sector_problem, hosted

SECRET_KIND: Final = "oxtrust-ui-secret"  # a new secret, shown once on the next page


def _lines(text: str) -> tuple[str, ...]:
    return tuple(v.strip() for v in text.replace(",", "\n").splitlines() if v.strip())


def _options(ctx: Ctx, edit: bool = False) -> dict[str, Any]:
    """The form as ``clients_admin`` options; on an edit an empty list clears the field
    (``("",)``, as the CLI's single empty value) and no grant type at all is refused."""
    form = ctx.form
    cleared = ("",) if edit else ()
    grants = tuple(ctx.values("grant-type"))
    if edit and not grants:
        raise InvalidInput("grant-type: choose at least one", field="grant-type")
    return {
        "name": form.get("name", ""),
        "grant_types": grants,
        "redirect_uris": _lines(form.get("redirect-uri", "")) or cleared,
        "post_logout_redirect_uris": _lines(form.get("post-logout-redirect-uri", "")) or cleared,
        "auth_method": form.get("auth-method") or None,
        "scopes": tuple(form.get("scope", "").split()),
        "access_token_format": form.get("access-token-format") or "opaque",
        "subject_type": form.get("subject-type") or "public",
        "sector_identifier_uri": form.get("sector-identifier-uri", ""),
    }


def _form_of(client: Client) -> dict[str, Any]:
    data = client_json(client)
    return {
        "client_id": client.client_id, "name": client.name or "",
        "grant-type": client.grant_types, "redirect-uri": "\n".join(client.redirect_uris),
        "post-logout-redirect-uri": "\n".join(client.post_logout_redirect_uris),
        "auth-method": client.token_endpoint_auth_method, "scope": data["scope"],
        "access-token-format": client.access_token_format, "trusted": client.trusted,
        "subject-type": client.subject_type,
        "sector-identifier-uri": client.sector_identifier_uri or "",
    }


def _posted(ctx: Ctx) -> dict[str, Any]:
    return {**ctx.form, "grant-type": ctx.values("grant-type"), "trusted": "trusted" in ctx.form}


def client_routes(deps: UiDeps) -> list[Route]:
    guard = admin(deps)
    repo = ClientRepository(deps.directory, deps.cipher, deps.tree)
    choices = {"grant_types": GRANT_TYPES, "auth_methods": AUTH_METHODS,
               "formats": ACCESS_TOKEN_FORMATS}

    async def form_page(ctx: Ctx, status: int, client: dict[str, Any], errors: dict[str, str],
                        new: bool, **extra: Any) -> Response:
        title = "Add a client" if new else f"Client {client.get('name') or client['client_id']}"
        return ctx.page("client_form.html", status, title=title, section="clients",
                        client=client, errors=errors, new=new, sectors=await hosted(deps),
                        subject_types=SUBJECT_TYPES, **choices, **extra)

    @guard
    async def index(_request: Request, ctx: Ctx) -> Response:
        found = sorted(await asyncio.to_thread(repo.list), key=lambda c: (c.name or "").lower())
        return ctx.page("clients.html", title="Clients", section="clients", clients=found)

    @guard
    async def new(request: Request, ctx: Ctx) -> Response:
        if request.method == "GET":
            return await form_page(ctx, 200, {"grant-type": ["authorization_code", "refresh_token"],
                                        "scope": "openid profile email",
                                        "auth-method": "client_secret_basic"}, {}, True)
        options = _options(ctx)
        method = options["auth_method"]
        try:
            await _check_sector(deps, options, None)
            client = build_client(
                **options, public=method == "none", trusted="trusted" in ctx.form,
            )
            await asyncio.to_thread(repo.add, client)
        except InvalidInput as exc:
            return await form_page(ctx, 400, _posted(ctx), {exc.field or "name": str(exc)}, True)
        await ctx.audit("client.add", client.client_id, client_json(client))
        return await _show_secret(deps, client)

    async def _load(client_id: str) -> Client | None:
        try:
            return await asyncio.to_thread(repo.get, client_id)
        except (NotFound, InvalidInput):
            return None

    @guard
    async def show(request: Request, ctx: Ctx) -> Response:
        client = await _load(request.path_params["client_id"])
        if client is None:
            return ctx.page("error.html", 404, title="Not found", message="No such client.")
        secret = None
        if (once := request.query_params.get("secret")):
            raw = await deps.cache.take(SECRET_KIND, once)
            secret = raw.decode() if raw else None
        if request.method == "GET":
            return await form_page(ctx, 200, _form_of(client), {}, False, secret=secret,
                             saved=request.query_params.get("saved"))
        try:
            options = _options(ctx, edit=True)
            await _check_sector(deps, options, client.sector_identifier_uri)
            updated = update_client(client, trusted="trusted" in ctx.form, **options)
            await asyncio.to_thread(repo.update, updated)
        except InvalidInput as exc:
            form = {**_posted(ctx), "client_id": client.client_id}
            return await form_page(ctx, 400, form, {exc.field or "name": str(exc)}, False)
        await ctx.audit("client.update", client.client_id, client_json(updated))
        if updated.client_secret and updated.client_secret != client.client_secret:
            return await _show_secret(deps, updated)
        return RedirectResponse(f"/identity/clients/{client.client_id}?saved=1", status_code=303)

    @guard
    async def regenerate(request: Request, ctx: Ctx) -> Response:
        client = await _load(request.path_params["client_id"])
        if client is None:
            return ctx.page("error.html", 404, title="Not found", message="No such client.")
        if client.token_endpoint_auth_method == "none":
            return ctx.page("error.html", 400, title="Refused",
                            message="auth-method: a public client has no secret")
        updated = client.model_copy(update={"client_secret": secrets.token_urlsafe(32)})
        await asyncio.to_thread(repo.update, updated)
        await ctx.audit("client.secret", client.client_id, {})
        return await _show_secret(deps, updated)

    @guard
    async def delete(request: Request, ctx: Ctx) -> Response:
        client_id = request.path_params["client_id"]
        if client_id == deps.settings.client_id:
            return ctx.page("error.html", 400, title="Refused",
                            message="client_id: oxTrust's own client cannot be deleted here")
        if await _load(client_id) is None:
            return ctx.page("error.html", 404, title="Not found", message="No such client.")
        await asyncio.to_thread(repo.remove, client_id)
        await ctx.audit("client.delete", client_id, {})
        return RedirectResponse("/identity/clients", status_code=303)

    return [
        Route("/identity/clients", index, methods=["GET"]),
        Route("/identity/clients/new", new, methods=["GET", "POST"]),
        Route("/identity/clients/{client_id}", show, methods=["GET", "POST"]),
        Route("/identity/clients/{client_id}/secret", regenerate, methods=["POST"]),
        Route("/identity/clients/{client_id}/delete", delete, methods=["POST"]),
    ]


async def _check_sector(deps: UiDeps, options: dict[str, Any], current: str | None) -> None:
    problem = client_sector_problem(options["sector_identifier_uri"], options["redirect_uris"],
                                    await hosted(deps), current)
    if problem:
        raise InvalidInput(problem, field="sector-identifier-uri")


async def _show_secret(deps: UiDeps, client: Client) -> Response:
    """Redirect to the client's page, which shows the new secret once (kept 5 minutes in
    the cache under a random one-use name, never in a URL)."""
    url = f"/identity/clients/{client.client_id}?saved=1"
    if client.client_secret:
        once = secrets.token_urlsafe(24)
        await deps.cache.set(SECRET_KIND, once, client.client_secret, 300)
        url += f"&secret={once}"
    return RedirectResponse(url, status_code=303)
