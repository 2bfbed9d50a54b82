"""OpenID Connect Discovery 1.0 section 2 (issuer discovery) over WebFinger (RFC 7033).

A query for ``rel=http://openid.net/specs/connect/1.0/issuer`` about a resource
(``acct:user@host`` or a URL) answers with a JRD naming the issuer. Section 4.2 of RFC
7033: ``resource`` is required (400 otherwise).
"""

from __future__ import annotations

from typing import Any

from oxswarm.oauth.rfc6749.errors import InvalidRequest

ISSUER_REL = "http://openid.net/specs/connect/1.0/issuer"
JRD_MEDIA_TYPE = "application/jrd+json"


def issuer_jrd(resource: str | None, rels: list[str], issuer: str) -> dict[str, Any]:
    """The JRD for ``resource``; links only when ``rel`` is absent or includes the issuer."""
    if not resource:
        raise InvalidRequest("resource is required")
    links = []
    if not rels or ISSUER_REL in rels:
        links.append({"rel": ISSUER_REL, "href": issuer})
    return {"subject": resource, "links": links}
