"""How an assertion is encrypted for one SP: the algorithms its metadata asks for.

SAML Metadata 2.0 (saml-metadata-2.0-os 2.4.1.1): a ``KeyDescriptor`` may list
``<md:EncryptionMethod Algorithm=...>`` children, the algorithms the entity supports; XML
Encryption 1.1 (xmlenc-core1) names them. :func:`choose` takes, in the SP's order, the first
data-encryption algorithm and the first key transport we support on Debian's ``xmlsec1``
1.2 (AES-GCM/CBC; RSA-OAEP mgf1p: xmlenc11 ``rsa-oaep`` needs xmlsec1 1.3). An SP that
lists none of a kind gets the default (AES-256-GCM, RSA-OAEP mgf1p); one that lists only
algorithms we do not support (3DES, RSA PKCS#1 v1.5...) gets :class:`Unsupported`: never a
weak algorithm, never the assertion in clear.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Final

from oxswarm.errors import InvalidInput

XMLENC: Final = "http://www.w3.org/2001/04/xmlenc#"
XMLENC11: Final = "http://www.w3.org/2009/xmlenc11#"
AES256_GCM: Final = XMLENC11 + "aes256-gcm"
AES128_GCM: Final = XMLENC11 + "aes128-gcm"
AES256_CBC: Final = XMLENC + "aes256-cbc"
AES128_CBC: Final = XMLENC + "aes128-cbc"
RSA_OAEP_MGF1P: Final = XMLENC + "rsa-oaep-mgf1p"
#: data-encryption algorithms we use, and xmlsec1's ``--session-key`` for each
SESSION_KEYS: Final = {AES256_GCM: "aes-256", AES128_GCM: "aes-128",
                       AES256_CBC: "aes-256", AES128_CBC: "aes-128"}
KEY_TRANSPORTS: Final = (RSA_OAEP_MGF1P,)
#: key transports we know but do not use (xmlenc11 rsa-oaep: not in xmlsec1 1.2)
_OTHER_TRANSPORTS: Final = (XMLENC + "rsa-1_5", XMLENC11 + "rsa-oaep")
#: key wrap and key agreement: neither a data algorithm nor a key transport
_NEITHER: Final = ("#kw-", "#dh", "#ecdh", "#ECDH", "#ConcatKDF", "#pbkdf2", "#HKDF")


class Unsupported(InvalidInput):
    """The SP's metadata lists only encryption algorithms we do not support."""


@dataclass(frozen=True)
class Encryption:
    data: str  # EncryptedData's algorithm
    key_transport: str  # EncryptedKey's algorithm
    session_key: str  # xmlsec1's --session-key

    @classmethod
    def of(cls, data: str, key_transport: str) -> Encryption:
        return cls(data, key_transport, SESSION_KEYS[data])


DEFAULT: Final = Encryption.of(AES256_GCM, RSA_OAEP_MGF1P)


def choose(algorithms: Iterable[str]) -> Encryption:
    """The first data algorithm and the first key transport of ``algorithms`` (the SP's
    order) that we support; the default for a kind the SP lists none of;
    :class:`Unsupported` naming ``encrypt-assertions`` when it lists only others."""
    listed = [a.strip() for a in algorithms if a and a.strip()]
    transports = [a for a in listed if a in KEY_TRANSPORTS or a in _OTHER_TRANSPORTS]
    data = [a for a in listed if a not in transports and not any(n in a for n in _NEITHER)]
    chosen_data = next((a for a in data if a in SESSION_KEYS), None if data else AES256_GCM)
    chosen_key = next((a for a in transports if a in KEY_TRANSPORTS),
                      None if transports else RSA_OAEP_MGF1P)
    if chosen_data is None:
        raise Unsupported("encrypt-assertions: the SP's metadata EncryptionMethod lists no "
                          f"data encryption we support ({', '.join(data)}; we do AES-GCM "
                          "and AES-CBC)", field="encrypt-assertions")
    if chosen_key is None:
        raise Unsupported("encrypt-assertions: the SP's metadata EncryptionMethod lists no "
                          f"key transport we support ({', '.join(transports)}; we do "
                          "rsa-oaep-mgf1p)", field="encrypt-assertions")
    return Encryption.of(chosen_data, chosen_key)


def listed_methods(spsso: dict[str, Any]) -> list[str]:
    """The ``EncryptionMethod`` algorithms of an SPSSODescriptor as pysaml2 parses it (its
    KeyDescriptors for encryption: ``use="encryption"`` or without ``use``), in order."""
    found: list[str] = []
    for descriptor in spsso.get("key_descriptor") or []:
        if descriptor.get("use") not in (None, "", "encryption"):
            continue
        for method in descriptor.get("encryption_method") or []:
            found.append(str(method.get("algorithm") or ""))
    return found
