"""The admin API as one Starlette mount at ``/identity/restv1/api/v1`` (used by the app)."""

from __future__ import annotations

from starlette.routing import Mount

from oxswarm.oxtrust.api.openapi import openapi_document
from oxswarm.oxtrust.api.operations import OPERATIONS
from oxswarm.oxtrust.api.routes import PREFIX, api_routes
from oxswarm.oxtrust.api.service import AdminService
from oxswarm.oxtrust.scim.auth import TokenLookup


def api_mount(service: AdminService, lookup: TokenLookup) -> Mount:
    """Every operation of :data:`OPERATIONS` and ``openapi.json`` describing them."""
    document = openapi_document(OPERATIONS)
    return Mount(PREFIX, routes=api_routes(OPERATIONS, service, lookup, document))
