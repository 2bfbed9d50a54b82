"""oxAuth's policy followed live: a change in the config store reaches every process.

:class:`LivePolicy` re-reads the policy (:func:`~oxswarm.oxauth.policy.read_policy`) and
applies what changed to a running process: registration mode (and the old single initial
access token's hash), the registration rate limit, lockout thresholds, trusted proxies,
the server-side fetch allow and deny lists (plus the process's own: ``extras["fetch_base"]``,
its dev switch and the issuer's addresses) and the CAs fetches trust besides the public
ones, the session lifetime, the default ``acr``, and the pages' branding
(:func:`~oxswarm.oxauth.branding.read_branding`, kept in
``extras["branding"]``; its values are named ``oxauth_brand_*``, under the same watch),
and oxPassport's upstream providers (``oxauth_passport_providers`` with their secrets,
kept in ``extras["passport_providers"]``). A
:class:`~oxswarm.config.watcher.StoreWatcher` on ``<prefix>/config/oxauth_`` calls it on
every change and every minute. A value that is malformed is logged as an error and the
process keeps the policy it has (at start the same
is fatal: a process never starts on a policy it cannot read). ``--registration`` given
to ``oxswarm run oxauth`` stays fixed.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable

from oxswarm.errors import InvalidInput, SecretError
from oxswarm.oxauth.adapters.outbound import Outbound
from oxswarm.oxauth.branding import Branding, read_branding
from oxswarm.oxauth.model import OxAuthDeps
from oxswarm.oxauth.policy import (
    OxAuthPolicy,
    RegistrationMode,
    read_policy,
    registration_access,
)
from oxswarm.oxauth.web.deps import WebDeps, WebSettings
from oxswarm.passport.providers import Provider, read_providers
from oxswarm.passport.saml import read_sp_keys

log = logging.getLogger(__name__)

Get = Callable[[str], str | None]


class LivePolicy:
    """Applies the store's policy to ``deps``; :meth:`reload` is True when it changed."""

    def __init__(self, deps: OxAuthDeps, get: Get, get_secret: Get,
                 fixed_mode: RegistrationMode | None = None) -> None:
        self._deps = deps
        self._get = get
        self._get_secret = get_secret
        self._fixed_mode = fixed_mode
        self._applied: tuple[OxAuthPolicy, RegistrationMode, str | None] | None = None
        self._branding: Branding | None = None
        self._passport: tuple[tuple[Provider, str | None], ...] | None = None

    def reload(self) -> bool:
        branded = self._reload_branding() | self._reload_passport()
        try:
            policy = read_policy(self._get)
            mode, registration_hash = registration_access(
                policy.registration, self._fixed_mode, self._get_secret)
        except InvalidInput as exc:
            log.error("oxAuth policy in the store is invalid, keeping the current one: %s", exc)
            return branded
        wanted = (policy, mode, registration_hash)
        if wanted == self._applied:
            return branded
        first = self._applied is None
        self._apply(*wanted)
        self._applied = wanted
        if not first:
            log.info("oxAuth policy applied: registration %s, lockout %d per user / slow-down "
                     "after %d per address in %ds, trusted proxies %s, fetch allow %s deny %s",
                     mode, policy.lockout.max_user_failures,
                     policy.lockout.max_address_failures, policy.lockout.window,
                     _cidrs(policy.trusted_proxies), _cidrs(policy.fetch_allow),
                     _cidrs(policy.fetch_deny))  # fmt: skip
        return not first or branded

    def _reload_passport(self) -> bool:
        """Apply the store's upstream providers (oxPassport: ``oxauth_passport_providers``
        and their secrets); True when they changed after the first read."""
        try:
            found = read_providers(self._get, self._get_secret)
        except (InvalidInput, SecretError) as exc:
            log.error("passport providers in the store are invalid, keeping the current "
                      "ones: %s", exc)
            return False
        wanted = tuple((p, p.client_secret) for p in found)
        if any(p.type == "saml" for p in found):  # the SP signs with the cluster's SAML pairs
            try:
                self._deps.extras["passport_sp_keys"] = read_sp_keys(self._get,
                                                                     self._get_secret)
            except SecretError as exc:
                log.error("the SAML key pairs in the store are unreadable: %s", exc)
        if wanted == self._passport:
            return False
        first = self._passport is None
        self._passport = wanted
        self._deps.extras["passport_providers"] = found
        if not first:
            log.info("passport providers applied: %s",
                     ", ".join(f"{p.id}{'' if p.enabled else ' (disabled)'}" for p in found)
                     or "none")
        return not first

    def _reload_branding(self) -> bool:
        """Apply the store's branding; True when it changed after the first read."""
        try:
            branding = read_branding(self._get)
        except InvalidInput as exc:
            log.error("oxAuth branding in the store is invalid, keeping the current one: %s", exc)
            return False
        if branding == self._branding:
            return False
        first = self._branding is None
        self._branding = branding
        self._deps.extras["branding"] = branding
        if not first:
            log.info("oxAuth branding applied: %r, version %s", branding.name, branding.version)
        return not first

    def _apply(self, policy: OxAuthPolicy, mode: RegistrationMode,
               registration_hash: str | None) -> None:
        deps = self._deps
        deps.config = dataclasses.replace(
            deps.config, registration_enabled=mode != "off",
            registration_token_required=mode == "token",
            registration_token_hash=registration_hash,
            registration_rate_limit=policy.registration_limit.requests,
            registration_rate_window=policy.registration_limit.window,
            session_lifetime=policy.session_lifetime)
        old = deps.extras.get("web_settings")
        settings = dataclasses.replace(
            old if isinstance(old, WebSettings) else WebSettings(),
            lockout=policy.lockout, trusted_proxies=policy.trusted_proxies,
            default_acr=policy.default_acr)
        deps.extras["web_settings"] = settings
        web = deps.extras.get("web")
        if isinstance(web, WebDeps):
            web.settings = settings
        outbound = deps.extras.get("outbound")
        if isinstance(outbound, Outbound):
            dev, own = deps.extras.get("fetch_base", (False, ()))
            outbound.rules = policy.fetch_rules(
                tuple(own), dev=bool(dev), plain_http=deps.config.issuer.startswith("http://"))
            outbound.trust(policy.fetch_ca)


def _cidrs(nets: tuple[object, ...]) -> str:
    return ",".join(map(str, nets)) or "none"
