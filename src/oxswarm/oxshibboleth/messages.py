"""Guards every SAML message passes before pysaml2 reads it (SAML Bindings 3.4, 3.5;
OWASP XML External Entity Prevention): size limits, no DTD at all, a fresh IssueInstant.

* HTTP-Redirect (Bindings 3.4.4.1): base64 of raw DEFLATE; the encoded form is bounded
  and inflating stops past :data:`MAX_XML` (no decompression bomb).
* HTTP-POST (Bindings 3.5.4): base64 of the XML.
* Any ``<!DOCTYPE`` (or a stray ``<!ENTITY``) refuses the message: SAML never needs a DTD,
  so none is processed (no XXE, no entity expansion) whatever the XML library would do.

A refusal raises :class:`MessageRefused` carrying the SAML status (``Requester``) and a
reason for the log and the error page.
"""

from __future__ import annotations

import base64
import binascii
import re
import zlib
from datetime import UTC, datetime, timedelta
from typing import Final
from xml.etree.ElementTree import Element

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException

from oxswarm.errors import InvalidInput

MAX_ENCODED: Final = 96 * 1024  # a SAMLRequest parameter or form field
MAX_XML: Final = 64 * 1024  # the decoded message
MAX_AGE: Final = timedelta(minutes=5)  # how old an AuthnRequest's IssueInstant may be
SKEW: Final = timedelta(seconds=60)
_DTD = re.compile(rb"<!\s*(doctype|entity)", re.IGNORECASE)
PROTOCOL_NS: Final = "urn:oasis:names:tc:SAML:2.0:protocol"
ASSERTION_NS: Final = "urn:oasis:names:tc:SAML:2.0:assertion"


class MessageRefused(InvalidInput):
    """A SAML message refused before or after parsing; ``reason`` is for the log and page."""

    def __init__(self, reason: str, *, status: str = "Requester") -> None:
        super().__init__(reason, field="SAMLRequest")
        self.reason = reason
        self.status = status


def refuse_dtd(xml: bytes) -> bytes:
    """``xml`` unless it carries a document type declaration or an entity declaration."""
    if _DTD.search(xml):
        raise MessageRefused("SAMLRequest: a DOCTYPE is not allowed in a SAML message")
    return xml


def _b64(value: str) -> bytes:
    if len(value) > MAX_ENCODED:
        raise MessageRefused(f"SAMLRequest: larger than {MAX_ENCODED} bytes")
    try:
        return base64.b64decode("".join(value.split()), validate=True)
    except (binascii.Error, ValueError):
        raise MessageRefused("SAMLRequest: not base64") from None


def decode_redirect(value: str) -> bytes:
    """The XML of an HTTP-Redirect ``SAMLRequest`` (base64 of raw DEFLATE)."""
    raw = _b64(value)
    inflater = zlib.decompressobj(-15)
    try:
        xml = inflater.decompress(raw, MAX_XML + 1)
    except zlib.error:
        raise MessageRefused("SAMLRequest: not DEFLATE-compressed (HTTP-Redirect)") from None
    if len(xml) > MAX_XML or inflater.unconsumed_tail:
        raise MessageRefused(f"SAMLRequest: inflates past {MAX_XML} bytes")
    return refuse_dtd(xml)


def decode_post(value: str) -> bytes:
    """The XML of an HTTP-POST ``SAMLRequest`` (base64)."""
    xml = _b64(value)
    if len(xml) > MAX_XML:
        raise MessageRefused(f"SAMLRequest: larger than {MAX_XML} bytes")
    return refuse_dtd(xml)


def root_of(xml: bytes) -> Element:
    """The parsed root element, DTDs and entities forbidden (defusedxml)."""
    try:
        root: Element = SafeET.fromstring(refuse_dtd(xml), forbid_dtd=True)
    except DefusedXmlException:
        raise MessageRefused("SAMLRequest: a DOCTYPE is not allowed in a SAML message") from None
    except SafeET.ParseError as exc:
        raise MessageRefused(f"SAMLRequest: not well-formed XML ({exc})") from None
    return root


def issuer_of(xml: bytes, kind: str = "AuthnRequest") -> str:
    """The ``<saml:Issuer>`` of a ``kind`` request (whose metadata decides the rest)."""
    root = root_of(xml)
    if root.tag != f"{{{PROTOCOL_NS}}}{kind}":
        raise MessageRefused(f"SAMLRequest: not a{'n' if kind[0] in 'AEIOU' else ''} {kind}")
    issuer = root.find(f"{{{ASSERTION_NS}}}Issuer")
    text = (issuer.text or "").strip() if issuer is not None else ""
    if not text:
        raise MessageRefused("SAMLRequest: no Issuer")
    return text


def check_fresh(issue_instant: str | None, now: datetime | None = None) -> None:
    """Refuse an AuthnRequest issued more than :data:`MAX_AGE` ago or in the future."""
    now = now or datetime.now(UTC)
    try:
        issued = datetime.fromisoformat((issue_instant or "").replace("Z", "+00:00"))
    except ValueError:
        raise MessageRefused("IssueInstant: missing or not a dateTime") from None
    if issued.tzinfo is None:
        issued = issued.replace(tzinfo=UTC)
    if issued > now + SKEW:
        raise MessageRefused("IssueInstant: in the future")
    if issued < now - MAX_AGE - SKEW:
        raise MessageRefused(f"IssueInstant: expired (older than {int(MAX_AGE.total_seconds())} s)")
