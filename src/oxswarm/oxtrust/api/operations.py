"""The table of the admin API's operations (Gluu's oxTrust API paths under
``/identity/restv1/api/v1``): what each one takes, answers and needs.

The routes and the OpenAPI document are both built from :data:`OPERATIONS`, so the
document says what the server does.
"""

from __future__ import annotations

from typing import Any, Final

from pydantic import BaseModel

from oxswarm.oxtrust.api import models as m
from oxswarm.oxtrust.api.providers import provider_out
from oxswarm.oxtrust.api.routes import Call, Op, etag_of
from oxswarm.oxtrust.api.service import AdminService
from oxswarm.passport.providers import Expect, ProviderStore

S = AdminService


def _crud(
    plural: str, key: str, models: tuple[type[BaseModel], type[BaseModel], type[BaseModel]],
    names: tuple[str, str], *, route_key: str | None = None,
) -> list[Op]:  # fmt: skip
    """List, create, read, replace, delete of one resource kind."""
    model_in, model_out, page = models
    single, tag = names[0], plural
    lister = getattr(S, f"list_{plural}")
    getter, creator = getattr(S, f"get_{single}"), getattr(S, f"create_{single}")
    replacer, deleter = getattr(S, f"replace_{single}"), getattr(S, f"delete_{single}")
    item = f"/{plural}/{{{key}}}"
    route_item = f"/{plural}/{{{route_key}}}" if route_key else None
    params = {key: f"the {names[1]}'s {key}"}

    def current(s: AdminService, c: Call) -> Any:
        return getter(s, c.path[key])
    return [
        Op("GET", f"/{plural}", f"list_{plural}", f"List {names[1]}s (paged; q searches)",
           tag, lambda s, c: lister(s, c.start, c.limit, c.q), response=page, listing=True,
           errors=(400, 401, 403, 503)),
        Op("POST", f"/{plural}", f"create_{single}", f"Create a {names[1]}", tag,
           lambda s, c: creator(s, c.actor, c.body), body=model_in, response=model_out,
           status=201, errors=(400, 401, 403, 409, 413, 503)),
        Op("GET", item, f"get_{single}", f"Read a {names[1]}", tag,
           lambda s, c: getter(s, c.path[key]), response=model_out, route_path=route_item,
           params=params, current=current),
        Op("PUT", item, f"replace_{single}", f"Replace a {names[1]}", tag,
           lambda s, c: replacer(s, c.actor, c.path[key], c.body), body=model_in,
           response=model_out, route_path=route_item, params=params, current=current,
           errors=(400, 401, 403, 404, 409, 412, 413, 503)),
        Op("DELETE", item, f"delete_{single}", f"Delete a {names[1]}", tag,
           lambda s, c: deleter(s, c.actor, c.path[key]), status=204, route_path=route_item,
           params=params, current=current, errors=(400, 401, 403, 404, 412, 503)),
    ]  # fmt: skip


def _providers() -> list[Op]:
    """oxPassport's upstream providers under Gluu's ``/passport/providers``."""
    item, tag = "/passport/providers/{id}", "passport"
    params = {"id": "the provider's id"}

    def current(s: AdminService, c: Call) -> Any:
        return s.get_provider(c.path["id"])

    def expect(s: AdminService, c: Call) -> Expect | None:
        """``If-Match``, checked again inside the store's compare-and-swap."""
        wanted = (c.request.headers.get("if-match") or "").strip()
        if not wanted or wanted == "*":
            return None
        store = ProviderStore(s.config)
        return lambda now: etag_of(provider_out(store, now)) == wanted
    return [
        Op("GET", "/passport/providers", "list_providers",
           "List oxPassport providers (paged; q searches)", tag,
           lambda s, c: s.list_providers(c.start, c.limit, c.q), response=m.ProvidersPage,
           listing=True, errors=(400, 401, 403, 503)),
        Op("POST", "/passport/providers", "create_provider", "Add an oxPassport provider",
           tag, lambda s, c: s.create_provider(c.actor, c.body), body=m.ProviderIn,
           response=m.ProviderOut, status=201, errors=(400, 401, 403, 413, 503)),
        Op("GET", item, "get_provider", "Read an oxPassport provider", tag,
           lambda s, c: s.get_provider(c.path["id"]), response=m.ProviderOut, params=params,
           current=current),
        Op("PUT", item, "replace_provider", "Replace an oxPassport provider", tag,
           lambda s, c: s.replace_provider(c.actor, c.path["id"], c.body, expect(s, c)),
           body=m.ProviderIn, response=m.ProviderOut, params=params, current=current,
           errors=(400, 401, 403, 404, 409, 412, 413, 503)),
        Op("DELETE", item, "delete_provider", "Remove an oxPassport provider", tag,
           lambda s, c: s.delete_provider(c.actor, c.path["id"], expect(s, c)), status=204,
           params=params, current=current, errors=(400, 401, 403, 404, 409, 412, 503)),
    ]  # fmt: skip


def _members(s: AdminService, c: Call) -> dict[str, Any]:
    return {"members": s.get_group(c.path["inum"])["members"]}


OPERATIONS: Final[list[Op]] = [
    *_crud("people", "inum", (m.PersonIn, m.PersonOut, m.PeoplePage), ("person", "person")),
    Op("GET", "/people/{inum}/links", "list_person_links",
       "A person's links to upstream identities (oxPassport)", "people",
       lambda s, c: s.person_links(c.path["inum"]), response=m.LinksOut,
       params={"inum": "the person's inum"}),
    Op("DELETE", "/people/{inum}/links/{link}", "remove_person_link",
       "Unlink an upstream identity from a person (oxPassport)", "people",
       lambda s, c: s.remove_person_link(c.actor, c.path["inum"], c.path["link"]),
       status=204, route_path="/people/{inum}/links/{link:path}",
       params={"inum": "the person's inum", "link": "the link, passport-ID:SUBJECT"}),
    *_crud("groups", "inum", (m.GroupIn, m.GroupOut, m.GroupsPage), ("group", "group")),
    Op("GET", "/groups/{inum}/members", "list_group_members", "A group's members (inums)",
       "groups", _members, response=m.MembersIn, params={"inum": "the group's inum"}),
    Op("POST", "/groups/{inum}/members", "add_group_members", "Add people to a group",
       "groups", lambda s, c: {"members": s.add_members(c.actor, c.path["inum"], c.body)},
       body=m.MembersIn, response=m.MembersIn, params={"inum": "the group's inum"},
       errors=(400, 401, 403, 404, 413, 503)),
    Op("DELETE", "/groups/{inum}/members/{member}", "remove_group_member",
       "Remove a person from a group", "groups",
       lambda s, c: s.remove_member(c.actor, c.path["inum"], c.path["member"]), status=204,
       params={"inum": "the group's inum", "member": "the person's inum"}),
    *_crud("clients", "client_id", (m.ClientIn, m.ClientOut, m.ClientsPage),
           ("client", "client")),
    *_crud("scopes", "name", (m.ScopeIn, m.ScopeOut, m.ScopesPage), ("scope", "scope"),
           route_key="name:path"),
    *_crud("attributes", "inum", (m.AttributeIn, m.AttributeOut, m.AttributesPage),
           ("attribute", "attribute")),
    *_crud("trusts", "inum", (m.TrustIn, m.TrustOut, m.TrustsPage),
           ("trust", "SAML trust relationship")),
    *_providers(),
    Op("GET", "/configuration", "get_configuration",
       "The configuration; secrets masked", "configuration",
       lambda s, c: s.configuration(), response=m.Configuration, errors=(401, 403, 503)),
    Op("GET", "/configuration/oxauth/settings", "get_oxauth_settings",
       "oxAuth's live policy settings", "configuration", lambda s, c: s.settings(),
       response=m.Settings, errors=(401, 403, 503)),
    Op("PUT", "/configuration/oxauth/settings", "change_oxauth_settings",
       "Change the settings named (null: back to the default); running oxAuth follow",
       "configuration", lambda s, c: s.change_settings(c.actor, c.body), body=m.Settings,
       response=m.Settings, errors=(400, 401, 403, 413, 503)),
    Op("GET", "/audit", "list_audit", "The audit log, newest first (paged)", "audit",
       lambda s, c: s.audit_page(c.start, c.limit), response=m.AuditPage, listing=True,
       search=False, errors=(400, 401, 403, 503)),
]  # fmt: skip
