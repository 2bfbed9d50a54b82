"""OAuth clients (``ou=clients``) in the directory.

A client's secret is stored encrypted by the :class:`SecretCipher` passed in (the
config store's SecretBox: AES-GCM, the secret's name bound as associated data); the
directory never holds it in clear text, and the ACL lets only the root DN read it.
Lookups by ``client_id`` are one base-scope search on a kept-open connection.
"""

from __future__ import annotations

import json
from typing import Any, Final, Protocol

from pydantic import ValidationError

from oxswarm.directory.connection import LEVEL, REPLACE, Directory, Entry
from oxswarm.directory.models import Client
from oxswarm.directory.tree import Tree, ldap_bool, parse_generalized_time, rdn_of
from oxswarm.errors import DirectoryError, InvalidInput, NotFound

CLIENT_CLASSES: Final = ("top", "oxClient")
_OPERATIONAL: Final = ("createTimestamp", "modifyTimestamp")

_CLIENT_LISTS: Final = {
    "redirect_uris": "oxRedirectURI",
    "post_logout_redirect_uris": "oxPostLogoutRedirectURI",
    "grant_types": "oxGrantType",
    "response_types": "oxResponseType",
    "scopes": "oxScope",
}
_CLIENT_TEXT: Final = {
    "name": "displayName",
    "token_endpoint_auth_method": "oxTokenEndpointAuthMethod",
    "jwks_uri": "oxJwksURI",
    "id_token_signed_response_alg": "oxIdTokenSignedResponseAlg",
    "userinfo_signed_response_alg": "oxUserinfoSignedResponseAlg",
    "access_token_format": "oxAccessTokenFormat",
    "subject_type": "oxSubjectType",
    "sector_identifier_uri": "oxSectorIdentifierURI",
    "frontchannel_logout_uri": "oxFrontchannelLogoutURI",
    "backchannel_logout_uri": "oxBackchannelLogoutURI",
    "registration_access_token_hash": "oxRegistrationAccessTokenHash",
}


class SecretCipher(Protocol):
    """Authenticated encryption of named secrets (``oxswarm.config.secrets.SecretBox``)."""

    def encrypt(self, name: str, plaintext: str) -> str: ...

    def decrypt(self, name: str, token: str) -> str: ...


def secret_name(client_id: str) -> str:
    """The name bound to a client secret's ciphertext (so it cannot be moved elsewhere)."""
    return f"directory/client/{client_id}/secret"


def client_attributes(client: Client, cipher: SecretCipher) -> dict[str, list[str]]:
    """Every mapped attribute of ``client`` ([] when unset); the secret encrypted."""
    attrs: dict[str, list[str]] = {}
    for name, ldap_name in _CLIENT_LISTS.items():
        attrs[ldap_name] = list(getattr(client, name))
    for name, ldap_name in _CLIENT_TEXT.items():
        value = getattr(client, name)
        attrs[ldap_name] = [] if value in (None, "") else [str(value)]
    attrs["oxJwks"] = [json.dumps(client.jwks, sort_keys=True)] if client.jwks else []
    attrs["oxMetadata"] = [json.dumps(client.metadata, sort_keys=True)] if client.metadata else []
    attrs["oxAllowPasswordGrant"] = [ldap_bool(client.allow_password_grant)]
    attrs["oxTrustedClient"] = [ldap_bool(client.trusted)]
    attrs["oxResourceServer"] = [ldap_bool(client.resource_server)]
    attrs["oxClientSecret"] = (
        [cipher.encrypt(secret_name(client.client_id), client.client_secret)]
        if client.client_secret
        else []
    )
    return attrs


def _json(entry: Entry, name: str) -> Any:
    text = entry.get(name)
    if not text:
        return None
    try:
        return json.loads(text)
    except ValueError as exc:
        raise DirectoryError(f"entry {entry.dn}: {name} is not JSON") from exc


def client_from_entry(entry: Entry, cipher: SecretCipher) -> Client:
    client_id = entry.get("inum") or rdn_of(entry.dn)
    token = entry.get("oxClientSecret")
    values: dict[str, Any] = {name: entry.all(attr) for name, attr in _CLIENT_LISTS.items()}
    for name, attr in _CLIENT_TEXT.items():
        if (value := entry.get(attr)) is not None:
            values[name] = value
    try:
        return Client(
            client_id=client_id,
            client_secret=cipher.decrypt(secret_name(client_id), token) if token else None,
            jwks=_json(entry, "oxJwks"),
            metadata=_json(entry, "oxMetadata") or {},
            allow_password_grant=entry.flag("oxAllowPasswordGrant"),
            trusted=entry.flag("oxTrustedClient"),
            resource_server=entry.flag("oxResourceServer"),
            created_at=parse_generalized_time(entry.get("createTimestamp")),
            **values,
        )
    except ValidationError as exc:
        raise DirectoryError(f"entry {entry.dn} is not a valid client: {exc}") from exc


class ClientRepository:
    """CRUD for OAuth clients; the RDN is the ``client_id`` (``inum=<client_id>``)."""

    def __init__(self, directory: Directory, cipher: SecretCipher, tree: Tree | None = None):
        self.directory = directory
        self.cipher = cipher
        self.tree = tree or Tree()

    def add(self, client: Client) -> Client:
        attrs = {k: v for k, v in client_attributes(client, self.cipher).items() if v}
        attrs["objectClass"] = list(CLIENT_CLASSES)
        attrs["inum"] = [client.client_id]
        self.directory.add(self.tree.client(client.client_id), attrs)
        return self.get(client.client_id)

    def get(self, client_id: str) -> Client:
        try:
            entry = self.directory.read(self.tree.client(client_id), ["*", *_OPERATIONAL])
        except NotFound:
            raise NotFound(f"no client with client_id {client_id!r}") from None
        except InvalidInput:
            raise NotFound(f"no client with client_id {client_id!r}") from None
        return client_from_entry(entry, self.cipher)

    def list(self) -> list[Client]:
        found = self.directory.search(
            self.tree.ou("clients"), "(objectClass=oxClient)", LEVEL, ["*", *_OPERATIONAL]
        )
        return [client_from_entry(e, self.cipher) for e in found]

    def update(self, client: Client) -> Client:
        """Replace every mapped attribute with ``client``'s values (secret re-encrypted)."""
        dn = self.tree.client(client.client_id)
        attrs = client_attributes(client, self.cipher)
        self.directory.modify(dn, {k: [(REPLACE, v)] for k, v in attrs.items()})
        return self.get(client.client_id)

    def remove(self, client_id: str) -> None:
        self.directory.delete(self.tree.client(client_id))
