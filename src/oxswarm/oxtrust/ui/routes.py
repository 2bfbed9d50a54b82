"""Every route of the admin UI, and ``/`` -> ``/identity`` as in Gluu."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from oxswarm.oxtrust.ui.branding_pages import branding_routes
from oxswarm.oxtrust.ui.clients import client_routes
from oxswarm.oxtrust.ui.dashboard import dashboard_routes
from oxswarm.oxtrust.ui.deps import UiDeps
from oxswarm.oxtrust.ui.groups import group_routes
from oxswarm.oxtrust.ui.people import people_routes
from oxswarm.oxtrust.ui.providers import provider_routes
from oxswarm.oxtrust.ui.scopes import scope_routes
from oxswarm.oxtrust.ui.sectors import sector_routes
from oxswarm.oxtrust.ui.settings_pages import settings_routes
from oxswarm.oxtrust.ui.signin import signin_routes
from oxswarm.oxtrust.ui.trusts import trust_routes


async def _root(_request: Request) -> Response:
    return RedirectResponse("/identity", status_code=302)


def ui_routes(deps: UiDeps) -> list[BaseRoute]:
    return [
        Route("/", _root, methods=["GET", "HEAD"]),
        Mount("/identity/static", StaticFiles(packages=[("oxswarm.oxtrust.ui", "static")]),
              name="ui-static"),
        *signin_routes(deps),
        *dashboard_routes(deps),
        *people_routes(deps),
        *client_routes(deps),
        *trust_routes(deps),
        *group_routes(deps),
        *scope_routes(deps),
        *sector_routes(deps),
        *provider_routes(deps),
        *settings_routes(deps),
        *branding_routes(deps),
    ]
