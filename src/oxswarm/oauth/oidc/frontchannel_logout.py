"""OpenID Connect Front-Channel Logout 1.0, section 2 (RP logout URI) and 4 (the OP renders
an ``iframe`` per RP with ``iss`` and ``sid`` as query parameters when the RP asked for
them with ``frontchannel_logout_session_required``).
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from oxswarm.oauth.models import ClientMetadata


def logout_iframe_url(client: ClientMetadata, *, issuer: str, sid: str) -> str | None:
    """The URL of ``client``'s logout iframe, or None when it registered none."""
    uri = client.frontchannel_logout_uri
    if not uri:
        return None
    if not client.frontchannel_logout_session_required:
        return uri
    parts = urlsplit(uri)
    query = parse_qsl(parts.query, keep_blank_values=True)
    query += [("iss", issuer), ("sid", sid)]
    return urlunsplit(parts._replace(query=urlencode(query)))
