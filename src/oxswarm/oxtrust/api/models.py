"""The admin API's JSON documents, in and out, as pydantic models.

These models validate every request body (:func:`parse`) and are also the schemas of the
OpenAPI document (:mod:`oxswarm.oxtrust.api.openapi`), so what the document says is what
the API checks. Field rules repeat the directory models' (``directory/models.py``) as
JSON Schema keywords (``pattern``, ``maxLength``) so that a client reading the document
knows them; client metadata is checked by ``oauth/client_metadata.py`` alone (the model
here only gives each member its JSON type).
"""

from __future__ import annotations

from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model

from oxswarm.errors import InvalidInput

INUM = r"^[A-Za-z0-9][A-Za-z0-9._:@!-]{0,127}$"
UID = r"^[A-Za-z0-9][A-Za-z0-9._@+-]{0,127}$"
EMAIL = r"^[^@\s]+@[^@\s]+$"
COUNTRY = r"^[A-Z]{2}$"
Text = Field(default=None, max_length=256)
Status = Literal["active", "inactive"]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Error(_Out):
    """Every error: an OAuth-style code, a description naming the field, and the field."""

    error: str
    error_description: str
    field: str | None = None


class PersonIn(_In):
    """A person as the API takes it; ``password`` is stored hashed (Argon2id), never read."""

    uid: str = Field(pattern=UID, max_length=128)
    family_name: str = Field(min_length=1, max_length=256)
    given_name: str | None = Text
    display_name: str | None = Text
    email: str | None = Field(default=None, pattern=EMAIL, max_length=256)
    email_verified: bool = False
    phone: str | None = Field(default=None, max_length=64)
    phone_verified: bool = False
    street_address: str | None = Text
    locality: str | None = Text
    region: str | None = Text
    postal_code: str | None = Field(default=None, max_length=32)
    country: str | None = Field(default=None, pattern=COUNTRY)
    status: Status = "active"
    password: str | None = Field(default=None, min_length=1, max_length=256)


class PersonOut(_Out):
    inum: str
    uid: str
    family_name: str
    given_name: str | None = None
    display_name: str | None = None
    email: str | None = None
    email_verified: bool
    phone: str | None = None
    phone_verified: bool
    street_address: str | None = None
    locality: str | None = None
    region: str | None = None
    postal_code: str | None = None
    country: str | None = None
    status: Status
    created: str | None = None
    updated: str | None = None


class LinksOut(_Out):
    """A person's links to upstream identities (oxPassport): ``passport-<ID>:<subject>``."""

    links: list[str]


class GroupIn(_In):
    display_name: str = Field(min_length=1, max_length=256)
    description: str | None = Field(default=None, max_length=1024)
    members: list[str] = Field(default_factory=list, max_length=1000)
    status: Status = "active"


class GroupOut(_Out):
    inum: str
    display_name: str
    description: str | None = None
    members: list[str]
    status: Status


class MembersIn(_In):
    """Person inums to add to a group."""

    members: list[str] = Field(min_length=1, max_length=1000)


class ClientIn(BaseModel):
    """Client metadata (RFC 7591 section 2, OIDC Registration section 2) plus the
    administrator's policy flags; the rules are ``oauth/client_metadata.py``'s."""

    model_config = ConfigDict(extra="allow")

    client_name: str | None = None
    redirect_uris: list[str] | None = None
    post_logout_redirect_uris: list[str] | None = None
    grant_types: list[str] | None = None
    response_types: list[str] | None = None
    scope: str | None = None
    token_endpoint_auth_method: str | None = None
    jwks_uri: str | None = None
    id_token_signed_response_alg: str | None = None
    userinfo_signed_response_alg: str | None = None
    access_token_format: Literal["opaque", "jwt"] | None = None
    subject_type: Literal["public", "pairwise"] | None = None
    sector_identifier_uri: str | None = None
    frontchannel_logout_uri: str | None = None
    backchannel_logout_uri: str | None = None
    application_type: Literal["web", "native"] | None = None
    trusted: bool | None = None
    resource_server: bool | None = None


class ClientOut(_Out):
    """A client; ``client_secret`` only in the answer that created it."""

    client_id: str
    client_secret: str | None = None
    client_name: str | None = None
    redirect_uris: list[str]
    post_logout_redirect_uris: list[str]
    grant_types: list[str]
    response_types: list[str]
    scope: str
    token_endpoint_auth_method: str
    access_token_format: str
    trusted: bool
    resource_server: bool
    frontchannel_logout_uri: str | None = None
    backchannel_logout_uri: str | None = None
    jwks_uri: str | None = None
    application_type: str | None = None


class ScopeIn(_In):
    name: str = Field(min_length=1, max_length=200, pattern=r"^[\x21\x23-\x5b\x5d-\x7e]+$")
    description: str | None = Field(default=None, max_length=1024)
    claims: list[str] = Field(default_factory=list, max_length=100)
    default: bool = False
    scope_type: Literal["openid", "oauth", "uma", "dynamic"] = "openid"


class ScopeOut(_Out):
    name: str
    description: str | None = None
    claims: list[str]
    default: bool
    scope_type: str


class AttributeIn(_In):
    """A person attribute known to the server and the OpenID claim it is released as."""

    name: str = Field(pattern=r"^[A-Za-z][A-Za-z0-9-]{0,63}$")
    claim: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_.:-]{1,64}$")
    display_name: str | None = Text
    description: str | None = Field(default=None, max_length=1024)
    status: Status = "active"


class AttributeOut(_Out):
    inum: str
    name: str
    claim: str | None = None
    display_name: str | None = None
    description: str | None = None
    status: Status


class Settings(_In):
    """oxAuth's live policy keys (``oxauth/policy.py``); ``null`` removes a key (default).

    Values are the config store's strings; a PUT changes only the keys it names.
    """

    oxauth_registration: str | None = None
    oxauth_registration_rate_limit: str | None = None
    oxauth_registration_rate_window: str | None = None
    oxauth_lockout_user_failures: str | None = None
    oxauth_lockout_address_failures: str | None = None
    oxauth_lockout_address_delay_ms: str | None = None
    oxauth_lockout_window: str | None = None
    oxauth_trusted_proxies: str | None = None
    oxauth_fetch_allow: str | None = None
    oxauth_fetch_deny: str | None = None
    oxauth_fetch_ca: str | None = None
    oxauth_fetch_http: str | None = None
    oxauth_session_lifetime: str | None = None
    oxauth_default_acr: str | None = None


class Configuration(_Out):
    """The cluster's configuration; secrets are listed with masked values."""

    config: dict[str, str]
    secret: dict[str, str]


class AuditEventOut(_Out):
    id: str
    time: str
    actor: str
    action: str
    target: str | None = None
    address: str | None = None
    detail: dict[str, Any]


class TrustIn(_In):
    """A SAML trust relationship (docs/saml.md): the SP's metadata XML and what it gets;
    the metadata is checked by ``oxshibboleth/trust.py`` (as ``oxswarm saml trust``)."""

    metadata: str = Field(min_length=1, max_length=60_000)
    name: str | None = Field(default=None, min_length=1, max_length=200)
    release: list[str] = Field(default_factory=lambda: ["uid", "mail"], max_length=64)
    nameid_format: Literal["transient", "persistent", "emailAddress", "unspecified"] = (
        "transient")
    sign_assertions: bool = False
    encrypt_assertions: bool = False
    enabled: bool = True


class TrustOut(_Out):
    inum: str
    name: str
    entity_id: str
    acs: list[str]
    authn_requests_signed: bool
    release: list[str]
    nameid_format: str
    sign_assertions: bool
    encrypt_assertions: bool
    enabled: bool


class ProviderIn(_In):
    """An oxPassport upstream OpenID Provider or SAML IdP (docs/passport.md); checked by
    ``passport/providers.py`` (as ``oxswarm providers``). ``client_secret`` is write-only:
    required on create of an ``oidc`` provider, kept on replace when absent. A ``saml``
    provider has ``metadata`` (its entityID becomes ``issuer``) and no client."""

    id: str | None = Field(default=None, min_length=1, max_length=40)
    type: Literal["oidc", "saml"] = "oidc"
    issuer: str = Field(default="", max_length=2048)
    client_id: str = Field(default="", max_length=255)
    metadata: str = Field(default="", max_length=256 * 1024)
    subject_attribute: str = Field(default="", max_length=256)
    client_secret: str | None = Field(default=None, min_length=1, max_length=1024)
    name: str = Field(default="", max_length=80)
    scopes: list[str] = Field(default_factory=lambda: ["openid", "profile", "email"],
                              max_length=32)
    mapping: dict[str, str] = Field(default_factory=dict, max_length=64)
    linking: Literal["create", "link_by_email", "deny_on_collision", "existing_only"] = (
        "create")
    update: Literal["first", "always"] = "first"
    enabled: bool = True


class ProviderOut(_Out):
    id: str
    type: str
    issuer: str
    client_id: str
    client_secret_set: bool
    name: str
    scopes: list[str]
    mapping: dict[str, str]
    linking: str
    update: str
    enabled: bool
    metadata: str = ""
    subject_attribute: str = ""


def _page(name: str, item: type[BaseModel]) -> type[BaseModel]:
    fields: dict[str, Any] = {
        "total": (int, ...),
        "start": (int, ...),
        "limit": (int, ...),
        "items": (list[item], ...),  # type: ignore[valid-type]
    }
    return create_model(name, __config__=ConfigDict(extra="forbid"), **fields)


PeoplePage = _page("PeoplePage", PersonOut)
GroupsPage = _page("GroupsPage", GroupOut)
ClientsPage = _page("ClientsPage", ClientOut)
ScopesPage = _page("ScopesPage", ScopeOut)
AttributesPage = _page("AttributesPage", AttributeOut)
AuditPage = _page("AuditPage", AuditEventOut)
TrustsPage = _page("TrustsPage", TrustOut)
ProvidersPage = _page("ProvidersPage", ProviderOut)


M = TypeVar("M", bound=BaseModel)


def parse(model: type[M], data: Any) -> M:
    """``data`` as ``model``; the first problem as :class:`InvalidInput` naming its field."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "body"
        raise InvalidInput(f"{where}: {first['msg']}", field=where) from None
