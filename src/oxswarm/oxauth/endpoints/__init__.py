"""Back-channel endpoints, one view module each; :func:`routes` lists them all."""

from __future__ import annotations

from starlette.routing import BaseRoute

from oxswarm.oxauth.endpoints import (
    discovery,
    health,
    introspection,
    jwks,
    register,
    revoke,
    sector,
    token,
    userinfo,
)

MODULES = (discovery, health, introspection, jwks, register, revoke, sector, token, userinfo)


def routes() -> list[BaseRoute]:
    """Every back-channel route (Gluu's paths)."""
    return [route for module in MODULES for route in module.routes()]
