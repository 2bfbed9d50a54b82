"""SCIM User and Group resources <-> directory entries (inetOrgPerson + oxPerson, oxGroup).

| SCIM                        | LDAP                                                   |
|-----------------------------|--------------------------------------------------------|
| id                          | inum (the RDN)                                         |
| externalId                  | oxExternalId                                           |
| userName                    | uid                                                    |
| name.familyName / givenName | sn / givenName                                         |
| displayName                 | displayName (cn: display name, else given + family)    |
| active                      | oxStatus (active / inactive)                           |
| password                    | userPassword, as an Argon2id hash (Directory.set_password) |
| emails, phoneNumbers        | oxScimEmail, oxScimPhone (JSON per value) + mail,      |
|                             | telephoneNumber (values, primary first, for oxAuth)    |
| gluu extension emailVerified| oxEmailVerified; phoneVerified: oxPhoneVerified         |
| Group displayName, members  | displayName, member (person DNs)                       |
| meta.created / lastModified | createTimestamp / modifyTimestamp; version: entryCSN    |

A user is checked against :class:`oxswarm.directory.models.Person` before it is written,
so everything SCIM stores can be read back by oxAuth (the same rule for both).
"""

from __future__ import annotations

import json
from typing import Any, Final

from pydantic import ValidationError

from oxswarm.directory.connection import Entry
from oxswarm.directory.models import Person
from oxswarm.directory.tree import Tree, parse_generalized_time, rdn_of
from oxswarm.scim.errors import InvalidValue
from oxswarm.scim.ldap_filter import AttributeMap, LdapAttr
from oxswarm.scim.schemas import GLUU_USER, GROUP, USER

OPERATIONAL: Final = ("createTimestamp", "modifyTimestamp", "entryCSN")
USER_ATTRS: Final = ("*", *OPERATIONAL)
_NO_FAMILY = "scimNoFamilyName"

_FIELD = {
    "uid": "userName",
    "family_name": "name.familyName",
    "given_name": "name.givenName",
    "display_name": "displayName",
    "email": "emails",
    "phone": "phoneNumbers",
}


def _common(tree: Tree) -> dict[str, LdapAttr]:
    return {
        "id": LdapAttr("inum"),
        "externalid": LdapAttr("oxExternalId", ordered=True),
        "meta.created": LdapAttr("createTimestamp", "time"),
        "meta.lastmodified": LdapAttr("modifyTimestamp", "time"),
    }


def user_map(tree: Tree) -> AttributeMap:
    return AttributeMap(
        USER,
        {
            **_common(tree),
            "username": LdapAttr("uid"),
            "name.familyname": LdapAttr("sn"),
            "name.givenname": LdapAttr("givenName"),
            "displayname": LdapAttr("displayName"),
            "active": LdapAttr("oxStatus", "status"),
            "emails.value": LdapAttr("mail"),
            "emails.type": LdapAttr("oxScimEmail", "json", json_key="type"),
            "emails.primary": LdapAttr("oxScimEmail", "json", json_key="primary"),
            "phonenumbers.value": LdapAttr("telephoneNumber"),
            "phonenumbers.type": LdapAttr("oxScimPhone", "json", json_key="type"),
            "phonenumbers.primary": LdapAttr("oxScimPhone", "json", json_key="primary"),
            f"{GLUU_USER}:emailVerified": LdapAttr("oxEmailVerified", "boolean"),
            f"{GLUU_USER}:phoneVerified": LdapAttr("oxPhoneVerified", "boolean"),
        },
    )


def group_map(tree: Tree) -> AttributeMap:
    member = LdapAttr("member", "dn", to_dn=tree.person)
    return AttributeMap(
        GROUP,
        {**_common(tree), "displayname": LdapAttr("displayName"), "members.value": member},
    )


def _time(value: str | None) -> str | None:
    moment = parse_generalized_time(value)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ") if moment else None


def _meta(entry: Entry, kind: str, location: str) -> dict[str, Any]:
    meta: dict[str, Any] = {"resourceType": kind, "location": location}
    if created := _time(entry.get("createTimestamp")):
        meta["created"] = created
    if modified := _time(entry.get("modifyTimestamp")):
        meta["lastModified"] = modified
    if csn := entry.get("entryCSN"):
        meta["version"] = f'W/"{csn}"'
    return meta


def version_of(entry: Entry) -> str:
    return entry.get("entryCSN") or entry.get("modifyTimestamp") or ""


def _json_values(entry: Entry, name: str) -> list[dict[str, Any]]:
    out = []
    for text in entry.all(name):
        try:
            value = json.loads(text)
        except json.JSONDecodeError:
            continue
        if isinstance(value, dict):
            out.append(value)
    return out


def user_from_entry(entry: Entry, base: str, groups: list[tuple[str, str]]) -> dict[str, Any]:
    """The User resource of ``entry``; ``groups``: (inum, displayName) of its groups."""
    inum = entry.get("inum") or rdn_of(entry.dn)
    meta = _load(entry.get("oxMetadata"))
    resource: dict[str, Any] = {"schemas": [USER], "id": inum, "userName": entry.get("uid")}
    if external := entry.get("oxExternalId"):
        resource["externalId"] = external
    name = {}
    if not meta.get(_NO_FAMILY) and (family := entry.get("sn")):
        name["familyName"] = family
    if given := entry.get("givenName"):
        name["givenName"] = given
    if name:
        resource["name"] = name
    if display := entry.get("displayName"):
        resource["displayName"] = display
    if (status := entry.get("oxStatus")) is not None:  # unset: active for oxAuth too
        resource["active"] = status == "active"
    emails = _json_values(entry, "oxScimEmail") or [{"value": v} for v in entry.all("mail")]
    if emails:
        resource["emails"] = emails
    phones = _json_values(entry, "oxScimPhone") or [
        {"value": v} for v in entry.all("telephoneNumber")
    ]
    if phones:
        resource["phoneNumbers"] = phones
    if groups:
        resource["groups"] = [
            {"value": g, "$ref": f"{base}/Groups/{g}", "display": d} for g, d in groups
        ]
    ext = {}
    for key, attr in (("emailVerified", "oxEmailVerified"), ("phoneVerified", "oxPhoneVerified")):
        if entry.get(attr) is not None:
            ext[key] = entry.flag(attr)
    if ext:
        resource["schemas"].append(GLUU_USER)
        resource[GLUU_USER] = ext
    resource["meta"] = _meta(entry, "User", f"{base}/Users/{inum}")
    return resource


def _ordered(values: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Primary value first (oxAuth's ``email``/``phone_number`` is the first value)."""
    return sorted(values, key=lambda v: v.get("primary") is not True)


def _compact(value: dict[str, Any]) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def user_to_attrs(
    resource: dict[str, Any], inum: str, metadata: str | None = None
) -> dict[str, list[str]]:
    """Every LDAP attribute SCIM manages for a user ([] means: remove it); ``metadata``
    is the entry's ``oxMetadata`` (other keys in it are kept)."""
    name = resource.get("name") or {}
    emails = _ordered([e for e in resource.get("emails", []) if e.get("value")])
    phones = _ordered([p for p in resource.get("phoneNumbers", []) if p.get("value")])
    ext = resource.get(GLUU_USER) or {}
    user_name = resource["userName"]
    family = name.get("familyName")
    fields = {
        "inum": inum,
        "uid": user_name,
        "family_name": family or user_name,
        "given_name": name.get("givenName"),
        "display_name": resource.get("displayName"),
        "email": emails[0]["value"] if emails else None,
        "phone": phones[0]["value"] if phones else None,
        "status": "active" if resource.get("active", True) else "inactive",
    }
    try:
        person = Person(**fields)
        for extra in emails[1:]:
            Person(**{**fields, "email": extra["value"]})
    except ValidationError as exc:
        error = exc.errors()[0]
        where = _FIELD.get(str(error["loc"][0]) if error["loc"] else "", "resource")
        raise InvalidValue(f"{where}: {error['msg']}") from None

    def one(value: Any) -> list[str]:
        return [] if value in (None, "") else [str(value)]

    def flag(value: Any) -> list[str]:
        return [] if value is None else ["TRUE" if value else "FALSE"]

    return {
        "uid": [person.uid],
        "sn": [person.family_name],
        "givenName": one(person.given_name),
        "displayName": one(person.display_name),
        "cn": [person.name or person.uid],
        "oxStatus": [] if resource.get("active") is None else [person.status],
        "oxExternalId": one(resource.get("externalId")),
        "mail": list(dict.fromkeys(e["value"] for e in emails)),
        "oxScimEmail": list(dict.fromkeys(_compact(e) for e in emails)),
        "telephoneNumber": list(dict.fromkeys(p["value"] for p in phones)),
        "oxScimPhone": list(dict.fromkeys(_compact(p) for p in phones)),
        "oxEmailVerified": flag(ext.get("emailVerified")),
        "oxPhoneVerified": flag(ext.get("phoneVerified")),
        "oxMetadata": _metadata(metadata, no_family=not family),
    }


def _load(text: str | None) -> dict[str, Any]:
    try:
        data = json.loads(text) if text else {}
    except json.JSONDecodeError:
        return {}
    return data if isinstance(data, dict) else {}


def _metadata(current: str | None, *, no_family: bool) -> list[str]:
    data = _load(current)
    data.pop(_NO_FAMILY, None)
    if no_family:
        data[_NO_FAMILY] = True
    return [json.dumps(data, sort_keys=True)] if data else []


def group_from_entry(entry: Entry, base: str) -> dict[str, Any]:
    """The Group resource; members come from the ``member`` DNs alone (no member lookup)."""
    inum = entry.get("inum") or rdn_of(entry.dn)
    resource: dict[str, Any] = {
        "schemas": [GROUP],
        "id": inum,
        "displayName": entry.get("displayName"),
    }
    if external := entry.get("oxExternalId"):
        resource["externalId"] = external
    members = []
    for dn in entry.all("member"):
        value = rdn_of(dn)
        members.append({"value": value, "$ref": f"{base}/Users/{value}", "type": "User"})
    if members:
        resource["members"] = members
    resource["meta"] = _meta(entry, "Group", f"{base}/Groups/{inum}")
    return resource


def member_ids(resource: dict[str, Any]) -> list[str]:
    """The user ids of a checked Group resource's ``members`` (first occurrence kept)."""
    ids = []
    for index, member in enumerate(resource.get("members", [])):
        value = member.get("value")
        if not isinstance(value, str) or not value:
            raise InvalidValue(f"members[{index}].value: a user id is required")
        if member.get("type") not in (None, "User"):
            raise InvalidValue(f"members[{index}].type: only users can be members")
        ids.append(value)
    return list(dict.fromkeys(ids))


def group_to_attrs(resource: dict[str, Any], tree: Tree) -> dict[str, list[str]]:
    return {
        "displayName": [resource["displayName"]],
        "oxExternalId": [resource["externalId"]] if resource.get("externalId") else [],
        "member": [tree.person(m) for m in member_ids(resource)],
    }
