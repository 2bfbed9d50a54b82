"""SAML trust relationship pages (docs/saml.md): list, add, show and update, remove.

The SP's metadata comes from an uploaded file, an https URL (fetched under oxAuth's
outbound rules, :func:`oxswarm.oxshibboleth.trust.fetch_metadata`, as the CLI does) or
pasted text: exactly one of them on add, none on update keeps the stored metadata. The
released attributes are chosen among the directory's person attributes (and any other
attribute name typed in), then the NameID format, signing and encryption. Every change goes
through the admin API's service (:class:`oxswarm.oxtrust.api.trusts.TrustOperations`: the
same checks, the same directory writes) and is audit-logged (``ui.saml_trust.*``); a
refusal names its field beside that field and nothing is stored.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any, Final

from pydantic import ValidationError
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from oxswarm.directory.connection import Directory
from oxswarm.directory.people import PERSON_ATTRS
from oxswarm.directory.tree import Tree
from oxswarm.directory.trust_relationships import TrustRepository
from oxswarm.errors import Conflict, InvalidInput, NotFound
from oxswarm.oxauth.policy import read_policy
from oxswarm.oxshibboleth.trust import (
    DEFAULT_RELEASE,
    MAX_METADATA,
    NAMEID_CHOICES,
    STANDARD_ATTRIBUTES,
    fetch_metadata,
    metadata_text,
)
from oxswarm.oxtrust.api import models as m
from oxswarm.oxtrust.api.trusts import TrustOperations
from oxswarm.oxtrust.ui.deps import UiDeps
from oxswarm.oxtrust.ui.render import Ctx, admin

#: the directory's person attributes offered as checkboxes (others may be typed)
ATTRIBUTE_CHOICES: Final = tuple(dict.fromkeys(
    [*STANDARD_ATTRIBUTES, "cn", *(a for a in PERSON_ATTRS.values() if a != "oxStatus")]))


class _Trusts(TrustOperations):
    """The admin API's trust operations, their audit records kept for the UI's audit log."""

    def __init__(self, directory: Directory, tree: Tree) -> None:
        self.directory = directory
        self.tree = tree
        self.records: list[tuple[str, str, Mapping[str, Any]]] = []

    def _audit(self, actor: Any, action: str, target: str,
               detail: Mapping[str, Any] | None = None) -> None:
        self.records.append((action, target, dict(detail or {})))


def _words(text: str) -> list[str]:
    return [w for w in text.replace(",", " ").split() if w]


async def _metadata(deps: UiDeps, ctx: Ctx, required: bool) -> str | None:
    """The one metadata source given (file, URL or text), or None (update: keep it)."""
    upload = ctx.lists.get("metadata-file") if ctx.lists is not None else None
    has_file = isinstance(upload, UploadFile) and bool(upload.filename)
    url = ctx.form.get("metadata-url", "").strip()
    text = ctx.form.get("metadata-text", "").strip()
    given = [has_file, bool(url), bool(text)].count(True)
    if given > 1:
        raise InvalidInput("metadata: give one of a file, a URL or the text, not several",
                           field="metadata")
    if given == 0:
        if required:
            raise InvalidInput("metadata: give the SP's metadata (a file, a URL or the text)",
                               field="metadata")
        return None
    if has_file and isinstance(upload, UploadFile):
        return metadata_text(await upload.read(MAX_METADATA + 1))
    if url:
        if not url.startswith("https://"):
            raise InvalidInput("metadata: the URL must be https", field="metadata")
        policy = await asyncio.to_thread(read_policy, deps.manager.get)
        return await fetch_metadata(url, policy.fetch_rules(), policy.fetch_ca)
    return metadata_text(text.encode())


def _body(ctx: Ctx, metadata: str, *, enabled: bool = True) -> m.TrustIn:
    release = [*ctx.values("release"), *_words(ctx.form.get("release-other", ""))]
    try:
        return m.TrustIn(
            metadata=metadata, name=ctx.form.get("name", "").strip() or None,
            release=list(dict.fromkeys(release)),
            nameid_format=ctx.form.get("nameid-format") or "transient",  # type: ignore[arg-type]
            sign_assertions="sign-assertions" in ctx.form,
            encrypt_assertions="encrypt-assertions" in ctx.form, enabled=enabled,
        )
    except ValidationError as exc:
        first = exc.errors()[0]
        where = str(first["loc"][0]) if first["loc"] else "metadata"
        field = {"nameid_format": "nameid-format"}.get(where, where)
        raise InvalidInput(f"{field}: {first['msg']}", field=field) from None


def _posted(ctx: Ctx) -> dict[str, Any]:
    return {"name": ctx.form.get("name", ""), "release": ctx.values("release"),
            "release-other": ctx.form.get("release-other", ""),
            "nameid-format": ctx.form.get("nameid-format", "transient"),
            "sign-assertions": "sign-assertions" in ctx.form,
            "encrypt-assertions": "encrypt-assertions" in ctx.form,
            "enabled": "enabled" in ctx.form, "metadata-url": ctx.form.get("metadata-url", ""),
            "metadata-text": ctx.form.get("metadata-text", "")}


def _form_of(summary: Mapping[str, Any]) -> dict[str, Any]:
    release = list(summary["release"])
    return {**summary, "release": [a for a in release if a in ATTRIBUTE_CHOICES],
            "release-other": " ".join(a for a in release if a not in ATTRIBUTE_CHOICES),
            "nameid-format": summary["nameid_format"],
            "sign-assertions": summary["sign_assertions"],
            "encrypt-assertions": summary["encrypt_assertions"]}


def trust_routes(deps: UiDeps) -> list[Route]:
    guard = admin(deps)

    def page(ctx: Ctx, status: int, trust: dict[str, Any], errors: dict[str, str],
             new: bool, **extra: Any) -> Response:
        title = "Add a SAML service provider" if new else f"Service provider {trust['name']}"
        return ctx.page("trust_form.html", status, title=title, section="trusts", trust=trust,
                        errors=errors, new=new, attributes=ATTRIBUTE_CHOICES,
                        nameid_formats=NAMEID_CHOICES, **extra)

    async def run(ctx: Ctx, op: str, *args: Any) -> Any:
        service = _Trusts(deps.directory, deps.tree)
        result = await asyncio.to_thread(getattr(service, op), ctx.actor, *args)
        for action, target, detail in service.records:
            await ctx.audit(action, target, detail)
        return result

    async def get(inum: str) -> dict[str, Any] | None:
        try:
            found: dict[str, Any] = await asyncio.to_thread(
                _Trusts(deps.directory, deps.tree).get_trust, inum)
        except (NotFound, InvalidInput):
            return None
        return found

    @guard
    async def index(_request: Request, ctx: Ctx) -> Response:
        found = await asyncio.to_thread(TrustRepository(deps.directory, deps.tree).list)
        trusts = sorted((t.summary() for t in found), key=lambda t: str(t["name"]).lower())
        return ctx.page("trusts.html", title="SAML service providers", section="trusts",
                        trusts=trusts)

    @guard
    async def new(request: Request, ctx: Ctx) -> Response:
        if request.method == "GET":
            return page(ctx, 200, {"release": list(DEFAULT_RELEASE), "nameid-format":
                                   "transient", "enabled": True}, {}, True)
        try:
            metadata = await _metadata(deps, ctx, required=True)
            assert metadata is not None
            created = await run(ctx, "create_trust", _body(ctx, metadata))
        except (InvalidInput, Conflict) as exc:
            field = getattr(exc, "field", None) or str(exc).split(":", 1)[0]
            return page(ctx, 400, _posted(ctx), {field: str(exc)}, True)
        return RedirectResponse(f"/identity/trusts/{created['inum']}?saved=1", status_code=303)

    @guard
    async def show(request: Request, ctx: Ctx) -> Response:
        inum = request.path_params["inum"]
        current = await get(inum)
        if current is None:
            return ctx.page("error.html", 404, title="Not found",
                            message="No such trust relationship.")
        if request.method == "GET":
            return page(ctx, 200, _form_of(current), {}, False,
                        saved=request.query_params.get("saved"))
        try:
            metadata = await _metadata(deps, ctx, required=False)
            if metadata is None:
                stored = await asyncio.to_thread(
                    TrustRepository(deps.directory, deps.tree).get, inum)
                metadata = stored.metadata
            await run(ctx, "replace_trust", inum,
                      _body(ctx, metadata, enabled="enabled" in ctx.form))
        except (InvalidInput, Conflict) as exc:
            field = getattr(exc, "field", None) or str(exc).split(":", 1)[0]
            form = {**_posted(ctx), "inum": inum, "entity_id": current["entity_id"],
                    "acs": current["acs"]}
            return page(ctx, 400, form, {field: str(exc)}, False)
        return RedirectResponse(f"/identity/trusts/{inum}?saved=1", status_code=303)

    @guard
    async def delete(request: Request, ctx: Ctx) -> Response:
        inum = request.path_params["inum"]
        if await get(inum) is None:
            return ctx.page("error.html", 404, title="Not found",
                            message="No such trust relationship.")
        await run(ctx, "delete_trust", inum)
        return RedirectResponse("/identity/trusts", status_code=303)

    return [
        Route("/identity/trusts", index, methods=["GET"]),
        Route("/identity/trusts/new", new, methods=["GET", "POST"]),
        Route("/identity/trusts/{inum}", show, methods=["GET", "POST"]),
        Route("/identity/trusts/{inum}/delete", delete, methods=["POST"]),
    ]
