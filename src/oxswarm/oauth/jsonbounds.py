"""Bounded JSON parsing for every JSON a request carries (RFC 8259 with limits).

:mod:`json` recurses once per nesting level, so ``[[[...]]]`` 100,000 levels deep ends in
:class:`RecursionError`, and it accepts ``NaN``/``Infinity``, which are not JSON. Every
JSON input of the provider (registration bodies, the ``claims`` parameter, JWT headers
and payloads) goes through :func:`loads`: at most ``max_bytes``, at most ``max_depth``
levels of arrays and objects (checked before parsing, in one linear scan), no
non-standard constants, valid UTF-8 (no lone surrogate escapes either: they could not be
stored or signed). Failures raise the caller's spec error naming the
parameter (``invalid_request``, ``invalid_client_metadata``, ``invalid_client``...).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any, Final

from oxswarm.oauth.rfc6749.errors import InvalidRequest, OAuthError

MAX_BYTES: Final = 64 * 1024
MAX_DEPTH: Final = 32

_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKET = re.compile(rb"[\[\]{}]")
_OPEN = frozenset(b"[{")


def depth(raw: bytes) -> int:
    """The deepest nesting of arrays and objects in ``raw`` (strings skipped)."""
    deepest = level = 0
    for match in _BRACKET.finditer(_STRING.sub(b'""', raw)):
        if match.group()[0] in _OPEN:
            level += 1
            deepest = max(deepest, level)
        else:
            level -= 1
    return deepest


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def loads(
    data: bytes | str,
    what: str,
    error: Callable[[str], OAuthError] = InvalidRequest,
    *,
    max_bytes: int = MAX_BYTES,
    max_depth: int = MAX_DEPTH,
) -> Any:
    """The JSON value of ``data`` (``what`` names it in errors), within the bounds."""
    raw = data if isinstance(data, bytes) else data.encode("utf-8", "surrogatepass")
    if len(raw) > max_bytes:
        raise error(f"{what} is too large (at most {max_bytes} bytes)")
    if depth(raw) > max_depth:
        raise error(f"{what} is nested too deeply (at most {max_depth} levels)")
    try:
        value = json.loads(raw.decode("utf-8"), parse_constant=_no_constant)
        json.dumps(value, ensure_ascii=False).encode("utf-8")  # no lone surrogate ("\ud800")
    except (ValueError, RecursionError) as exc:  # UnicodeError is a ValueError
        raise error(f"{what} is not valid JSON") from exc
    return value


def loads_object(
    data: bytes | str,
    what: str,
    error: Callable[[str], OAuthError] = InvalidRequest,
    **bounds: int,
) -> dict[str, Any]:
    """:func:`loads`, and the value must be a JSON object."""
    value = loads(data, what, error, **bounds)
    if not isinstance(value, dict):
        raise error(f"{what} must be a JSON object")
    return value
