"""``/oxauth/sectoridentifier/{id}`` (GET): a sector identifier document the provider hosts
(Gluu's path; OpenID Connect Registration 5): the JSON array of the sector's redirect URIs,
read from the directory (:mod:`oxswarm.directory.sectors`). Unknown id: 404.

:class:`HostedSectors` is the registration's
:class:`~oxswarm.oauth.rfc7591.SectorFetcher`: a ``sector_identifier_uri`` naming one of
this issuer's hosted documents is read from the directory (oxAuth never fetches from its
own addresses), any other goes to the guarded HTTP fetcher.
"""

from __future__ import annotations

import asyncio
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from oxswarm.directory.sectors import SectorRepository, hosted_id
from oxswarm.errors import NotFound
from oxswarm.oauth.oidc.core.pairwise import HOSTED_SECTOR_PATH
from oxswarm.oauth.rfc6749.errors import InvalidClientMetadata
from oxswarm.oauth.rfc7591 import SectorFetcher
from oxswarm.oxauth.model import OxAuthDeps


class HostedSectors:
    """Hosted documents from the directory, the rest through ``fetcher``."""

    def __init__(self, issuer: str, repo: SectorRepository, fetcher: SectorFetcher) -> None:
        self.issuer = issuer
        self.repo = repo
        self.fetcher = fetcher

    async def fetch(self, uri: str) -> Any:
        sector_id = hosted_id(self.issuer, uri)
        if sector_id is None:
            return await self.fetcher.fetch(uri)
        try:
            sector = await asyncio.to_thread(self.repo.get, sector_id)
        except NotFound:
            raise InvalidClientMetadata("sector_identifier_uri could not be fetched") from None
        return list(sector.redirect_uris)

    async def close(self) -> None:
        close = getattr(self.fetcher, "close", None)
        if close is not None:
            await close()


async def sector_document(request: Request) -> Response:
    deps: OxAuthDeps = request.app.state.deps
    repo = deps.extras.get("sectors")
    headers = {"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"}
    if not isinstance(repo, SectorRepository):
        return JSONResponse({"error": "not_found"}, 404, headers=headers)
    try:
        sector = await asyncio.to_thread(repo.get, request.path_params["sector_id"])
    except NotFound:
        return JSONResponse({"error": "not_found", "error_description": "no such sector "
                             "identifier"}, 404, headers=headers)
    return JSONResponse(list(sector.redirect_uris), headers=headers)


def routes() -> list[BaseRoute]:
    return [Route(HOSTED_SECTOR_PATH + "{sector_id}", sector_document, methods=["GET"])]
