"""Upstream identity providers of oxPassport (inbound federation), kept in the config store.

Gluu keeps its passport providers in oxPassport's configuration; OxSwarm keeps them in the
config store beside oxAuth's policy: the config value ``oxauth_passport_providers`` (a JSON
list, no secret in it) and, per provider, the secret ``passport_client_secret_<ID>``
(AES-GCM encrypted with the master key, like every secret). oxAuth watches
``config/oxauth_*``, so a provider added, changed or disabled through any node serves on
every node within a second (:class:`~oxswarm.oxauth.live_policy.LivePolicy`).

A provider: ``id`` (``[a-z0-9][a-z0-9_-]{0,39}``: in paths and in links
``passport-ID:SUBJECT``), ``type`` (``oidc``), ``issuer`` (discovery from it),
``client_id``, ``scopes``, ``mapping`` (claim -> person field; defaults for the standard
OIDC claims), ``linking`` (``create``, ``link_by_email``, ``deny_on_collision``,
``existing_only``), ``update`` (``first``: attributes applied when the person is
provisioned; ``always``: on every sign-in), ``enabled``, ``name`` (the login button).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import random
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final
from urllib.parse import urlsplit

from oxswarm.config.manager import ConfigManager
from oxswarm.directory.people import PERSON_ATTRS
from oxswarm.errors import AssertionFailed, Conflict, InvalidInput, NotFound

log = logging.getLogger(__name__)

CONFIG_KEY: Final = "oxauth_passport_providers"
TYPES: Final = ("oidc", "saml")
LINKING: Final = ("create", "link_by_email", "deny_on_collision", "existing_only")
UPDATES: Final = ("first", "always")
MAX_PROVIDERS: Final = 100
_ID: Final = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")
_SCOPE: Final = re.compile(r"^[\x21\x23-\x5b\x5d-\x7e]{1,200}$")
# person fields a mapping may set (``status`` and the verified flags are never mapped)
MAPPABLE: Final = tuple(k for k in PERSON_ATTRS if k != "status")
DEFAULT_MAPPING: Final[Mapping[str, str]] = {
    "preferred_username": "uid",
    "email": "email",
    "given_name": "given_name",
    "family_name": "family_name",
    "name": "display_name",
    "phone_number": "phone",
    "locale": "",  # not kept
}

Get = Callable[[str], str | None]


def secret_name(provider_id: str) -> str:
    return f"passport_client_secret_{provider_id}"


@dataclass(frozen=True, slots=True)
class Provider:
    id: str
    issuer: str
    client_id: str
    type: str = "oidc"
    name: str = ""
    scopes: tuple[str, ...] = ("openid", "profile", "email")
    mapping: Mapping[str, str] = field(default_factory=dict)
    linking: str = "create"
    update: str = "first"
    enabled: bool = True
    metadata: str = ""  # saml: the IdP's metadata (its entityID is ``issuer``)
    subject_attribute: str = ""  # saml: the subject from this attribute, not the NameID
    client_secret: str | None = field(default=None, repr=False, compare=False)

    @property
    def label(self) -> str:
        return self.name or self.id

    def effective_mapping(self) -> dict[str, str]:
        """The defaults overlaid with the provider's own mapping (an empty target drops)."""
        merged = {**DEFAULT_MAPPING, **self.mapping}
        return {claim: target for claim, target in merged.items() if target}

    def public(self) -> dict[str, Any]:
        """As stored and shown: everything but the secret."""
        out = dataclasses.asdict(self)
        out.pop("client_secret")
        out["scopes"] = list(self.scopes)
        out["mapping"] = dict(self.mapping)
        return out


def check_id(value: str) -> str:
    if not _ID.match(value):
        raise InvalidInput(f"id: {value!r} is not a valid provider id "
                           "(lower-case letters, digits, '_', '-'; at most 40)", field="id")
    return value


def check_issuer(value: str) -> str:
    if value.startswith("urn:") and len(value) <= 1024:  # a SAML entityID may be a URN
        return value
    parts = urlsplit(value)
    if parts.scheme not in ("https", "http") or not parts.hostname or parts.query \
            or parts.fragment or parts.username is not None:
        raise InvalidInput(f"issuer: {value!r} is not an https URL without query or fragment",
                           field="issuer")
    return value


def check_mapping(mapping: object) -> dict[str, str]:
    if not isinstance(mapping, dict) or len(mapping) > 64:
        raise InvalidInput("mapping: must be a JSON object of at most 64 claim: field pairs",
                           field="mapping")
    out: dict[str, str] = {}
    for claim, target in mapping.items():
        if not isinstance(claim, str) or not 0 < len(claim) <= 128:
            raise InvalidInput(f"mapping: {claim!r} is not a claim name", field="mapping")
        if not isinstance(target, str) or (target and target not in MAPPABLE):
            raise InvalidInput(f"mapping: {claim} -> {target!r}: the field must be one of "
                               f"{', '.join(MAPPABLE)} (or '' to drop it)", field="mapping")
        out[claim] = target
    return out


def build(data: Mapping[str, Any]) -> Provider:
    """A provider from its stored or entered form; :class:`InvalidInput` naming the field."""
    known = {f.name for f in dataclasses.fields(Provider)} - {"client_secret"}
    extra = set(data) - known
    if extra:
        raise InvalidInput(f"{sorted(extra)[0]}: unknown provider field", field=sorted(extra)[0])
    kind = data.get("type", "oidc")
    if kind not in TYPES:
        raise InvalidInput(f"type: {kind!r} is not supported (oidc, saml)", field="type")
    if kind == "saml":
        data = _saml(data)
    for name in ("id", "issuer", "client_id"):
        if not isinstance(data.get(name), str) or not data[name]:
            raise InvalidInput(f"{name}: required", field=name)
    linking = data.get("linking", "create")
    if linking not in LINKING:
        raise InvalidInput(f"linking: {linking!r} is not one of {', '.join(LINKING)}",
                           field="linking")
    update = data.get("update", "first")
    if update not in UPDATES:
        raise InvalidInput(f"update: {update!r} is not one of first, always", field="update")
    scopes = data.get("scopes", ["openid", "profile", "email"])
    if not isinstance(scopes, list | tuple) or not all(
            isinstance(s, str) and _SCOPE.match(s) for s in scopes) or len(scopes) > 32:
        raise InvalidInput("scope: scope tokens (RFC 6749 3.3), at most 32", field="scope")
    if "openid" not in scopes:
        scopes = ["openid", *scopes]
    name = data.get("name", "")
    if not isinstance(name, str) or len(name) > 80:
        raise InvalidInput("name: at most 80 characters", field="name")
    client_id = str(data["client_id"])
    if len(client_id) > 255 or any(ord(c) < 0x20 for c in client_id):
        raise InvalidInput("client-id: at most 255 printable characters", field="client-id")
    enabled = data.get("enabled", True)
    if not isinstance(enabled, bool):
        raise InvalidInput("enabled: true or false", field="enabled")
    return Provider(
        id=check_id(str(data["id"])), issuer=check_issuer(str(data["issuer"])),
        client_id=client_id, type=str(kind), name=name, scopes=tuple(dict.fromkeys(scopes)),
        mapping=check_mapping(data.get("mapping", {})), linking=str(linking),
        update=str(update), enabled=enabled, metadata=str(data.get("metadata", "")),
        subject_attribute=str(data.get("subject_attribute", "")))


def _saml(data: Mapping[str, Any]) -> dict[str, Any]:
    """A SAML provider's fields: ``issuer`` is its metadata's entityID, no client."""
    from oxswarm.passport.saml import parse_idp_metadata

    metadata = data.get("metadata")
    if not isinstance(metadata, str) or not metadata:
        raise InvalidInput("metadata: required for a saml provider", field="metadata")
    idp = parse_idp_metadata(metadata)
    attribute = data.get("subject_attribute", "")
    if not isinstance(attribute, str) or len(attribute) > 256:
        raise InvalidInput("subject-attribute: at most 256 characters",
                           field="subject-attribute")
    return {**data, "issuer": idp.entity_id, "client_id": data.get("client_id") or "saml",
            "scopes": []}


def parse(text: str | None) -> list[Provider]:
    """The stored list (no secrets); :class:`InvalidInput` when malformed."""
    if not text:
        return []
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise InvalidInput(f"{CONFIG_KEY}: not JSON ({exc})", field=CONFIG_KEY) from None
    if not isinstance(data, list) or not all(isinstance(d, dict) for d in data):
        raise InvalidInput(f"{CONFIG_KEY}: must be a JSON list of objects", field=CONFIG_KEY)
    return [build(d) for d in data]


def dump(providers: Sequence[Provider]) -> str:
    ids = [p.id for p in providers]
    if len(set(ids)) != len(ids):
        raise InvalidInput("id: two providers with one id", field="id")
    if len(providers) > MAX_PROVIDERS:
        raise InvalidInput(f"id: at most {MAX_PROVIDERS} providers", field="id")
    return json.dumps([p.public() for p in providers], separators=(",", ":"), sort_keys=True)


def read_providers(get: Get, get_secret: Get) -> tuple[Provider, ...]:
    """Every provider with its client secret (oxAuth's view)."""
    return tuple(dataclasses.replace(p, client_secret=get_secret(secret_name(p.id)))
                 for p in parse(get(CONFIG_KEY)))


def check_secret(secret: str) -> str:
    if not secret or "\n" in secret or len(secret) > 1024 or secret != secret.strip():
        raise InvalidInput("client_secret: one line of 1 to 1024 characters",
                           field="client_secret")
    return secret


ATTEMPTS: Final = 16  # compare-and-swap rounds lost to other writers before giving up


def version(provider: Provider) -> str:
    """A provider's version as an editor saw it: a digest of its stored form. An edit
    made from an older version is refused (:class:`AssertionFailed`), not merged."""
    text = json.dumps(provider.public(), separators=(",", ":"), sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:24]


Expect = Callable[[Provider], bool]
Change = Callable[[list[Provider]], Sequence[Provider]]


class ProviderStore:
    """The providers in the config store: the one place that reads and writes them
    (``oxswarm providers``, the admin API and the admin UI).

    The list is one config value, so every change is a compare-and-swap on its store
    revision (:meth:`ConfigManager.set_if_unchanged`): read, change, write only if nobody
    wrote in between, with the provider's secret in the same transaction (nothing
    half-written). A writer that lost to another re-reads and applies its change again
    to the fresh list, at most :data:`ATTEMPTS` times: edits of different providers never
    overwrite each other. An edit that names the version it started from (``expect``)
    is refused with :class:`AssertionFailed` when its provider changed meanwhile."""

    def __init__(self, manager: ConfigManager) -> None:
        self.manager = manager

    def list(self) -> list[Provider]:
        return parse(self.manager.get(CONFIG_KEY))

    def get(self, provider_id: str) -> Provider:
        return _find(self.list(), provider_id)

    def has_secret(self, provider_id: str) -> bool:
        return self.manager.store.get(self.manager.secret_key(secret_name(provider_id))) \
            is not None

    def _commit(self, change: Change,
                secrets: Mapping[str, str | None] | None = None) -> None:
        """Apply ``change`` to the stored list atomically (see the class)."""
        for attempt in range(ATTEMPTS):
            text, revision = self.manager.get_versioned(CONFIG_KEY)
            fresh = dump(change(parse(text)))  # checked before anything is written
            if self.manager.set_if_unchanged(CONFIG_KEY, fresh, revision, secrets):
                return
            log.info("passport providers: another writer came first; retrying (%d)",
                     attempt + 1)
            # jittered, growing back-off (10 ms doubling up to 0.25 s): writers spread out
            time.sleep(random.uniform(0.0, min(0.25, 0.01 * 2 ** attempt)))  # noqa: S311
        raise Conflict(f"{CONFIG_KEY}: changed by other writers {ATTEMPTS} times while "
                       "saving; nothing written, try again")

    def add(self, provider: Provider, secret: str | None) -> Provider:
        secrets: dict[str, str | None] = {}
        if provider.type != "saml":
            secrets[secret_name(provider.id)] = check_secret(secret or "")

        def change(providers: list[Provider]) -> list[Provider]:
            if any(p.id == provider.id for p in providers):
                raise InvalidInput(f"id: a provider {provider.id!r} already exists",
                                   field="id")
            return [*providers, provider]

        self._commit(change, secrets)
        return provider

    def update(self, provider_id: str, edit: Callable[[Provider], Provider],
               secret: str | None = None, expect: Expect | None = None) -> Provider:
        """``edit`` applied to the provider as stored at the moment of the write (so a
        change of one option keeps the others another writer just set); with ``expect``,
        refused when it says the stored provider is not the one the editor saw."""
        secrets = {secret_name(provider_id): check_secret(secret)} if secret is not None \
            else None
        done: list[Provider] = []

        def change(providers: list[Provider]) -> list[Provider]:
            current = _find(providers, provider_id)
            if expect is not None and not expect(current):
                raise AssertionFailed(f"provider {provider_id!r} was changed by someone "
                                      "else since it was read; nothing written")
            edited = edit(current)
            if edited.id != provider_id:
                raise InvalidInput("id: cannot be changed", field="id")
            done[:] = [edited]
            return [edited if p.id == provider_id else p for p in providers]

        self._commit(change, secrets)
        return done[0]

    def replace(self, provider: Provider, secret: str | None = None,
                expect: Expect | None = None) -> Provider:
        return self.update(provider.id, lambda _current: provider, secret, expect)

    def remove(self, provider_id: str, expect: Expect | None = None) -> Provider:
        removed: list[Provider] = []

        def change(providers: list[Provider]) -> list[Provider]:
            current = _find(providers, provider_id)
            if expect is not None and not expect(current):
                raise AssertionFailed(f"provider {provider_id!r} was changed by someone "
                                      "else since it was read; nothing removed")
            removed[:] = [current]
            return [p for p in providers if p.id != provider_id]

        self._commit(change, {secret_name(provider_id): None})
        return removed[0]


def _find(providers: Sequence[Provider], provider_id: str) -> Provider:
    for provider in providers:
        if provider.id == provider_id:
            return provider
    raise NotFound(f"no provider {provider_id!r}")
