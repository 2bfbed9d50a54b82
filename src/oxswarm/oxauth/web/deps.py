"""The front channel's own resources, built once per process from the shared deps.

:func:`web_deps` returns ``deps.extras["web"]`` when the wiring put a :class:`WebDeps`
there, else builds one from ``deps.extras["directory"]`` (under ``extras["tree"]``) (a
:class:`~oxswarm.directory.connection.Directory`) and ``deps.extras["cache"]`` (an
:class:`~oxswarm.cache.aio.AsyncCache`) and keeps it in ``extras``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from oxswarm.directory.tree import Tree
from oxswarm.oxauth.adapters.outbound import Outbound
from oxswarm.oxauth.addressing import Network
from oxswarm.oxauth.model import OxAuthDeps
from oxswarm.oxauth.web.lockout import Lockout, LockoutPolicy
from oxswarm.oxauth.web.stores import (
    CacheCounters,
    ConsentStore,
    Counters,
    DirectoryConsentStore,
)


@dataclass(frozen=True, slots=True)
class WebSettings:
    """Front-channel settings.

    ``request_lifetime``: how long a login or consent form stays valid (seconds);
    ``session_idle``: sliding lifetime of a browser session, capped by the provider's
    ``session_lifetime`` (the live policy's ``oxauth_session_lifetime``);
    ``trusted_proxies``: the proxies whose ``X-Forwarded-For`` is believed
    (:mod:`oxswarm.oxauth.addressing`); ``default_acr``: the ``acr`` of a sign-in whose
    request and client name no supported one (``oxauth_default_acr``). Back-channel
    logout POSTs go through the process's
    :class:`~oxswarm.oxauth.adapters.outbound.Outbound` (5 s each).
    """

    lockout: LockoutPolicy = field(default_factory=LockoutPolicy)
    request_lifetime: int = 1800
    session_idle: int = 3600
    trusted_proxies: tuple[Network, ...] = ()
    default_acr: str = "simple_password_auth"


@dataclass(slots=True)
class WebDeps:
    consents: ConsentStore
    counters: Counters
    settings: WebSettings
    http: Outbound

    @property
    def lockout(self) -> Lockout:
        return Lockout(self.counters, self.settings.lockout)


def build_web_deps(
    consents: ConsentStore,
    counters: Counters,
    settings: WebSettings | None = None,
    outbound: Outbound | None = None,
) -> WebDeps:
    return WebDeps(
        consents=consents,
        counters=counters,
        settings=settings or WebSettings(),
        http=outbound or Outbound(),
    )


def web_deps(deps: OxAuthDeps) -> WebDeps:
    """The process's :class:`WebDeps` (built on first use from ``extras``)."""
    found = deps.extras.get("web")
    if isinstance(found, WebDeps):
        return found
    directory = deps.extras.get("directory")
    cache = deps.extras.get("cache")
    if directory is None or cache is None:
        raise RuntimeError("oxAuth deps lack extras['directory'] and extras['cache']")
    settings = deps.extras.get("web_settings")
    tree = deps.extras.get("tree")
    built = build_web_deps(
        DirectoryConsentStore(directory, tree if isinstance(tree, Tree) else None),
        CacheCounters(cache),
        settings if isinstance(settings, WebSettings) else None,
        outbound if isinstance(outbound := deps.extras.get("outbound"), Outbound) else None,
    )
    deps.extras["web"] = built
    return built
