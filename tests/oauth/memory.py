"""In-memory implementations of :mod:`oxswarm.oauth.interfaces` for protocol unit tests."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from joserfc.jwk import Key, RSAKey

from oxswarm.oauth.config import ProviderConfig
from oxswarm.oauth.models import (
    AccessTokenRecord,
    AuthorizationCode,
    ClientMetadata,
    GrantRecord,
    User,
)
from oxswarm.oauth.rfc6749.client_auth import (
    ClientAuthenticator,
    ClientSecretBasic,
    ClientSecretPost,
    NoneAuth,
)
from oxswarm.oauth.rfc6749.grants.authorization_code import AuthorizationCodeGrant
from oxswarm.oauth.rfc6749.grants.client_credentials import ClientCredentialsGrant
from oxswarm.oauth.rfc6749.grants.password import PasswordGrant
from oxswarm.oauth.rfc6749.grants.refresh_token import RefreshTokenGrant
from oxswarm.oauth.rfc6749.token_endpoint import TokenEndpoint
from oxswarm.oauth.rfc7523 import ClientAssertion
from oxswarm.oauth.tokens import TokenFactory

ISSUER = "https://id.example.org"


class Clients:
    def __init__(self) -> None:
        self.data: dict[str, ClientMetadata] = {}

    def add(self, client: ClientMetadata) -> ClientMetadata:
        self.data[client.client_id] = client
        return client

    async def get(self, client_id: str) -> ClientMetadata | None:
        return self.data.get(client_id)

    async def create(self, client: ClientMetadata) -> None:
        self.data[client.client_id] = client

    async def update(self, client: ClientMetadata) -> None:
        self.data[client.client_id] = client

    async def delete(self, client_id: str) -> bool:
        return self.data.pop(client_id, None) is not None


class Users:
    def __init__(self) -> None:
        self.users: dict[str, tuple[User, str]] = {}

    def add(self, user: User, password: str) -> User:
        self.users[user.sub] = (user, password)
        return user

    async def get(self, sub: str) -> User | None:
        found = self.users.get(sub)
        return found[0] if found else None

    async def authenticate(self, username: str, password: str) -> User | None:
        for user, pw in self.users.values():
            if user.username == username and pw == password:
                return user
        return None


class Codes:
    def __init__(self) -> None:
        self.data: dict[str, AuthorizationCode] = {}
        self.used: dict[str, str] = {}

    async def save(self, code: AuthorizationCode) -> None:
        self.data[code.code] = code
        self.used[code.code] = code.grant_id

    async def take(self, code: str) -> AuthorizationCode | None:
        return self.data.pop(code, None)

    async def used_grant(self, code: str) -> str | None:
        return self.used.get(code)


class Tokens:
    def __init__(self) -> None:
        self.data: dict[str, AccessTokenRecord] = {}

    async def save(self, token: str, record: AccessTokenRecord) -> None:
        self.data[token] = record

    async def get(self, token: str) -> AccessTokenRecord | None:
        return self.data.get(token)

    async def delete(self, token: str) -> None:
        self.data.pop(token, None)


class Grants:
    def __init__(self) -> None:
        self.data: dict[str, GrantRecord] = {}
        self.revoked: set[str] = set()

    async def get(self, grant_id: str) -> GrantRecord | None:
        return None if grant_id in self.revoked else self.data.get(grant_id)

    async def put(self, grant: GrantRecord) -> None:
        self.data[grant.grant_id] = grant

    async def delete(self, grant_id: str) -> None:
        self.data.pop(grant_id, None)

    async def revoke(self, grant_id: str, ttl: int) -> None:
        self.revoked.add(grant_id)
        self.data.pop(grant_id, None)

    async def is_revoked(self, grant_id: str) -> bool:
        return grant_id in self.revoked


class Replay:
    def __init__(self) -> None:
        self.seen: dict[str, float] = {}

    async def first_use(self, key: str, ttl: int) -> bool:
        if key in self.seen and self.seen[key] > time.time():
            return False
        self.seen[key] = time.time() + ttl
        return True


class Keys:
    def __init__(self) -> None:
        self.key = RSAKey.generate_key(2048, parameters={"kid": "k1", "alg": "RS256", "use": "sig"})

    def signing_key(self, alg: str) -> Key:
        if alg != "RS256":
            raise KeyError(alg)
        return self.key

    def verification_key(self, kid: str) -> Key | None:
        return self.key if kid == "k1" else None

    def public_jwks(self) -> Mapping[str, Any]:
        return {"keys": [self.key.as_dict(private=False)]}

    def algorithms(self) -> list[str]:
        return ["RS256"]


class World:
    """Every store plus a token endpoint wired like the service does it."""

    def __init__(self, **config: Any) -> None:
        self.config = ProviderConfig(issuer=ISSUER, pairwise_key="pk", pairwise_salt="ps", **config)
        self.clients, self.users, self.codes = Clients(), Users(), Codes()
        self.tokens, self.grants, self.replay, self.keys = Tokens(), Grants(), Replay(), Keys()
        self.factory = TokenFactory(self.config, self.tokens, self.grants, self.keys, self.users)
        self.auth = ClientAuthenticator(self.clients)
        for method in (ClientSecretBasic(), ClientSecretPost(),
                       ClientAssertion(ISSUER, self.replay, None), NoneAuth()):
            self.auth.register(method)
        self.endpoint = TokenEndpoint(self.auth)
        self.endpoint.register_grant(AuthorizationCodeGrant(self.factory, self.codes))
        self.endpoint.register_grant(RefreshTokenGrant(self.factory, self.replay))
        self.endpoint.register_grant(ClientCredentialsGrant(self.factory))
        self.endpoint.register_grant(PasswordGrant(self.factory))
