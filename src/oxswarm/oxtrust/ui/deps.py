"""What the admin UI works on: opened resources and per-process settings.

Everything a request needs lives in the directory, the config store or the shared cache
(UI sessions, sign-in state), so any oxtrust process serves any request (no sticky
sessions, a lost node loses no admin session).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from oxswarm.cache.aio import AsyncCache
from oxswarm.config.manager import ConfigManager
from oxswarm.directory.clients import SecretCipher
from oxswarm.directory.connection import Directory
from oxswarm.directory.tree import Tree
from oxswarm.errors import OxSwarmError
from oxswarm.oxauth.addressing import Network
from oxswarm.oxauth.relying_party import RelyingParty
from oxswarm.oxtrust import audit

log = logging.getLogger(__name__)

#: ``audit(actor, action, target, details, address)``: one record per change
Audit = Callable[[str, str, str, Mapping[str, Any], str | None], Awaitable[None]]


async def log_audit(actor: str, action: str, target: str, details: Mapping[str, Any],
                    address: str | None) -> None:
    """An audit seam for tests without a directory: a log line."""
    log.info("audit actor=%s action=%s target=%s from=%s fields=%s", actor, action, target,
             address, sorted(details))


def directory_audit(directory: Directory, tree: Tree) -> Audit:
    """Records in the audit log (:func:`oxswarm.oxtrust.audit.record`, ``ou=audit``), as the
    admin API and the CLI write them; a failure is logged, the change is never undone."""

    async def record(actor: str, action: str, target: str, details: Mapping[str, Any],
                     address: str | None) -> None:
        try:
            await asyncio.to_thread(
                audit.record, directory, actor, f"ui.{action}", target,
                address=address, detail=details, tree=tree,
            )  # fmt: skip
        except OxSwarmError as exc:
            log.error("audit record of %s %s by %s failed: %s", action, target, actor, exc)

    return record


def ui_secret(session_secret: str) -> str:
    """The UI's own HMAC key, derived from the cluster's ``session_secret`` (so a cookie or
    CSRF token of oxAuth's front channel is never valid here, nor the reverse)."""
    return hmac.new(session_secret.encode(), b"oxtrust-ui", hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class UiSettings:
    public_url: str  # the browser's base, e.g. https://id.example.org (no /identity)
    oxauth_url: str  # oxAuth for this process's back channel (token, JWKS, discovery)
    client_id: str
    client_secret: str = field(repr=False)
    secret: str = field(repr=False)  # HMAC key of cookies and CSRF tokens
    session_idle: int = 1800  # a UI session ends after this many seconds unused
    session_lifetime: int = 8 * 3600  # and never lives longer than this
    trusted_proxies: tuple[Network, ...] = ()  # whose X-Forwarded-For the audit log believes

    @property
    def secure(self) -> bool:
        return self.public_url.startswith("https://")

    @property
    def callback(self) -> str:
        return f"{self.public_url}/identity/auth/callback"

    @property
    def signed_out(self) -> str:
        return f"{self.public_url}/identity/auth/signed-out"


@dataclass
class UiDeps:
    settings: UiSettings
    directory: Directory
    tree: Tree
    cache: AsyncCache
    cipher: SecretCipher
    manager: ConfigManager
    audit: Audit = log_audit

    @cached_property
    def rp(self) -> RelyingParty:
        """The admin UI's client at oxAuth (its discovery kept for a minute)."""
        return RelyingParty(
            oxauth_url=self.settings.oxauth_url, client_id=self.settings.client_id,
            client_secret=self.settings.client_secret, redirect_uri=self.settings.callback,
            scope="openid profile email")
