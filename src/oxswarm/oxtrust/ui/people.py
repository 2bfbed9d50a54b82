"""People pages: list with search and paging, add (with a password), edit,
disable/enable, set password, delete, and the groups of a person.

Through :class:`~oxswarm.directory.people.PeopleRepository` only: passwords are stored
as an Argon2id hash made before they leave the process (never shown nor logged). A
person added with a password slapd refuses is removed again: nothing is half-written.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any, Final

from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from oxswarm.directory.models import Person
from oxswarm.directory.people import GroupRepository, PeopleRepository
from oxswarm.errors import Conflict, InvalidInput, NotFound, OxSwarmError
from oxswarm.oxtrust.ui.deps import UiDeps
from oxswarm.oxtrust.ui.render import Ctx, admin

PAGE_SIZE: Final = 20
FIELDS: Final = ("uid", "given_name", "family_name", "display_name", "email", "phone")
MIN_PASSWORD: Final = 8


def _errors_of(exc: ValidationError) -> dict[str, str]:
    out: dict[str, str] = {}
    for err in exc.errors():
        name = str(err["loc"][0]) if err["loc"] else "form"
        out.setdefault(name, f"{name}: {err['msg']}")
    return out


def _person(
    form: dict[str, str], inum: str, status: str, stored: Person | None = None
) -> tuple[Person | None, dict[str, str]]:
    """The person the form describes; an edit keeps what the form does not show (address,
    verified flags) from ``stored``."""
    values: dict[str, Any] = {k: (form.get(k) or "").strip() or None for k in FIELDS}
    errors: dict[str, str] = {}
    if not values["uid"]:
        errors["uid"] = "uid: required"
    if not values["family_name"]:
        errors["family_name"] = "family_name: required"
    if errors:
        return None, errors
    base = stored.model_dump(exclude={"created", "updated"}) if stored is not None else {}
    try:
        return Person.model_validate({**base, **values, "inum": inum, "status": status}), {}
    except ValidationError as exc:
        return None, _errors_of(exc)


def _password_error(password: str, confirm: str | None = None) -> str | None:
    if len(password) < MIN_PASSWORD:
        return f"password: at least {MIN_PASSWORD} characters"
    if confirm is not None and password != confirm:
        return "password: the two entries differ"
    return None


async def _load(repo: PeopleRepository, inum: str) -> Person | None:
    try:
        return await asyncio.to_thread(repo.get_by_inum, inum)
    except (NotFound, InvalidInput):
        return None


def _not_found(ctx: Ctx) -> Response:
    return ctx.page("error.html", 404, title="Not found", message="No such person.")


def people_routes(deps: UiDeps) -> list[Route]:
    return [*_edit_routes(deps), *_action_routes(deps)]


def _edit_routes(deps: UiDeps) -> list[Route]:
    guard = admin(deps)
    repo = PeopleRepository(deps.directory, deps.tree)
    groups = GroupRepository(deps.directory, deps.tree)

    @guard
    async def index(request: Request, ctx: Ctx) -> Response:
        q = request.query_params.get("q", "").strip()
        try:
            page = max(1, int(request.query_params.get("page", "1")))
        except ValueError:
            page = 1
        found = await asyncio.to_thread(repo.search if q else repo.list, *((q, 0) if q else ()))
        found.sort(key=lambda p: p.uid.lower())
        pages = max(1, -(-len(found) // PAGE_SIZE))
        page = min(page, pages)
        shown = found[(page - 1) * PAGE_SIZE: page * PAGE_SIZE]
        return ctx.page("people.html", title="People", section="people", people=shown,
                        q=q, page=page, pages=pages, total=len(found))

    @guard
    async def new(request: Request, ctx: Ctx) -> Response:
        if request.method == "GET":
            return ctx.page("person_form.html", title="Add a person", section="people",
                            person={}, errors={}, new=True)
        form = dict(ctx.form)
        person, errors = _person(form, str(uuid.uuid4()), "active")
        password = form.get("password", "")
        if (problem := _password_error(password, form.get("password_confirm", ""))):
            errors["password"] = problem
        if person is not None and not errors:
            try:
                await asyncio.to_thread(_add, repo, person, password)
            except Conflict:
                errors["uid"] = f"uid: {person.uid!r} is taken"
            except InvalidInput as exc:
                errors[exc.field or "password"] = str(exc)
        if errors or person is None:
            return ctx.page("person_form.html", 400, title="Add a person", section="people",
                            person=form, errors=errors, new=True)
        await ctx.audit("person.add", person.inum, {"uid": person.uid})
        return RedirectResponse(f"/identity/people/{person.inum}?saved=1", status_code=303)

    @guard
    async def show(request: Request, ctx: Ctx) -> Response:
        inum = request.path_params["inum"]
        person = await _load(repo, inum)
        if person is None:
            return _not_found(ctx)
        errors: dict[str, str] = {}
        form: dict[str, Any] = person.model_dump()
        status = 200
        if request.method == "POST":
            form = dict(ctx.form)
            updated, errors = _person(form, inum, person.status, person)
            if updated is not None and not errors:
                try:
                    await asyncio.to_thread(repo.update, updated)
                except Conflict:
                    errors["uid"] = f"uid: {updated.uid!r} is taken"
            if not errors:
                await ctx.audit("person.update", inum, {k: form.get(k) for k in FIELDS})
                return RedirectResponse(f"/identity/people/{inum}?saved=1", status_code=303)
            status = 400
        member_of = [g for g in await asyncio.to_thread(groups.list) if inum in g.members]
        return ctx.page("person_form.html", status, title=f"Person {person.uid}",
                        section="people", person=form, stored=person, errors=errors,
                        new=False, groups=member_of, saved=request.query_params.get("saved"),
                        links=await asyncio.to_thread(repo.external_uids, inum))

    return [
        Route("/identity/people", index, methods=["GET"]),
        Route("/identity/people/new", new, methods=["GET", "POST"]),
        Route("/identity/people/{inum}", show, methods=["GET", "POST"]),
    ]


def _action_routes(deps: UiDeps) -> list[Route]:
    guard = admin(deps)
    repo = PeopleRepository(deps.directory, deps.tree)
    groups = GroupRepository(deps.directory, deps.tree)

    @guard
    async def status(request: Request, ctx: Ctx) -> Response:
        inum = request.path_params["inum"]
        person = await _load(repo, inum)
        if person is None:
            return _not_found(ctx)
        wanted = ctx.form.get("status")
        if wanted not in ("active", "inactive"):
            return ctx.page("error.html", 400, title="Bad input",
                            message="status: must be active or inactive")
        await asyncio.to_thread(repo.update, person.model_copy(update={"status": wanted}))
        await ctx.audit("person.status", inum, {"status": wanted})
        return RedirectResponse(f"/identity/people/{inum}?saved=1", status_code=303)

    @guard
    async def password(request: Request, ctx: Ctx) -> Response:
        inum = request.path_params["inum"]
        person = await _load(repo, inum)
        if person is None:
            return _not_found(ctx)
        new_password = ctx.form.get("password", "")
        problem = _password_error(new_password, ctx.form.get("password_confirm", ""))
        if problem is None:
            try:
                await asyncio.to_thread(repo.set_password, inum, new_password)
            except OxSwarmError as exc:
                problem = f"password: {exc}"
        if problem:
            member_of = [g for g in await asyncio.to_thread(groups.list) if inum in g.members]
            return ctx.page("person_form.html", 400, title=f"Person {person.uid}",
                            section="people", person=person.model_dump(), stored=person,
                            errors={"password": problem}, new=False, groups=member_of)
        await ctx.audit("person.password", inum, {})
        return RedirectResponse(f"/identity/people/{inum}?saved=1", status_code=303)

    @guard
    async def delete(request: Request, ctx: Ctx) -> Response:
        inum = request.path_params["inum"]
        person = await _load(repo, inum)
        if person is None:
            return _not_found(ctx)
        if inum == ctx.session.sub:
            return ctx.page("error.html", 400, title="Refused",
                            message="inum: you cannot delete yourself")
        await asyncio.to_thread(_delete, repo, groups, inum)
        await ctx.audit("person.delete", inum, {"uid": person.uid})
        return RedirectResponse("/identity/people", status_code=303)

    @guard
    async def unlink(request: Request, ctx: Ctx) -> Response:
        """Remove an oxPassport link (docs/passport.md), as ``oxswarm users unlink``."""
        inum = request.path_params["inum"]
        person = await _load(repo, inum)
        if person is None:
            return _not_found(ctx)
        link = ctx.form.get("link", "")
        try:
            await asyncio.to_thread(repo.remove_external_uid, inum, link)
        except NotFound:
            return ctx.page("error.html", 404, title="Not found",
                            message=f"link: {person.uid} has no link {link[:300]!r}")
        await ctx.audit("person.unlink", inum, {"link": link})
        return RedirectResponse(f"/identity/people/{inum}?saved=1", status_code=303)

    return [
        Route("/identity/people/{inum}/unlink", unlink, methods=["POST"]),
        Route("/identity/people/{inum}/status", status, methods=["POST"]),
        Route("/identity/people/{inum}/password", password, methods=["POST"]),
        Route("/identity/people/{inum}/delete", delete, methods=["POST"]),
    ]


def _add(repo: PeopleRepository, person: Person, password: str) -> None:
    """Add with the password, or nothing at all."""
    repo.add(person)
    try:
        repo.set_password(person.inum, password)
    except BaseException:
        repo.remove(person.inum)
        raise


def _delete(repo: PeopleRepository, groups: GroupRepository, inum: str) -> None:
    for group in groups.list():
        if inum in group.members:
            groups.remove_members(group.inum, [inum])
    repo.remove(inum)

