"""The operator's answers that config-init turns into the cluster's configuration.

The original ``config.sh`` asked for hostname, country, state, city, e-mail,
organisation and admin password; here they come as a JSON object (a params file) and
are validated once, naming the first bad field. Rules:

- ``hostname``: a fully qualified domain name of at least three labels (RFC 1035
  section 2.3.1 / RFC 1123 section 2.1: labels of 1-63 letters, digits and hyphens, not
  starting or ending with a hyphen; at most 253 characters); stored in lower case.
- ``admin_email``: ``local@domain`` (RFC 5321 section 4.5.3.1 lengths; the dot-atom
  shape of RFC 5322 section 3.4.1 for the local part).
- ``country_code``: two letters (ISO 3166-1 alpha-2, X.509 ``countryName``), upper-cased.
- ``state``, ``city``, ``org_name``: non-empty, no control characters, short enough to
  fit X.509 name attributes (RFC 5280 appendix A upper bounds; the CA's common name is
  ``"<org_name> CA"``, at most 64 characters).
- ``admin_pw``: at least 8 characters with upper case, lower case, digit and special.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Self

from pydantic import BaseModel, ConfigDict, SecretStr, ValidationError, field_validator

from oxswarm.errors import InvalidInput

MIN_PASSWORD = 8
MAX_PASSWORD = 256
MAX_NAME = 64  # RFC 5280 ub-common-name / ub-organization-name
MAX_ORG_NAME = MAX_NAME - len(" CA")
MAX_HOSTNAME = 253
MAX_EMAIL = 254

_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
_EMAIL_LOCAL = re.compile(r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$")
_COUNTRY = re.compile(r"^[A-Za-z]{2}$")

PASSWORD_RULE = "must be at least 8 characters with upper, lower, digit and special"


def _has_control(value: str) -> bool:
    return any(unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") for ch in value)


def check_hostname(value: str, *, min_labels: int = 3) -> str:
    """Return ``value`` in lower case if it is an FQDN of ``min_labels`` labels or more."""
    host = value.lower()
    if not host:
        raise ValueError("must not be empty")
    if len(host) > MAX_HOSTNAME:
        raise ValueError(f"must be at most {MAX_HOSTNAME} characters")
    labels = host.split(".")
    if len(labels) < min_labels:
        raise ValueError(
            f"must be a fully qualified domain name with at least {min_labels} labels "
            "(e.g. id.example.org)"
        )
    for label in labels:
        if not _LABEL.match(label):
            raise ValueError(
                f"label {label!r} must be 1-63 letters, digits or '-', "
                "not starting or ending with '-'"
            )
    if labels[-1].isdigit():
        raise ValueError("must be a domain name, not an IP address")
    return host


def check_email(value: str) -> str:
    """Return ``value`` if it has the shape ``local@domain.tld``."""
    if len(value) > MAX_EMAIL:
        raise ValueError(f"must be at most {MAX_EMAIL} characters")
    local, at, domain = value.rpartition("@")
    if not at or not local or len(local) > 64 or not _EMAIL_LOCAL.match(local):
        raise ValueError("must be an e-mail address like admin@example.org")
    try:
        check_hostname(domain, min_labels=2)
    except ValueError:
        raise ValueError("must be an e-mail address like admin@example.org") from None
    return value


def check_text(value: str, *, max_len: int = MAX_NAME) -> str:
    """Return ``value`` without surrounding blanks if it is short printable text."""
    text = value.strip()
    if not text:
        raise ValueError("must not be empty")
    if _has_control(text):
        raise ValueError("must not contain control characters")
    if len(text) > max_len:
        raise ValueError(f"must be at most {max_len} characters")
    return text


def check_password(value: str) -> str:
    """Return ``value`` if it is strong enough for the admin user (never echoes it)."""
    if _has_control(value):
        raise ValueError("must not contain control characters")
    if len(value) > MAX_PASSWORD:
        raise ValueError(f"must be at most {MAX_PASSWORD} characters")
    strong = (
        len(value) >= MIN_PASSWORD
        and any(ch.isupper() for ch in value)
        and any(ch.islower() for ch in value)
        and any(ch.isdigit() for ch in value)
        and any(not ch.isalnum() and not ch.isspace() for ch in value)
    )
    if not strong:
        raise ValueError(PASSWORD_RULE)
    return value


class Params(BaseModel):
    """Validated answers for config-init; ``admin_pw`` prints as ``**********``."""

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)

    hostname: str
    country_code: str
    state: str
    city: str
    admin_email: str
    org_name: str
    admin_pw: SecretStr

    @field_validator("hostname")
    @classmethod
    def _hostname(cls, value: str) -> str:
        return check_hostname(value)

    @field_validator("country_code")
    @classmethod
    def _country(cls, value: str) -> str:
        if not _COUNTRY.match(value):
            raise ValueError("must be two letters (ISO 3166-1 alpha-2, e.g. US)")
        return value.upper()

    @field_validator("state", "city")
    @classmethod
    def _place(cls, value: str) -> str:
        return check_text(value)

    @field_validator("org_name")
    @classmethod
    def _org(cls, value: str) -> str:
        return check_text(value, max_len=MAX_ORG_NAME)

    @field_validator("admin_email")
    @classmethod
    def _email(cls, value: str) -> str:
        return check_email(value)

    @field_validator("admin_pw")
    @classmethod
    def _password(cls, value: SecretStr) -> SecretStr:
        check_password(value.get_secret_value())
        return value

    @classmethod
    def from_mapping(cls, data: object) -> Self:
        """Validate ``data`` (a mapping); raise :class:`InvalidInput` naming the first bad field."""
        if not isinstance(data, Mapping):
            raise InvalidInput("params: must be a JSON object", field="params")
        for name in data:
            if name not in cls.model_fields:
                raise InvalidInput(f"{name}: unknown field", field=str(name))
        try:
            return cls.model_validate(dict(data))
        except ValidationError as exc:
            # ``from None``: the pydantic error carries the input values (the password).
            raise _translate(exc) from None

    @classmethod
    def from_json_file(cls, path: str | Path) -> Self:
        """Read a params file (a JSON object); errors name ``params`` or the bad field."""
        try:
            text = Path(path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            raise InvalidInput(f"params: cannot read {path}: {reason}", field="params") from None
        try:
            data: Any = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InvalidInput(
                f"params: {path} is not valid JSON (line {exc.lineno}, column {exc.colno})",
                field="params",
            ) from None
        return cls.from_mapping(data)


def _translate(exc: ValidationError) -> InvalidInput:
    """The first error of ``exc`` as one line ``"<field>: <problem>"``."""
    error = exc.errors(include_input=False, include_url=False)[0]
    field = str(error["loc"][0]) if error["loc"] else "params"
    kind = error["type"]
    if kind == "missing":
        problem = "is required"
    elif kind == "extra_forbidden":
        problem = "unknown field"
    elif kind in ("string_type", "str_type"):
        problem = "must be a string"
    elif kind == "value_error":
        problem = str(error.get("ctx", {}).get("error", error["msg"]))
    else:
        problem = error["msg"]
    return InvalidInput(f"{field}: {problem}", field=field)
