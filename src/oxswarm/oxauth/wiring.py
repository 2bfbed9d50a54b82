"""Opens every shared resource of an oxAuth process from the config store (lifespan)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from oxswarm.errors import Unavailable
from oxswarm.oxauth.model import OxAuthDeps
from oxswarm.settings import Settings


@contextlib.asynccontextmanager
async def open_deps(settings: Settings, *, issuer: str | None = None) -> AsyncIterator[OxAuthDeps]:
    """Connect to the store, directory and cache; yield the deps; close them afterwards."""
    del settings, issuer
    raise Unavailable("oxAuth wiring is not written yet")
    yield  # pragma: no cover
