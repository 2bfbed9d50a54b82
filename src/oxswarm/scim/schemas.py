"""The resources served and their schemas (RFC 7643 sections 4, 7 and 8.7.1).

One table per resource drives the ``/Schemas`` document, input checks (mutability,
types) and ``attributes``/``excludedAttributes``. Only attributes the directory really
stores are published, so a client (or a compliance checker) reading ``/Schemas`` learns
exactly what round-trips.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

USER: Final = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP: Final = "urn:ietf:params:scim:schemas:core:2.0:Group"
GLUU_USER: Final = "urn:ietf:params:scim:schemas:extension:gluu:2.0:User"
LIST_RESPONSE: Final = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
PATCH_OP: Final = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
SEARCH_REQUEST: Final = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"
BULK_REQUEST: Final = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"
BULK_RESPONSE: Final = "urn:ietf:params:scim:api:messages:2.0:BulkResponse"
SPC: Final = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"
RESOURCE_TYPE: Final = "urn:ietf:params:scim:schemas:core:2.0:ResourceType"
SCHEMA: Final = "urn:ietf:params:scim:schemas:core:2.0:Schema"


@dataclass(frozen=True)
class Attr:
    """One attribute definition (RFC 7643 section 7)."""

    name: str
    type: str = "string"
    multi: bool = False
    required: bool = False
    case_exact: bool = False
    mutability: str = "readWrite"
    returned: str = "default"
    uniqueness: str = "none"
    description: str = ""
    sub: tuple[Attr, ...] = ()
    canonical: tuple[str, ...] = ()
    reference_types: tuple[str, ...] = ()

    def child(self, name: str) -> Attr | None:
        low = name.lower()
        return next((a for a in self.sub if a.name.lower() == low), None)

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "name": self.name,
            "type": self.type,
            "multiValued": self.multi,
            "description": self.description or self.name,
            "required": self.required,
            "mutability": self.mutability,
            "returned": self.returned,
        }
        if self.type in ("string", "reference", "binary"):
            data["caseExact"] = self.case_exact
        if self.type not in {"complex", "boolean"}:
            data["uniqueness"] = self.uniqueness
        if self.sub:
            data["subAttributes"] = [a.to_json() for a in self.sub]
        if self.canonical:
            data["canonicalValues"] = list(self.canonical)
        if self.reference_types:
            data["referenceTypes"] = list(self.reference_types)
        return data


def _typed_multi(name: str, description: str) -> Attr:
    return Attr(
        name,
        "complex",
        multi=True,
        description=description,
        sub=(
            Attr("value", description=f"the {description.lower()}"),
            Attr("type", canonical=("work", "home", "other")),
            Attr("primary", "boolean"),
        ),
    )


@dataclass(frozen=True)
class Schema:
    id: str
    name: str
    description: str
    attributes: tuple[Attr, ...]

    def attr(self, name: str) -> Attr | None:
        low = name.lower()
        return next((a for a in self.attributes if a.name.lower() == low), None)

    def to_json(self, location: str) -> dict[str, Any]:
        return {
            "schemas": [SCHEMA],
            "id": self.id,
            "name": self.name,
            "description": self.description,
            "attributes": [a.to_json() for a in self.attributes],
            "meta": {"resourceType": "Schema", "location": f"{location}/Schemas/{self.id}"},
        }


USER_SCHEMA: Final = Schema(
    USER,
    "User",
    "User Account",
    (
        Attr("userName", required=True, uniqueness="server", description="unique sign-in name"),
        Attr(
            "name",
            "complex",
            description="the components of the user's name",
            sub=(Attr("familyName"), Attr("givenName")),
        ),
        Attr("displayName"),
        Attr("active", "boolean", description="whether the user may sign in"),
        Attr("password", mutability="writeOnly", returned="never"),
        _typed_multi("emails", "E-mail addresses"),
        _typed_multi("phoneNumbers", "Phone numbers"),
        Attr(
            "groups",
            "complex",
            multi=True,
            mutability="readOnly",
            description="groups the user belongs to",
            sub=(
                Attr("value", mutability="readOnly"),
                Attr("$ref", "reference", mutability="readOnly", reference_types=("Group",)),
                Attr("display", mutability="readOnly"),
            ),
        ),
    ),
)

GROUP_SCHEMA: Final = Schema(
    GROUP,
    "Group",
    "Group",
    (
        Attr("displayName", required=True),
        Attr(
            "members",
            "complex",
            multi=True,
            description="people in the group",
            sub=(
                Attr("value", mutability="immutable"),
                Attr("$ref", "reference", mutability="immutable", reference_types=("User",)),
                Attr("type", mutability="immutable", canonical=("User",)),
            ),
        ),
    ),
)

GLUU_USER_SCHEMA: Final = Schema(
    GLUU_USER,
    "GluuUser",
    "Gluu's user extension: the directory's further attributes",
    (
        Attr("emailVerified", "boolean", description="OIDC email_verified"),
        Attr("phoneVerified", "boolean", description="OIDC phone_number_verified"),
    ),
)

SCHEMAS: Final = (USER_SCHEMA, GROUP_SCHEMA, GLUU_USER_SCHEMA)

# attributes every resource has (RFC 7643 section 3.1)
COMMON: Final = (
    Attr("id", case_exact=True, mutability="readOnly", returned="always", uniqueness="server"),
    Attr("externalId", case_exact=True),
    Attr(
        "meta",
        "complex",
        mutability="readOnly",
        sub=(
            Attr("resourceType", mutability="readOnly"),
            Attr("created", "dateTime", mutability="readOnly"),
            Attr("lastModified", "dateTime", mutability="readOnly"),
            Attr("location", "reference", mutability="readOnly"),
            Attr("version", mutability="readOnly"),
        ),
    ),
)


@dataclass(frozen=True)
class ResourceType:
    name: str
    endpoint: str
    schema: Schema
    extensions: tuple[Schema, ...] = ()

    def attr(self, name: str, urn: str | None = None) -> Attr | None:
        """The definition of top-level ``name`` (in ``urn``'s schema when given)."""
        if urn is None or urn.lower() == self.schema.id.lower():
            low = name.lower()
            found = next((a for a in COMMON if a.name.lower() == low), None)
            return found or self.schema.attr(name)
        ext = self.extension(urn)
        return ext.attr(name) if ext else None

    def extension(self, urn: str) -> Schema | None:
        return next((e for e in self.extensions if e.id.lower() == urn.lower()), None)

    def to_json(self, location: str) -> dict[str, Any]:
        return {
            "schemas": [RESOURCE_TYPE],
            "id": self.name,
            "name": self.name,
            "endpoint": f"/{self.endpoint}",
            "description": self.schema.description,
            "schema": self.schema.id,
            "schemaExtensions": [{"schema": e.id, "required": False} for e in self.extensions],
            "meta": {
                "resourceType": "ResourceType",
                "location": f"{location}/ResourceTypes/{self.name}",
            },
        }


USER_TYPE: Final = ResourceType("User", "Users", USER_SCHEMA, (GLUU_USER_SCHEMA,))
GROUP_TYPE: Final = ResourceType("Group", "Groups", GROUP_SCHEMA)
RESOURCE_TYPES: Final = (USER_TYPE, GROUP_TYPE)


@dataclass(frozen=True)
class Limits:
    """What ServiceProviderConfig announces and the endpoints enforce."""

    max_results: int = 200
    max_bulk_operations: int = 100
    max_payload_size: int = 1_048_576
    max_matches: int = 10_000


def service_provider_config(location: str, limits: Limits) -> dict[str, Any]:
    """RFC 7643 section 5 (no ``documentationUri``: docs/scim.md ships with the code)."""
    return {
        "schemas": [SPC],
        "patch": {"supported": True},
        "bulk": {
            "supported": True,
            "maxOperations": limits.max_bulk_operations,
            "maxPayloadSize": limits.max_payload_size,
        },
        "filter": {"supported": True, "maxResults": limits.max_results},
        "changePassword": {"supported": True},
        "sort": {"supported": True},
        "etag": {"supported": True},
        "authenticationSchemes": [
            {
                "type": "oauthbearertoken",
                "name": "OAuth Bearer Token",
                "description": "An access token from oxAuth (RFC 6750) with a SCIM scope",
                "specUri": "https://www.rfc-editor.org/info/rfc6750",
                "primary": True,
            }
        ],
        "meta": {
            "resourceType": "ServiceProviderConfig",
            "location": f"{location}/ServiceProviderConfig",
        },
    }


def names(attrs: Sequence[Attr]) -> list[str]:
    return [a.name for a in attrs]
