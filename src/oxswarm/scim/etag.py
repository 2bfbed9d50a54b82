"""Versions and ETags (RFC 7644 section 3.14, RFC 9110 section 8.8.3).

A resource's version is its entry's ``entryCSN`` (the replication change sequence
number slapd stamps on every write, unique per change and per node), sent as a weak
ETag ``W/"<csn>"``. ``If-Match`` compares weakly; ``*`` matches any existing resource.
"""

from __future__ import annotations

import hmac

from oxswarm.scim.errors import PreconditionFailed


def etag(version: str) -> str:
    return f'W/"{version}"'


def _opaque(tag: str) -> str:
    tag = tag.strip()
    if tag.startswith("W/"):
        tag = tag[2:]
    return tag.strip('"')


def check_if_match(header: str | None, version: str) -> None:
    """:class:`PreconditionFailed` (412) unless ``header`` is absent or names ``version``."""
    if header is None:
        return
    tags = [t for t in header.split(",") if t.strip()]
    if any(t.strip() == "*" for t in tags):
        return
    if not any(hmac.compare_digest(_opaque(t).encode(), version.encode()) for t in tags):
        raise PreconditionFailed(
            f"If-Match: the resource is at version {etag(version)}, not {header.strip()}"
        )


def none_match(header: str | None, version: str) -> bool:
    """True when ``If-None-Match`` names the current version (answer 304)."""
    if header is None:
        return False
    return any(t.strip() == "*" or _opaque(t) == version for t in header.split(","))
