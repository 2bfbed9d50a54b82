"""The back channel to an upstream OpenID Provider, under oxAuth's outbound rules.

Discovery (``<issuer>/.well-known/openid-configuration``) and the JWKS are fetched through
the process's :class:`~oxswarm.oxauth.adapters.outbound.Outbound` (never the cluster's own
or private addresses unless ``oxauth_fetch_allow`` opens them; plain http only in dev or to
``oxauth_fetch_http``'s networks; 5 s; 256 KiB) and kept 5 minutes per process. An ID token
naming a ``kid`` the kept JWKS lacks makes one refetch (at most one per 10 s per provider):
the provider rotated its keys. The code is exchanged with ``client_secret_basic`` (RFC 6749
2.3.1) and the PKCE verifier; userinfo is read with the access token (OpenID Connect Core
5.3) and its ``sub`` must be the ID token's (5.3.2).
"""

from __future__ import annotations

import base64
import logging
import time
from typing import Any, Final
from urllib.parse import quote

from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from oxswarm.oauth import jsonbounds
from oxswarm.oauth.oidc import upstream
from oxswarm.oauth.oidc.upstream import FederationError, UnknownKey
from oxswarm.oauth.rfc6749.errors import InvalidRequest, OAuthError
from oxswarm.oxauth.adapters.outbound import FetchError, Outbound
from oxswarm.passport.providers import Provider

log = logging.getLogger(__name__)

TTL: Final = 300.0
REFETCH_EVERY: Final = 10.0


def _json(raw: bytes, what: str) -> dict[str, Any]:
    try:
        return jsonbounds.loads_object(raw, what, InvalidRequest)
    except OAuthError as exc:
        raise FederationError(str(exc.description), "temporarily_unavailable") from None


class UpstreamClient:
    """One process's view of the upstream providers (discovery and JWKS kept ``TTL``)."""

    def __init__(self, http: Outbound) -> None:
        self.http = http
        self._discovery: dict[str, tuple[float, dict[str, str]]] = {}
        self._jwks: dict[str, tuple[float, KeySet]] = {}
        self._forced: dict[str, float] = {}

    async def _get(self, url: str, what: str) -> dict[str, Any]:
        try:
            return _json(await self.http.get_json_bytes(url), what)
        except FetchError as exc:
            log.warning("passport: %s not fetched: %s", what, exc)
            raise FederationError(f"the provider's {what} could not be fetched",
                                  "temporarily_unavailable") from None

    async def endpoints(self, provider: Provider) -> dict[str, str]:
        kept = self._discovery.get(provider.issuer)
        if kept and time.monotonic() - kept[0] < TTL:
            return kept[1]
        url = provider.issuer.rstrip("/") + "/.well-known/openid-configuration"
        found = upstream.check_discovery(await self._get(url, "discovery"), provider.issuer)
        self._discovery[provider.issuer] = (time.monotonic(), found)
        return found

    async def _keys(self, uri: str, fresh: bool) -> tuple[KeySet, bool]:
        """The provider's keys, and whether they were fetched just now. ``fresh``: fetch
        again unless a forced fetch of this JWKS happened within ``REFETCH_EVERY``."""
        kept = self._jwks.get(uri)
        now = time.monotonic()
        if kept and not fresh and now - kept[0] < TTL:
            return kept[1], False
        if kept and fresh:
            if now - self._forced.get(uri, 0.0) < REFETCH_EVERY:
                return kept[1], False
            self._forced[uri] = now
        doc = await self._get(uri, "jwks")
        try:
            keys = KeySet.import_key_set(doc)  # type: ignore[arg-type]
        except (JoseError, ValueError, TypeError, KeyError):
            raise FederationError("the provider's jwks is malformed",
                                  "temporarily_unavailable") from None
        self._jwks[uri] = (time.monotonic(), keys)
        return keys, True

    async def id_token_claims(self, provider: Provider, token: str,
                              nonce: str) -> dict[str, Any]:
        uri = (await self.endpoints(provider))["jwks_uri"]
        keys, fetched = await self._keys(uri, False)
        def check(keys: KeySet) -> dict[str, Any]:
            return upstream.validate_id_token(token, keys, issuer=provider.issuer,
                                              client_id=provider.client_id, nonce=nonce)

        try:
            return check(keys)
        except UnknownKey:
            if fetched:
                raise
        keys, fetched = await self._keys(uri, True)  # the provider rotated its keys
        if not fetched:
            raise UnknownKey("id_token: signed with a key the provider does not publish")
        return check(keys)

    async def exchange(self, provider: Provider, code: str, redirect_uri: str,
                       verifier: str) -> dict[str, Any]:
        token_endpoint = (await self.endpoints(provider))["token_endpoint"]
        basic = base64.b64encode(
            f"{quote(provider.client_id, safe='')}:"
            f"{quote(provider.client_secret or '', safe='')}".encode()).decode()
        try:
            status, body = await self.http.request(
                "POST", token_endpoint,
                headers={"Authorization": f"Basic {basic}", "Accept": "application/json"},
                data={"grant_type": "authorization_code", "code": code,
                      "redirect_uri": redirect_uri, "code_verifier": verifier})
        except FetchError as exc:
            log.warning("passport %s: token endpoint not reached: %s", provider.id, exc)
            raise FederationError("the provider's token endpoint could not be reached",
                                  "temporarily_unavailable") from None
        answer = _json(body, "token response")
        if status != 200:
            error = str(answer.get("error", f"HTTP {status}"))[:64]
            raise FederationError(f"the provider refused the code: {error}")
        if not isinstance(answer.get("id_token"), str):
            raise FederationError("the provider's token response has no id_token")
        return answer

    async def userinfo(self, provider: Provider, access_token: str,
                       subject: str) -> dict[str, Any]:
        url = (await self.endpoints(provider)).get("userinfo_endpoint")
        if not url or not access_token:
            return {}
        try:
            status, body = await self.http.request(
                "GET", url, headers={"Authorization": f"Bearer {access_token}",
                                     "Accept": "application/json"})
        except FetchError as exc:
            log.warning("passport %s: userinfo not reached: %s", provider.id, exc)
            return {}
        if status != 200:
            log.warning("passport %s: userinfo answered HTTP %s", provider.id, status)
            return {}
        claims = _json(body, "userinfo")
        if claims.get("sub") != subject:
            raise FederationError("userinfo: sub is not the ID token's")
        return claims
