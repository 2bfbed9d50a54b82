"""The oxAuth Starlette application factory.

``create_app(settings)`` opens the shared resources (:class:`OxAuthDeps`) in the
lifespan from the config store; tests and the benchmark may pass ``deps`` ready-made.
Routes come from :mod:`oxswarm.oxauth.endpoints` (back channel) and
:mod:`oxswarm.oxauth.web` (front channel): a new view registers itself there, not here.
``app.state.deps`` holds the deps, ``app.state.provider`` the protocol objects.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

from starlette.applications import Starlette
from starlette.types import ASGIApp

from oxswarm.metrics.asgi import RequestMetrics
from oxswarm.oxauth import endpoints, web
from oxswarm.oxauth.endpoints._http import EXCEPTION_HANDLERS
from oxswarm.oxauth.endpoints.documents import DocumentFastPath
from oxswarm.oxauth.endpoints.token import TokenFastPath
from oxswarm.oxauth.last_resort import LastResort, server_error
from oxswarm.oxauth.model import OxAuthDeps
from oxswarm.oxauth.provider import Provider
from oxswarm.settings import Settings

if TYPE_CHECKING:
    from oxswarm.oxauth.wiring import RunOptions


def create_app(
    settings: Settings | None = None,
    deps: OxAuthDeps | None = None,
    *,
    options: RunOptions | None = None,
) -> Starlette:
    """The app; ``deps`` if given, else opened from ``settings`` at start, closed at stop."""
    if settings is None and deps is None:
        raise ValueError("create_app needs settings or deps")

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if deps is not None:
            app.state.deps = deps
            app.state.provider = Provider(deps)
            yield
            return
        from oxswarm.oxauth.wiring import open_deps

        assert settings is not None
        async with open_deps(settings, options) as opened:
            app.state.deps = opened
            app.state.provider = Provider(opened, opened.extras.get("fetcher"))
            yield

    return OxAuthApp(
        routes=[*endpoints.routes(), *web.routes()],
        lifespan=lifespan,
        exception_handlers={**EXCEPTION_HANDLERS, Exception: server_error},
    )


class OxAuthApp(Starlette):
    """Starlette with the fast paths of the token endpoint, discovery and the JWKS before
    any middleware (counting their own requests), the request metrics and ``/metrics`` behind it
    (:mod:`oxswarm.metrics.asgi`), and the last resort for unhandled exceptions outermost
    (a 500, never a dropped connection)."""

    def build_middleware_stack(self) -> ASGIApp:
        inner = DocumentFastPath(RequestMetrics(super().build_middleware_stack()), self.state)
        return LastResort(TokenFastPath(inner, self.state))  # the token endpoint first
