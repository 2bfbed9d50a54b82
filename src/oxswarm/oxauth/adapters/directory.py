"""Clients, users and refresh grants in the directory (durable, replicated).

The directory client is synchronous (ldap3); calls run in a worker thread. Client
records are cached in the process for a few seconds (``ttl``), so the token endpoint's
hot path does no LDAP round trip: a change made elsewhere is seen within ``ttl``; a
change made through this process (registration) is seen at once. Grants are ``oxToken``
entries under ``ou=tokens`` (``oxTokenHash`` = the grant id, ``oxData`` = the record);
their revocation markers live in the cache. A grant id not of the shape the provider mints
(:func:`~oxswarm.oauth.tokens.valid_grant_id`) names no grant: it never reaches a DN or
a cache key.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from datetime import UTC, datetime
from typing import Any

from oxswarm.directory.clients import ClientRepository
from oxswarm.directory.connection import REPLACE, Directory
from oxswarm.directory.models import Client, Person
from oxswarm.directory.passwords import ARGON2, DEFAULT_ARGON2, Argon2Params, dummy_check
from oxswarm.directory.people import PeopleRepository
from oxswarm.directory.tree import Tree, rdn_value
from oxswarm.errors import Conflict, NotFound
from oxswarm.oauth.models import ClientMetadata, GrantRecord, User
from oxswarm.oauth.tokens import valid_grant_id
from oxswarm.oxauth.adapters.cache import CacheRevocations

_NOBODY = "nobody.timing"  # an inum no person has (``inum`` values are UUIDs)

_META_FIELDS = (
    "client_secret_expires_at",
    "client_id_issued_at",
    "token_endpoint_auth_signing_alg",
    "frontchannel_logout_session_required",
    "backchannel_logout_session_required",
    "access_token_lifetime",
)


def to_metadata(client: Client) -> ClientMetadata:
    """The protocol's view of a directory client."""
    meta = dict(client.metadata)
    known = {name: meta.pop(name) for name in _META_FIELDS if name in meta}
    extra = meta.pop("extra", {}) if isinstance(meta.get("extra"), dict) else {}
    return ClientMetadata(
        client_id=client.client_id,
        client_secret=client.client_secret,
        client_name=client.name or "",
        redirect_uris=tuple(client.redirect_uris),
        post_logout_redirect_uris=tuple(client.post_logout_redirect_uris),
        grant_types=tuple(client.grant_types),
        response_types=tuple(client.response_types),
        scopes=tuple(client.scopes),
        token_endpoint_auth_method=client.token_endpoint_auth_method,
        jwks=client.jwks,
        jwks_uri=client.jwks_uri,
        id_token_signed_response_alg=client.id_token_signed_response_alg,
        userinfo_signed_response_alg=client.userinfo_signed_response_alg,
        access_token_format=client.access_token_format,
        subject_type=client.subject_type,
        sector_identifier_uri=client.sector_identifier_uri,
        frontchannel_logout_uri=client.frontchannel_logout_uri,
        backchannel_logout_uri=client.backchannel_logout_uri,
        registration_access_token_hash=client.registration_access_token_hash,
        allow_password_grant=client.allow_password_grant,
        trusted=client.trusted,
        resource_server=client.resource_server,
        extra={**meta, **extra},
        **known,
    )


def from_metadata(meta: ClientMetadata) -> Client:
    """The directory record of a protocol client."""
    data = meta.to_dict()
    metadata: dict[str, Any] = {name: data[name] for name in _META_FIELDS if data[name]}
    if meta.extra:
        metadata["extra"] = dict(meta.extra)
    return Client(
        client_id=meta.client_id,
        client_secret=meta.client_secret,
        name=meta.client_name or None,
        redirect_uris=list(meta.redirect_uris),
        post_logout_redirect_uris=list(meta.post_logout_redirect_uris),
        grant_types=list(meta.grant_types),
        response_types=list(meta.response_types),
        scopes=list(meta.scopes),
        token_endpoint_auth_method=meta.token_endpoint_auth_method,
        jwks=meta.jwks,
        jwks_uri=meta.jwks_uri,
        id_token_signed_response_alg=meta.id_token_signed_response_alg,
        userinfo_signed_response_alg=meta.userinfo_signed_response_alg,
        access_token_format=meta.access_token_format,
        subject_type=meta.subject_type,
        sector_identifier_uri=meta.sector_identifier_uri,
        frontchannel_logout_uri=meta.frontchannel_logout_uri,
        backchannel_logout_uri=meta.backchannel_logout_uri,
        registration_access_token_hash=meta.registration_access_token_hash,
        allow_password_grant=meta.allow_password_grant,
        trusted=meta.trusted,
        resource_server=meta.resource_server,
        metadata=metadata,
    )


def user_claims(person: Person) -> dict[str, Any]:
    """OpenID Connect Core 5.1 claims of a directory person."""
    claims: dict[str, Any] = {
        "preferred_username": person.uid,
        "name": person.name,
        "given_name": person.given_name,
        "family_name": person.family_name,
        "email": person.email,
        "phone_number": person.phone,
    }
    if person.email:
        claims["email_verified"] = person.email_verified
    if person.phone:
        claims["phone_number_verified"] = person.phone_verified
    address = {
        "street_address": person.street_address,
        "locality": person.locality,
        "region": person.region,
        "postal_code": person.postal_code,
        "country": person.country,
    }
    if any(address.values()):
        claims["address"] = {k: v for k, v in address.items() if v}
    if person.updated is not None:
        claims["updated_at"] = int(person.updated.timestamp())
    return {k: v for k, v in claims.items() if v is not None}


def to_user(person: Person) -> User:
    return User(
        sub=person.inum,
        username=person.uid,
        claims=user_claims(person),
        active=person.status == "active",
    )


class DirectoryClientStore:
    """:class:`~oxswarm.oauth.interfaces.ClientStore` with a short in-process cache."""

    def __init__(self, repo: ClientRepository, ttl: float = 5.0, negative_ttl: float = 1.0):
        self._repo = repo
        self._ttl = ttl
        self._negative_ttl = negative_ttl
        self._cached: dict[str, tuple[float, ClientMetadata | None]] = {}

    def _remember(self, client_id: str, client: ClientMetadata | None) -> None:
        ttl = self._ttl if client is not None else self._negative_ttl
        if len(self._cached) > 10000:
            self._cached.clear()
        self._cached[client_id] = (time.monotonic() + ttl, client)

    def _lookup(self, client_id: str) -> ClientMetadata | None:
        try:
            return to_metadata(self._repo.get(client_id))
        except NotFound:
            return None

    async def get(self, client_id: str) -> ClientMetadata | None:
        hit = self._cached.get(client_id)
        if hit is not None and hit[0] > time.monotonic():
            return hit[1]
        client = await asyncio.to_thread(self._lookup, client_id)
        self._remember(client_id, client)
        return client

    async def create(self, client: ClientMetadata) -> None:
        await asyncio.to_thread(self._repo.add, from_metadata(client))
        self._cached.pop(client.client_id, None)

    async def update(self, client: ClientMetadata) -> None:
        await asyncio.to_thread(self._repo.update, from_metadata(client))
        self._cached.pop(client.client_id, None)

    async def delete(self, client_id: str) -> bool:
        self._cached.pop(client_id, None)
        try:
            await asyncio.to_thread(self._repo.remove, client_id)
        except NotFound:
            return False
        return True


class DirectoryUserStore:
    """:class:`~oxswarm.oauth.interfaces.UserStore` over the people repository.

    A password is checked by a bind as the person (slapd verifies the hash). A name that
    is no person, or an inactive person, costs the same: the password is checked against
    a dummy hash of the directory's scheme (``scheme``, ``params``:
    :func:`~oxswarm.directory.passwords.dummy_check`).
    """

    def __init__(
        self,
        repo: PeopleRepository,
        scheme: str = ARGON2,
        params: Argon2Params = DEFAULT_ARGON2,
    ) -> None:
        self._repo = repo
        self._scheme = scheme
        self._params = params
        dummy_check("warm-up", scheme, params)  # the dummy hash itself, once, at start

    def _get(self, sub: str) -> User | None:
        try:
            return to_user(self._repo.get_by_inum(sub))
        except NotFound:
            return None

    async def get(self, sub: str) -> User | None:
        return await asyncio.to_thread(self._get, sub)

    def _find(self, username: str) -> User | None:
        person = self._repo.get_by_uid(username)
        return None if person is None else to_user(person)

    async def find(self, username: str) -> User | None:
        """The user named ``username`` (active or not) as the directory holds it now, else
        None: one search, which :meth:`check` then trusts for the same sign-in."""
        return await asyncio.to_thread(self._find, username)

    def _check(self, user: User | None, password: str) -> User | None:
        repo = self._repo
        if user is None or not user.active:
            # the same work as a wrong password: a bind on a fresh TLS connection (to a DN
            # that names nobody: slapd answers at once) plus the hash slapd would compute
            repo.directory.check_password(repo.tree.person(_NOBODY), password)
            dummy_check(password, self._scheme, self._params)
            return None
        if not repo.directory.check_password(repo.tree.person(user.sub), password):
            return None
        return user

    async def check(self, user: User | None, password: str) -> User | None:
        """``user`` (what :meth:`find` just read for this sign-in) when ``password`` is
        theirs and they are active, else None, at the same cost either way."""
        return await asyncio.to_thread(self._check, user, password)

    async def authenticate(self, username: str, password: str) -> User | None:
        return await asyncio.to_thread(lambda: self._check(self._find(username), password))


def _generalized(stamp: float) -> str:
    return datetime.fromtimestamp(stamp, UTC).strftime("%Y%m%d%H%M%SZ")


class DirectoryGrantStore:
    """:class:`~oxswarm.oauth.interfaces.GrantStore`: grants in LDAP, revocations cached."""

    def __init__(
        self, directory: Directory, revocations: CacheRevocations, tree: Tree | None = None
    ) -> None:
        self._directory = directory
        self._revocations = revocations
        self._tree = tree or Tree()

    def _dn(self, grant_id: str) -> str:
        return f"oxTokenHash={rdn_value(grant_id)},{self._tree.ou('tokens')}"

    def _get(self, grant_id: str) -> GrantRecord | None:
        try:
            entry = self._directory.read(self._dn(grant_id), ["oxData"])
        except NotFound:
            return None
        text = entry.get("oxData")
        return None if not text else GrantRecord.from_dict(json.loads(text))

    def _put(self, grant: GrantRecord) -> None:
        data = json.dumps(grant.to_dict(), separators=(",", ":"))
        dn = self._dn(grant.grant_id)
        try:
            self._directory.modify(dn, {"oxData": [(REPLACE, [data])]})
        except NotFound:
            attrs: dict[str, list[str]] = {
                "objectClass": ["top", "oxToken"],
                "oxTokenHash": [grant.grant_id],
                "oxTokenType": ["refresh_grant"],
                "oxGrantId": [grant.grant_id],
                "oxClientId": [grant.client_id],
                "oxExpiration": [_generalized(grant.expires_at)],
                "oxData": [data],
            }
            if grant.sub:
                attrs["oxUserInum"] = [grant.sub]
            if grant.scope:
                attrs["oxScope"] = list(grant.scope)
            try:
                self._directory.add(dn, attrs)
            except Conflict:
                self._directory.modify(dn, {"oxData": [(REPLACE, [data])]})

    def _delete(self, grant_id: str) -> None:
        with contextlib.suppress(NotFound):
            self._directory.delete(self._dn(grant_id))

    def _purge(self, now: float, limit: int) -> int:
        """Delete up to ``limit`` grants past their absolute lifetime (never usable again)."""
        expired = self._directory.search(
            self._tree.ou("tokens"),
            f"(&(objectClass=oxToken)(oxTokenType=refresh_grant)"
            f"(oxExpiration<={_generalized(now)}))",
            attributes=["oxTokenHash"],
        )
        removed = 0
        for entry in expired[:limit]:
            with contextlib.suppress(NotFound):  # another process swept it first
                self._directory.delete(entry.dn)
                removed += 1
        return removed

    async def purge_expired(self, now: float | None = None, limit: int = 5000) -> int:
        """Remove expired grants from the directory; how many were removed."""
        return await asyncio.to_thread(self._purge, time.time() if now is None else now, limit)

    async def get(self, grant_id: str) -> GrantRecord | None:
        if not valid_grant_id(grant_id) or await self._revocations.is_revoked(grant_id):
            return None
        return await asyncio.to_thread(self._get, grant_id)

    async def put(self, grant: GrantRecord) -> None:
        await asyncio.to_thread(self._put, grant)

    async def delete(self, grant_id: str) -> None:
        await asyncio.to_thread(self._delete, grant_id)

    async def revoke(self, grant_id: str, ttl: int) -> None:
        await self._revocations.revoke(grant_id, ttl)
        await asyncio.to_thread(self._delete, grant_id)

    async def is_revoked(self, grant_id: str) -> bool:
        return await self._revocations.is_revoked(grant_id)
