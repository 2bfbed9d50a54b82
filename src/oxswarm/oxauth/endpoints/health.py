"""``/oxauth/health``: a cheap liveness/readiness check for load balancers."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route


async def health(request: Request) -> JSONResponse:
    """200 ``{"status": "ok"}`` when the shared stores answer, 503 naming the failing one."""
    checks = request.app.state.deps.extras.get("health_checks", {})
    failed = []
    for name, check in checks.items():
        if not await check():
            failed.append(name)
    if failed:
        return JSONResponse({"status": "unavailable", "failed": failed}, status_code=503)
    return JSONResponse({"status": "ok"})


def routes() -> list[BaseRoute]:
    return [Route("/oxauth/health", health, methods=["GET", "HEAD"])]
