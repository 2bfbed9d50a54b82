"""Back-channel endpoints, one view module each; :func:`routes` lists them all."""

from __future__ import annotations

from starlette.routing import BaseRoute

from oxswarm.oxauth.endpoints import health


def routes() -> list[BaseRoute]:
    """Every back-channel route (Gluu's paths)."""
    return [*health.routes()]
