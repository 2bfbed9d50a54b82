"""The IdP signs people in as an OpenID Connect relying party of oxAuth (OIDC Core 3.1,
RFC 7636 PKCE), so one oxAuth session serves OIDC and SAML applications alike.

The IdP's client is config-init's ``idp_client_id`` (the "SAML IdP" own client: trusted,
code flow, redirect ``<base>/idp/auth/callback``). SAML's ``ForceAuthn`` becomes
``prompt=login`` (and the ID token's ``auth_time`` must be newer than the request),
``IsPassive`` becomes ``prompt=none`` (oxAuth answers ``login_required`` when nobody is
signed in). Discovery, token and JWKS requests go over the back channel (``oxauth_url``);
the browser is sent to the endpoints discovery names.
"""

from __future__ import annotations

import base64
import hashlib
import time
from dataclasses import dataclass, field
from typing import Any, Final
from urllib.parse import urlencode, urlsplit

import httpx
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

ID_TOKEN_ALGS: Final = ["RS256", "RS384", "RS512", "PS256", "ES256", "ES384", "ES512"]
DISCOVERY_TTL: Final = 60.0
PASSIVE_ERRORS: Final = frozenset(
    {"login_required", "interaction_required", "consent_required", "account_selection_required"}
)


class OidcError(Exception):
    """oxAuth unreachable (503) or its answer unusable (400); the text is for log and page."""

    def __init__(self, message: str, status: int = 503) -> None:
        super().__init__(message)
        self.status = status


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def challenge(verifier: str) -> str:
    return b64(hashlib.sha256(verifier.encode()).digest())


@dataclass
class RelyingParty:
    """The IdP's client at oxAuth."""

    oxauth_url: str
    client_id: str
    client_secret: str = field(repr=False)
    redirect_uri: str
    _meta: dict[str, Any] | None = field(default=None, repr=False)
    _meta_at: float = 0.0

    def _back(self, endpoint: str) -> str:
        parts = urlsplit(endpoint)
        query = f"?{parts.query}" if parts.query else ""
        return self.oxauth_url.rstrip("/") + parts.path + query

    async def discovery(self) -> dict[str, Any]:
        if self._meta is not None and time.monotonic() - self._meta_at < DISCOVERY_TTL:
            return self._meta
        url = self.oxauth_url.rstrip("/") + "/.well-known/openid-configuration"
        try:
            async with httpx.AsyncClient(timeout=10.0, trust_env=False) as http:
                r = await http.get(url)
            r.raise_for_status()
            meta = r.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise OidcError(f"oxAuth is unreachable at {self.oxauth_url}: {exc}") from None
        if not isinstance(meta, dict) or "authorization_endpoint" not in meta:
            raise OidcError("oxAuth's discovery document has no authorization_endpoint")
        self._meta, self._meta_at = meta, time.monotonic()
        return meta

    async def authorize_url(self, state: str, nonce: str, verifier: str, prompt: str | None) -> str:
        meta = await self.discovery()
        params = {
            "response_type": "code", "client_id": self.client_id,
            "redirect_uri": self.redirect_uri, "scope": "openid", "state": state,
            "nonce": nonce, "code_challenge": challenge(verifier),
            "code_challenge_method": "S256",
        }
        if prompt:
            params["prompt"] = prompt
        return f"{meta['authorization_endpoint']}?{urlencode(params)}"

    async def exchange(self, code: str, verifier: str) -> tuple[dict[str, Any], str]:
        """The verified claims of the ID token the code brings, and the token."""
        meta = await self.discovery()
        try:
            async with httpx.AsyncClient(timeout=10.0, trust_env=False) as http:
                r = await http.post(
                    self._back(meta["token_endpoint"]),
                    auth=(self.client_id, self.client_secret),
                    data={"grant_type": "authorization_code", "code": code,
                          "redirect_uri": self.redirect_uri, "code_verifier": verifier},
                )
                if r.status_code != 200:
                    raise OidcError(f"code: oxAuth's token endpoint answered {r.status_code}",
                                    400)
                id_token = str(r.json()["id_token"])
                keys = (await http.get(self._back(meta["jwks_uri"]))).json()
        except (httpx.HTTPError, ValueError, KeyError) as exc:
            raise OidcError(f"token exchange failed: {exc}") from None
        try:
            token = jwt.decode(id_token, KeySet.import_key_set(keys), algorithms=ID_TOKEN_ALGS)
            jwt.JWTClaimsRegistry(
                iss={"essential": True, "value": meta["issuer"]},
                aud={"essential": True, "value": self.client_id},
                sub={"essential": True}, exp={"essential": True},
            ).validate(token.claims)
        except (JoseError, ValueError) as exc:
            raise OidcError(f"id_token: not valid: {exc}", 400) from None
        return dict(token.claims), id_token

    async def end_session_url(self, id_token: str, post_logout: str, state: str) -> str | None:
        """oxAuth's RP-Initiated Logout for this session, or None if it offers none."""
        meta = await self.discovery()
        end = meta.get("end_session_endpoint")
        if not end:
            return None
        return f"{end}?" + urlencode({"id_token_hint": id_token, "client_id": self.client_id,
                                      "post_logout_redirect_uri": post_logout,
                                      "state": state})
