"""What every grant type implements, and the scope rule they share (RFC 6749 3.3)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar, Protocol

from oxswarm.oauth.models import ClientMetadata
from oxswarm.oauth.rfc6749.errors import InvalidScope
from oxswarm.oauth.rfc6749.requests import OAuthRequest, split_scope


class Grant(Protocol):
    """One ``grant_type`` of the token endpoint (RFC 6749 section 4 / 6)."""

    grant_type: ClassVar[str]

    async def issue(self, request: OAuthRequest, client: ClientMetadata) -> dict[str, Any]:
        """The success body (RFC 6749 5.1) or an :class:`~..errors.OAuthError`."""
        ...


def resolve_scope(
    requested: str | None, allowed: Sequence[str], default: Sequence[str]
) -> tuple[str, ...]:
    """RFC 6749 3.3: the requested scope must be allowed; absent -> ``default``."""
    wanted = split_scope(requested)
    if not wanted:
        return tuple(default)
    extra = [s for s in wanted if s not in allowed]
    if extra:
        raise InvalidScope(f"scope not allowed for this client: {' '.join(extra)}")
    return wanted
