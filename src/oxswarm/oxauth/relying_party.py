"""OxSwarm's own services signing people in at oxAuth, as OpenID Connect relying parties.

The SAML IdP (``/idp/auth/callback``) and the admin UI (``/identity/auth/callback``) each
have a trusted client at oxAuth and sign people in with the code flow (OIDC Core 3.1,
RFC 7636 PKCE S256). One implementation for both: discovery (kept 60 s), the authorize
URL the browser is sent to (the endpoints discovery names), the code exchanged over this
process's back channel (``oxauth_url``: discovery's endpoints with their host replaced,
since the public URL may not be reachable from inside the cluster), and the ID token
checked by :func:`oxswarm.oauth.oidc.upstream.validate_id_token` (signature by oxAuth's
JWKS, ``iss``, ``aud``/``azp``, ``exp``, ``iat``, ``nonce``), the same rules as for an
upstream provider of inbound federation.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Final
from urllib.parse import urlencode, urlsplit

import httpx
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from oxswarm.oauth.oidc import upstream

DISCOVERY_TTL: Final = 60.0
TIMEOUT: Final = 10.0
PASSIVE_ERRORS: Final = frozenset(
    {"login_required", "interaction_required", "consent_required", "account_selection_required"}
)


class OidcError(Exception):
    """oxAuth unreachable (503) or its answer unusable (400); the text is for log and page."""

    def __init__(self, message: str, status: int = 503) -> None:
        super().__init__(message)
        self.status = status


@dataclass
class RelyingParty:
    """One service's client at oxAuth."""

    oxauth_url: str
    client_id: str
    client_secret: str = field(repr=False)
    redirect_uri: str
    scope: str = "openid"
    _meta: dict[str, Any] | None = field(default=None, repr=False)
    _meta_at: float = 0.0

    def back(self, endpoint: str) -> str:
        """``endpoint`` (from discovery) reached through this process's back channel."""
        parts = urlsplit(endpoint)
        query = f"?{parts.query}" if parts.query else ""
        return self.oxauth_url.rstrip("/") + parts.path + query

    async def discovery(self) -> dict[str, Any]:
        if self._meta is not None and time.monotonic() - self._meta_at < DISCOVERY_TTL:
            return self._meta
        url = self.oxauth_url.rstrip("/") + "/.well-known/openid-configuration"
        try:
            async with httpx.AsyncClient(timeout=TIMEOUT, trust_env=False) as http:
                r = await http.get(url)
            r.raise_for_status()
            meta = r.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise OidcError(f"oxAuth is unreachable at {self.oxauth_url}: {exc}") from None
        if not isinstance(meta, dict) or "authorization_endpoint" not in meta:
            raise OidcError("oxAuth's discovery document has no authorization_endpoint")
        self._meta, self._meta_at = meta, time.monotonic()
        return meta

    async def authorize_url(self, state: str, nonce: str, verifier: str,
                            prompt: str | None = None) -> str:
        meta = await self.discovery()
        url = upstream.authorization_url(
            str(meta["authorization_endpoint"]), client_id=self.client_id,
            redirect_uri=self.redirect_uri, scope=self.scope, state=state, nonce=nonce,
            verifier=verifier,
        )
        return f"{url}&{urlencode({'prompt': prompt})}" if prompt else url

    async def exchange(self, code: str, verifier: str, nonce: str) -> tuple[dict[str, Any], str]:
        """The verified claims of the ID token ``code`` brings, and the token."""
        meta = await self.discovery()
        try:
            async with httpx.AsyncClient(timeout=TIMEOUT, trust_env=False) as http:
                r = await http.post(
                    self.back(meta["token_endpoint"]),
                    auth=(self.client_id, self.client_secret),
                    data={"grant_type": "authorization_code", "code": code,
                          "redirect_uri": self.redirect_uri, "code_verifier": verifier},
                )
                if r.status_code != 200:
                    raise OidcError(f"code: oxAuth's token endpoint answered {r.status_code}",
                                    400)
                id_token = str(r.json()["id_token"])
                keys = KeySet.import_key_set((await http.get(self.back(meta["jwks_uri"]))).json())
        except (httpx.HTTPError, ValueError, KeyError, TypeError, JoseError) as exc:
            raise OidcError(f"token exchange failed: {exc}") from None
        try:
            claims = upstream.validate_id_token(
                id_token, keys, issuer=str(meta.get("issuer", "")), client_id=self.client_id,
                nonce=nonce)
        except upstream.FederationError as exc:
            raise OidcError(exc.reason, 400) from None
        return claims, id_token

    async def end_session_url(self, id_token: str, post_logout: str,
                              state: str | None = None) -> str | None:
        """oxAuth's RP-Initiated Logout for this session, or None if it offers none."""
        end = (await self.discovery()).get("end_session_endpoint")
        if not end:
            return None
        params = {"id_token_hint": id_token, "client_id": self.client_id,
                  "post_logout_redirect_uri": post_logout}
        if state is not None:
            params["state"] = state
        return f"{end}?{urlencode(params)}"
