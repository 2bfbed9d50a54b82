"""Typed models of what the directory holds: people, groups, OAuth clients, scopes.

Field names follow the specifications they come from: a person's fields are OIDC Core
5.1 standard claims, a client's are RFC 7591 section 2 / OIDC Registration section 2
metadata. The LDAP mapping lives in the repositories, not here.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

_INUM = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:@!-]{0,127}$")
_UID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@+-]{0,127}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+$")
_COUNTRY = re.compile(r"^[A-Z]{2}$")

Status = Literal["active", "inactive"]


def _check(pattern: re.Pattern[str], value: str, what: str) -> str:
    if not pattern.match(value):
        raise ValueError(f"{value!r} is not a valid {what}")
    return value


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class Person(_Model):
    """A person (OIDC Core 5.1 claims); ``created``/``updated`` are read-only."""

    inum: str
    uid: str
    family_name: str = Field(min_length=1)
    given_name: str | None = None
    display_name: str | None = None
    email: str | None = None
    email_verified: bool = False
    phone: str | None = None
    phone_verified: bool = False
    street_address: str | None = None
    locality: str | None = None
    region: str | None = None
    postal_code: str | None = None
    country: str | None = None
    status: Status = "active"
    created: datetime | None = None
    updated: datetime | None = None

    @field_validator("inum")
    @classmethod
    def _inum(cls, value: str) -> str:
        return _check(_INUM, value, "inum")

    @field_validator("uid")
    @classmethod
    def _uid(cls, value: str) -> str:
        return _check(_UID, value, "uid")

    @field_validator("email")
    @classmethod
    def _email(cls, value: str | None) -> str | None:
        return None if value is None else _check(_EMAIL, value, "e-mail address")

    @field_validator("country")
    @classmethod
    def _country(cls, value: str | None) -> str | None:
        return None if value is None else _check(_COUNTRY, value, "ISO 3166 alpha-2 country")

    @property
    def name(self) -> str:
        """OIDC ``name``: the display name, else given + family name."""
        if self.display_name:
            return self.display_name
        return " ".join(p for p in (self.given_name, self.family_name) if p)


class Group(_Model):
    """A group of people; ``members`` are person inums."""

    inum: str
    display_name: str = Field(min_length=1)
    description: str | None = None
    members: list[str] = Field(default_factory=list)
    status: Status = "active"

    @field_validator("inum")
    @classmethod
    def _inum(cls, value: str) -> str:
        return _check(_INUM, value, "inum")


class Client(_Model):
    """An OAuth 2.0 / OpenID Connect client (RFC 7591 section 2, OIDC Registration 2)."""

    client_id: str
    client_secret: str | None = Field(default=None, repr=False)
    name: str | None = None
    redirect_uris: list[str] = Field(default_factory=list)
    post_logout_redirect_uris: list[str] = Field(default_factory=list)
    grant_types: list[str] = Field(default_factory=lambda: ["authorization_code"])
    response_types: list[str] = Field(default_factory=lambda: ["code"])
    scopes: list[str] = Field(default_factory=list)
    token_endpoint_auth_method: str = "client_secret_basic"
    jwks: dict[str, Any] | None = None
    jwks_uri: str | None = None
    id_token_signed_response_alg: str = "RS256"
    userinfo_signed_response_alg: str | None = None
    access_token_format: Literal["opaque", "jwt"] = "opaque"
    subject_type: Literal["public", "pairwise"] = "public"
    sector_identifier_uri: str | None = None
    frontchannel_logout_uri: str | None = None
    backchannel_logout_uri: str | None = None
    registration_access_token_hash: str | None = Field(default=None, repr=False)
    allow_password_grant: bool = False
    # Policy an administrator sets (``oxswarm clients add|update``), never registration:
    trusted: bool = False  # no consent page for this client
    resource_server: bool = False  # may introspect tokens issued to other clients
    created_at: datetime | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)

    @field_validator("client_id")
    @classmethod
    def _client_id(cls, value: str) -> str:
        return _check(_INUM, value, "client_id")


class Scope(_Model):
    """An OAuth 2.0 scope (RFC 6749 3.3) and the claims it releases (OIDC Core 5.4)."""

    name: str = Field(min_length=1, max_length=200)
    description: str | None = None
    claims: list[str] = Field(default_factory=list)
    default: bool = False
    scope_type: Literal["openid", "oauth", "uma", "dynamic"] = "openid"

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        # RFC 6749 section 3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E )
        if any(ch in ' "\\' or not 0x21 <= ord(ch) <= 0x7E for ch in value):
            raise ValueError(f"{value!r} is not a valid scope token (RFC 6749 3.3)")
        return value
