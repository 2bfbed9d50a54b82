"""What the authorize endpoint asks of the token side (:class:`AuthorizationIssuer`).

Codes (RFC 6749 4.1.2, bound to everything the token request must match later), the
tokens of the implicit and hybrid flows (OpenID Connect Core 1.0 3.2.2.5 and 3.3.2.5:
``at_hash`` / ``c_hash``; ``s_hash`` for ``state``), and the check of an
``id_token_hint`` at authorize and logout (Core 3.1.2.1, RP-Initiated Logout 1.0 section
2): an ID token this provider signed (expired is fine), not any JWT it signed, and issued
to the client when the request names one.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from typing import Any

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import Key

from oxswarm.oauth import jose
from oxswarm.oauth.config import ProviderConfig
from oxswarm.oauth.interfaces import CodeStore, GrantStore, KeySet, TokenStore, UserStore
from oxswarm.oauth.models import AuthorizationCode, ClientMetadata
from oxswarm.oauth.oidc.core.id_token import Authentication, hint_problem
from oxswarm.oauth.rfc6749.errors import OAuthError
from oxswarm.oauth.tokens import TokenFactory, new_id
from oxswarm.oxauth.model import Session

log = logging.getLogger(__name__)


class TokenService:
    """Implements :class:`oxswarm.oxauth.model.AuthorizationIssuer`."""

    def __init__(
        self,
        *,
        config: ProviderConfig,
        codes: CodeStore,
        tokens: TokenStore,
        grants: GrantStore,
        keys: KeySet,
        users: UserStore,
    ) -> None:
        self._config = config
        self._codes = codes
        self._keys = keys
        self._factory = TokenFactory(config, tokens, grants, keys, users)

    async def issue_code(
        self,
        *,
        client: ClientMetadata,
        redirect_uri: str,
        scope: Sequence[str],
        session: Session,
        nonce: str | None = None,
        code_challenge: str | None = None,
        code_challenge_method: str | None = None,
        claims: dict[str, Any] | None = None,
    ) -> str:
        now = int(time.time())
        code = AuthorizationCode(
            code=new_id(32),
            client_id=client.client_id,
            redirect_uri=redirect_uri,
            scope=tuple(scope),
            sub=session.sub,
            auth_time=session.auth_time,
            grant_id=new_id(16),
            issued_at=now,
            expires_at=now + self._config.code_lifetime,
            nonce=nonce,
            code_challenge=code_challenge,
            code_challenge_method=code_challenge_method if code_challenge else None,
            acr=session.acr,
            amr=session.amr,
            sid=session.sid,
            claims=claims,
        )
        await self._codes.save(code)
        return code.code

    async def issue_tokens_for_authorization(
        self,
        *,
        client: ClientMetadata,
        response_types: frozenset[str],
        scope: Sequence[str],
        session: Session,
        nonce: str | None = None,
        code: str | None = None,
        state: str | None = None,
        claims: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        authn = Authentication(
            sub=session.sub,
            auth_time=session.auth_time,
            acr=session.acr,
            amr=session.amr,
            sid=session.sid,
        )
        out: dict[str, Any] = {}
        access = None
        if "token" in response_types:
            access, expires_in = await self._factory.access_token(
                client, grant_id=new_id(16), scope=scope, sub=session.sub, authn=authn
            )
            out.update(access_token=access, expires_in=expires_in)
            out["token_type"] = "Bearer"
        if "id_token" in response_types:
            out["id_token"] = await self._factory.id_token(
                client,
                authn,
                scope=scope,
                nonce=nonce,
                access_token=access,
                code=code,
                state=state,
                requested=claims,
            )
        return out

    async def verify_id_token_hint(
        self, token: str, client_id: str | None = None
    ) -> dict[str, Any] | None:
        def pick(obj: Any) -> Key:
            kid = obj.headers().get("kid")
            key = self._keys.verification_key(kid) if kid else None
            if key is None:
                raise JoseError("unknown kid")
            return key

        try:
            jose.parts(token, "id_token_hint")  # size, shape and nesting before joserfc
            decoded = jwt.decode(token, pick, algorithms=self._keys.algorithms())
        except (JoseError, ValueError, OAuthError):
            return None
        claims = dict(decoded.claims)
        problem = hint_problem(
            decoded.header, claims, issuer=self._config.issuer, client_id=client_id
        )
        if problem is not None:
            log.info("id_token_hint refused: %s", problem)
            return None
        return claims
