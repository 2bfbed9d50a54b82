"""Reading a role's environment once, with errors that name the variable."""

from __future__ import annotations

import os
from collections.abc import Mapping

from oxswarm.errors import InvalidInput


def need(name: str, env: Mapping[str, str] | None = None) -> str:
    value = (os.environ if env is None else env).get(name, "").strip()
    if not value:
        raise InvalidInput(f"{name}: must be set (the stack file sets it)", field=name)
    return value


def optional(name: str, default: str, env: Mapping[str, str] | None = None) -> str:
    return (os.environ if env is None else env).get(name, "").strip() or default


def csv(name: str, env: Mapping[str, str] | None = None) -> list[str]:
    return [p.strip() for p in need(name, env).split(",") if p.strip()]
