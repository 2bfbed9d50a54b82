"""SCIM errors (RFC 7644 section 3.12): an HTTP status, a ``scimType`` and a detail.

Every error carries its wire form; :meth:`ScimError.body` renders it in one place.
"""

from __future__ import annotations

from typing import Any, Final

ERROR_SCHEMA: Final = "urn:ietf:params:scim:api:messages:2.0:Error"


class ScimError(Exception):
    """A SCIM error response; ``scim_type`` is one of RFC 7644 table 9 (or None)."""

    status = 400
    scim_type: str | None = None

    def __init__(self, detail: str, status: int | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        if status is not None:
            self.status = status

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "schemas": [ERROR_SCHEMA],
            "status": str(self.status),
            "detail": self.detail,
        }
        if self.scim_type:
            body["scimType"] = self.scim_type
        return body


class InvalidFilter(ScimError):
    scim_type = "invalidFilter"


class TooMany(ScimError):
    scim_type = "tooMany"


class Uniqueness(ScimError):
    status = 409
    scim_type = "uniqueness"


class Mutability(ScimError):
    scim_type = "mutability"


class InvalidSyntax(ScimError):
    scim_type = "invalidSyntax"


class InvalidPath(ScimError):
    scim_type = "invalidPath"


class NoTarget(ScimError):
    scim_type = "noTarget"


class InvalidValue(ScimError):
    scim_type = "invalidValue"


class InvalidVersion(ScimError):
    scim_type = "invalidVers"


class Sensitive(ScimError):
    status = 403
    scim_type = "sensitive"


class NotFound(ScimError):
    status = 404


class PreconditionFailed(ScimError):
    status = 412


class PayloadTooLarge(ScimError):
    status = 413


class Unauthorized(ScimError):
    status = 401


class Forbidden(ScimError):
    status = 403


class Unavailable(ScimError):
    status = 503
