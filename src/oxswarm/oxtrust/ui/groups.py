"""Group pages: list, add, rename, add and remove members (by username), delete.

Through :class:`~oxswarm.directory.people.GroupRepository` (members are person DNs).
The managers group (``Gluu Manager Group``) cannot be deleted here, and an
administrator cannot remove themself from it: the UI never locks out its last user.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Mapping

from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from oxswarm.directory.models import Group, Person
from oxswarm.directory.people import GroupRepository, PeopleRepository
from oxswarm.directory.slapdconf import ADMIN_GROUP_INUM
from oxswarm.errors import InvalidInput, NotFound
from oxswarm.oxtrust.ui.deps import UiDeps
from oxswarm.oxtrust.ui.render import Ctx, admin


def _names(form: dict[str, str]) -> tuple[str, str | None, dict[str, str]]:
    name = form.get("display_name", "").strip()
    description = form.get("description", "").strip() or None
    errors = {} if name else {"display_name": "display_name: required"}
    return name, description, errors


def _members_of(people: PeopleRepository, group: Group) -> list[Person]:
    found = []
    for inum in group.members:
        try:
            found.append(people.get_by_inum(inum))
        except (NotFound, InvalidInput):
            continue
    return found


def group_routes(deps: UiDeps) -> list[Route]:
    guard = admin(deps)
    repo = GroupRepository(deps.directory, deps.tree)
    people = PeopleRepository(deps.directory, deps.tree)

    async def load(inum: str) -> Group | None:
        try:
            return await asyncio.to_thread(repo.get, inum)
        except (NotFound, InvalidInput):
            return None

    async def group_page(ctx: Ctx, group: Group, status: int = 200,
                         form: Mapping[str, str] | None = None,
                         errors: Mapping[str, str] | None = None, **extra: object) -> Response:
        members = await asyncio.to_thread(_members_of, people, group)
        shown = {"display_name": group.display_name, "description": group.description or ""}
        return ctx.page("group.html", status, title=f"Group {group.display_name}",
                        section="groups", group=group, members=members,
                        form={**shown, **(form or {})}, errors=errors or {}, **extra)

    @guard
    async def index(_request: Request, ctx: Ctx) -> Response:
        found = sorted(await asyncio.to_thread(repo.list), key=lambda g: g.display_name.lower())
        return ctx.page("groups.html", title="Groups", section="groups", groups=found,
                        form={}, errors={})

    @guard
    async def new(_request: Request, ctx: Ctx) -> Response:
        name, description, errors = _names(dict(ctx.form))
        if errors:
            found = sorted(await asyncio.to_thread(repo.list), key=lambda g: g.display_name)
            return ctx.page("groups.html", 400, title="Groups", section="groups",
                            groups=found, form=ctx.form, errors=errors)
        try:
            group = Group(inum=str(uuid.uuid4()), display_name=name, description=description)
        except ValidationError as exc:
            return ctx.page("error.html", 400, title="Bad input", message=str(exc))
        await asyncio.to_thread(repo.add, group)
        await ctx.audit("group.add", group.inum, {"display_name": name})
        return RedirectResponse(f"/identity/groups/{group.inum}?saved=1", status_code=303)

    @guard
    async def show(request: Request, ctx: Ctx) -> Response:
        group = await load(request.path_params["inum"])
        if group is None:
            return ctx.page("error.html", 404, title="Not found", message="No such group.")
        if request.method == "GET":
            return await group_page(ctx, group, saved=request.query_params.get("saved"))
        name, description, errors = _names(dict(ctx.form))
        if errors:
            return await group_page(ctx, group, 400, form=ctx.form, errors=errors)
        await asyncio.to_thread(repo.rename, group.inum, name, description)
        await ctx.audit("group.update", group.inum, {"display_name": name})
        return RedirectResponse(f"/identity/groups/{group.inum}?saved=1", status_code=303)

    @guard
    async def add_member(request: Request, ctx: Ctx) -> Response:
        group = await load(request.path_params["inum"])
        if group is None:
            return ctx.page("error.html", 404, title="Not found", message="No such group.")
        uid = ctx.form.get("member_uid", "").strip()
        person = await asyncio.to_thread(people.get_by_uid, uid) if uid else None
        if person is None:
            message = f"member_uid: no person with username {uid!r}" if uid else \
                "member_uid: required"
            return await group_page(ctx, group, 400, errors={"member_uid": message},
                                    member_uid=uid)
        await asyncio.to_thread(repo.add_members, group.inum, [person.inum])
        await ctx.audit("group.member.add", group.inum, {"member": person.inum})
        return RedirectResponse(f"/identity/groups/{group.inum}?saved=1", status_code=303)

    @guard
    async def remove_member(request: Request, ctx: Ctx) -> Response:
        group = await load(request.path_params["inum"])
        if group is None:
            return ctx.page("error.html", 404, title="Not found", message="No such group.")
        member = ctx.form.get("member", "")
        if group.inum == ADMIN_GROUP_INUM and member == ctx.session.sub:
            return ctx.page("error.html", 400, title="Refused",
                            message="member: you cannot remove yourself from the managers")
        await asyncio.to_thread(repo.remove_members, group.inum, [member])
        await ctx.audit("group.member.remove", group.inum, {"member": member})
        return RedirectResponse(f"/identity/groups/{group.inum}?saved=1", status_code=303)

    @guard
    async def delete(request: Request, ctx: Ctx) -> Response:
        group = await load(request.path_params["inum"])
        if group is None:
            return ctx.page("error.html", 404, title="Not found", message="No such group.")
        if group.inum == ADMIN_GROUP_INUM:
            return ctx.page("error.html", 400, title="Refused",
                            message="inum: the managers group cannot be deleted")
        await asyncio.to_thread(repo.remove, group.inum)
        await ctx.audit("group.delete", group.inum, {"display_name": group.display_name})
        return RedirectResponse("/identity/groups", status_code=303)

    return [
        Route("/identity/groups", index, methods=["GET"]),
        Route("/identity/groups/new", new, methods=["POST"]),
        Route("/identity/groups/{inum}", show, methods=["GET", "POST"]),
        Route("/identity/groups/{inum}/members/add", add_member, methods=["POST"]),
        Route("/identity/groups/{inum}/members/remove", remove_member, methods=["POST"]),
        Route("/identity/groups/{inum}/delete", delete, methods=["POST"]),
    ]
