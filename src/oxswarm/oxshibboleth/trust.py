"""SAML trust relationships: one service provider the IdP serves, and what it releases.

The SP's metadata (SAML Metadata 2.0, saml-metadata-2.0-os 2.4.4 ``SPSSODescriptor``) is
parsed by pysaml2 after the guards of :mod:`oxswarm.oxshibboleth.messages` (no DOCTYPE,
size-limited): its entityID, its AssertionConsumerService endpoints (the only addresses
a response is ever sent to), ``AuthnRequestsSigned`` and its certificates. The choices of
the administrator (released attributes, NameID format, signing, encryption) are validated
here, the one place every path (CLI, admin API and UI) goes through; so is the metadata
text's size and encoding, and an https URL's fetch under oxAuth's outbound rules.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Final, Literal, get_args

from saml2 import BINDING_HTTP_POST
from saml2.mdstore import InMemoryMetaData

from oxswarm.errors import InvalidInput
from oxswarm.oxauth.adapters.outbound import FetchError, FetchRules, Outbound
from oxswarm.oxshibboleth import encryption
from oxswarm.oxshibboleth.messages import refuse_dtd, root_of

NameIdFormat = Literal["transient", "persistent", "emailAddress", "unspecified"]
NAMEID_CHOICES: Final = get_args(NameIdFormat)
MAX_METADATA: Final = 256 * 1024
#: what may be released; custom directory attributes are allowed by name too
STANDARD_ATTRIBUTES: Final = ("uid", "mail", "givenName", "sn", "displayName", "memberOf")
DEFAULT_RELEASE: Final = ("uid", "mail")
_ATTRIBUTE = re.compile(r"^[A-Za-z][A-Za-z0-9-]{0,63}$")
_NEVER: Final = frozenset({"userpassword", "oxclientsecret", "authpassword"})
MD_NS: Final = "urn:oasis:names:tc:SAML:2.0:metadata"


@dataclass(frozen=True)
class SpMetadata:
    """What the IdP needs of an SP's metadata."""

    entity_id: str
    acs: tuple[tuple[str, str, int | None, bool], ...]  # (binding, url, index, is_default)
    authn_requests_signed: bool
    signing_certs: int
    encryption_certs: int
    encryption_methods: tuple[str, ...] = ()  # its EncryptionMethod algorithms, in order

    def post_acs(self) -> tuple[str, ...]:
        return tuple(url for binding, url, _, _ in self.acs if binding == BINDING_HTTP_POST)

    def default_acs(self) -> str | None:
        """The default HTTP-POST ACS (isDefault, else the lowest index, else the first)."""
        posts = [a for a in self.acs if a[0] == BINDING_HTTP_POST]
        if not posts:
            return None
        for _, url, _, default in posts:
            if default:
                return url
        return min(posts, key=lambda a: a[2] if a[2] is not None else 1 << 30)[1]

    def acs_by_index(self, index: int) -> str | None:
        for binding, url, i, _ in self.acs:
            if i == index and binding == BINDING_HTTP_POST:
                return url
        return None


def load_entity(xml: str | bytes, descriptor: str) -> tuple[Any, str, Any]:
    """One guarded ``md:EntityDescriptor`` (size, no DTD) parsed by pysaml2: its metadata
    store, entityID and first ``descriptor`` (``spsso`` or ``idpsso``); :class:`InvalidInput`
    naming ``metadata`` when it is not usable. The SP trusts' and oxPassport's IdPs' rule."""
    raw = xml.encode() if isinstance(xml, str) else xml
    if len(raw) > MAX_METADATA:
        raise InvalidInput(f"metadata: larger than {MAX_METADATA} bytes", field="metadata")
    try:
        refuse_dtd(raw)
        root = root_of(raw)
    except InvalidInput as exc:
        raise InvalidInput(f"metadata: {exc}".replace("SAMLRequest: ", ""),
                           field="metadata") from None
    if root.tag != f"{{{MD_NS}}}EntityDescriptor":
        raise InvalidInput("metadata: the root must be one md:EntityDescriptor", field="metadata")
    store = InMemoryMetaData({}, raw.decode("utf-8", "replace"), check_validity=True)
    try:
        store.load()
    except Exception as exc:  # noqa: BLE001  (pysaml2 raises many kinds; all mean "bad metadata")
        raise InvalidInput(f"metadata: not valid SAML metadata ({exc})", field="metadata") from None
    entities = list(store.keys())
    if len(entities) != 1:
        raise InvalidInput("metadata: expected one entity", field="metadata")
    entity_id = str(entities[0])
    found = store[entity_id].get(f"{descriptor}_descriptor") or []
    if not found:
        name = {"spsso": "SPSSODescriptor", "idpsso": "IDPSSODescriptor"}[descriptor]
        raise InvalidInput(f"metadata: {entity_id} has no {name}", field="metadata")
    return store, entity_id, found[0]


def parse_sp_metadata(xml: str | bytes) -> SpMetadata:
    """The SP's metadata (one EntityDescriptor with an SPSSODescriptor), parsed by pysaml2;
    :class:`InvalidInput` naming ``metadata`` when it is not usable."""
    raw = xml.encode() if isinstance(xml, str) else xml
    store, entity_id, sp = load_entity(raw, "spsso")
    acs: list[tuple[str, str, int | None, bool]] = []
    for endpoint in sp.get("assertion_consumer_service") or []:
        url = str(endpoint.get("location") or "")
        if not url.startswith(("https://", "http://")):
            raise InvalidInput(f"metadata: ACS location {url!r} is not an http(s) URL",
                               field="metadata")
        index = endpoint.get("index")
        acs.append((str(endpoint.get("binding")), url, int(index) if index is not None else None,
                    str(endpoint.get("is_default", "false")).lower() == "true"))
    if not any(binding == BINDING_HTTP_POST for binding, *_ in acs):
        raise InvalidInput("metadata: no AssertionConsumerService with the HTTP-POST binding",
                           field="metadata")
    signed = str(sp.get("authn_requests_signed", "false")).lower() in ("true", "1")
    return SpMetadata(
        entity_id=entity_id, acs=tuple(acs), authn_requests_signed=signed,
        signing_certs=len(store.certs(entity_id, "spsso", "signing")),
        encryption_certs=len(store.certs(entity_id, "spsso", "encryption")),
        encryption_methods=tuple(encryption.listed_methods(sp)),
    )


def metadata_text(raw: bytes) -> str:
    """Metadata bytes as text: at most :data:`MAX_METADATA`, UTF-8."""
    if len(raw) > MAX_METADATA:
        raise InvalidInput(f"metadata: larger than {MAX_METADATA} bytes", field="metadata")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidInput("metadata: not UTF-8 text", field="metadata") from None


async def fetch_metadata(url: str, rules: FetchRules, ca: str = "") -> str:
    """An SP's metadata from ``url`` under oxAuth's outbound rules (https, no private or
    cluster address unless allowed, no redirects, 5 s, :data:`MAX_METADATA`), trusting the
    public CAs and ``ca`` (the policy's ``oxauth_fetch_ca``)."""
    outbound = Outbound(rules, max_bytes=MAX_METADATA)
    outbound.trust(ca)
    try:
        status, body = await outbound.request("GET", url, headers={
            "Accept": "application/samlmetadata+xml, application/xml"})
        if status != 200:
            raise FetchError(f"{url}: HTTP {status}")
    except FetchError as exc:
        raise InvalidInput(f"metadata: not fetched: {exc}", field="metadata") from None
    finally:
        await outbound.close()
    return metadata_text(body)


def check_attributes(names: Iterable[str]) -> tuple[str, ...]:
    """Released attribute names: directory attribute names, never a password."""
    out: list[str] = []
    for name in names:
        if not _ATTRIBUTE.match(name):
            raise InvalidInput(f"release: {name!r} is not an attribute name", field="release")
        if name.lower() in _NEVER or name.lower().startswith("pwd"):
            raise InvalidInput(f"release: {name} is never released", field="release")
        if name not in out:
            out.append(name)
    return tuple(out)


def check_nameid(value: str) -> NameIdFormat:
    if value not in NAMEID_CHOICES:
        raise InvalidInput(f"nameid-format: {value!r} is not one of {', '.join(NAMEID_CHOICES)}",
                           field="nameid-format")
    return value  # type: ignore[return-value]


def new_inum() -> str:
    return "saml-" + secrets.token_hex(8)


@dataclass(frozen=True)
class Trust:
    """A trust relationship as the directory keeps it (``ou=trustRelationships``)."""

    inum: str
    name: str
    entity_id: str
    metadata: str  # the SP's metadata XML
    release: tuple[str, ...] = DEFAULT_RELEASE
    nameid_format: NameIdFormat = "transient"
    sign_assertions: bool = False
    encrypt_assertions: bool = False
    enabled: bool = True

    def sp(self) -> SpMetadata:
        return parse_sp_metadata(self.metadata)

    def check(self) -> Trust:
        """Every field checked together: encryption needs the SP's encryption certificate
        and, when its metadata lists EncryptionMethods, one we support."""
        sp = self.sp()
        if sp.entity_id != self.entity_id:
            raise InvalidInput("metadata: its entityID is not the trust's", field="metadata")
        check_attributes(self.release)
        check_nameid(self.nameid_format)
        if not self.name.strip() or len(self.name) > 200:
            raise InvalidInput("name: 1 to 200 characters", field="name")
        if self.encrypt_assertions and not sp.encryption_certs:
            raise InvalidInput("encrypt-assertions: the SP's metadata has no encryption "
                               "certificate (a KeyDescriptor use=\"encryption\" or without "
                               "use)", field="encrypt-assertions")
        if self.encrypt_assertions:
            encryption.choose(sp.encryption_methods)  # InvalidInput naming encrypt-assertions
        return self

    def summary(self) -> dict[str, object]:
        sp = self.sp()
        return {
            "inum": self.inum, "name": self.name, "entity_id": self.entity_id,
            "acs": list(sp.post_acs()), "authn_requests_signed": sp.authn_requests_signed,
            "release": list(self.release), "nameid_format": self.nameid_format,
            "sign_assertions": self.sign_assertions,
            "encrypt_assertions": self.encrypt_assertions, "enabled": self.enabled,
        }
