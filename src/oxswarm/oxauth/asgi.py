"""ASGI entry point for worker processes: ``oxswarm.oxauth.asgi:app_from_env`` (a factory).

``oxswarm run oxauth --workers N`` hands its settings to each worker through the
environment (``OXSWARM_STORE``, ``OXSWARM_CLUSTER``, ``OXSWARM_MASTER_KEY_FILE`` and
``OXSWARM_OXAUTH_OPTIONS``, a JSON object of :class:`RunOptions` fields); this is the only
place the service reads them.
"""

from __future__ import annotations

import json
import os

from starlette.applications import Starlette

from oxswarm.oxauth.app import create_app
from oxswarm.oxauth.wiring import RunOptions
from oxswarm.settings import Settings

ENV_OPTIONS = "OXSWARM_OXAUTH_OPTIONS"


def options_to_env(options: RunOptions) -> str:
    data = {
        "issuer": options.issuer,
        "cache": options.cache,
        "ldap_urls": list(options.ldap_urls),
        "registration": options.registration,
        "client_cache_seconds": options.client_cache_seconds,
        "dev": options.dev,
    }
    return json.dumps(data)


def options_from_env(text: str | None) -> RunOptions:
    if not text:
        return RunOptions()
    data = json.loads(text)
    data["ldap_urls"] = tuple(data.get("ldap_urls") or ())
    return RunOptions(**data)


def app_from_env() -> Starlette:
    """The app of one worker, configured from the environment."""
    return create_app(Settings.load(), options=options_from_env(os.environ.get(ENV_OPTIONS)))
