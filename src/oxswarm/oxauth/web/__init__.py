"""Browser-facing pages: authorize, login, consent, sessions, logout (front channel).

Owned by the front-channel engineer. :func:`routes` is collected by
:func:`oxswarm.oxauth.app.create_app`; views reach shared resources through
``request.app.state.deps`` (:class:`oxswarm.oxauth.model.OxAuthDeps`).
"""

from __future__ import annotations

from starlette.routing import BaseRoute


def routes() -> list[BaseRoute]:
    """The front channel's routes (none until they land)."""
    return []
