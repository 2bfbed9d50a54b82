"""What the IdP says about a person to one SP: the NameID (SAML Core 8.3) and the released
attributes (a trust's list, read from the directory).

* persistent (Core 8.3.7): pairwise and stable, ``base64url(HMAC-SHA256(key, SP entityID
  | 0 | inum))`` where the key is derived from the store's ``pairwise_calculation_key``
  with the label ``oxshibboleth-persistent-nameid`` (never usable as oxAuth's pairwise key).
  Two SPs get unrelated values; one SP gets the same one every time, on every node.
* transient (Core 8.3.8): random for each response.
* emailAddress: the person's ``mail``; unspecified: the ``uid``.
* ``memberOf``: the display names of the person's groups (slapd runs no memberof overlay).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Iterable
from typing import Final

from oxswarm.directory.connection import LEVEL, Directory
from oxswarm.directory.tree import Tree, filter_value
from oxswarm.oxshibboleth.trust import NameIdFormat

LABEL: Final = b"oxshibboleth-persistent-nameid"


def nameid_key(pairwise_key: str) -> bytes:
    """The persistent-NameID key derived from the store's pairwise secret."""
    return hmac.new(pairwise_key.encode(), LABEL, hashlib.sha256).digest()


def persistent_id(key: bytes, sp_entity_id: str, inum: str) -> str:
    mac = hmac.new(key, sp_entity_id.encode() + b"\x00" + inum.encode(), hashlib.sha256)
    return base64.urlsafe_b64encode(mac.digest()).rstrip(b"=").decode()


def nameid_value(fmt: NameIdFormat, key: bytes, sp_entity_id: str, inum: str,
                 attrs: dict[str, list[str]]) -> str | None:
    """The NameID text for ``fmt``, or None when the person has no value for it."""
    if fmt == "persistent":
        return persistent_id(key, sp_entity_id, inum)
    if fmt == "transient":
        return "_" + secrets.token_hex(20)
    wanted = "mail" if fmt == "emailAddress" else "uid"
    values = attrs.get(wanted.lower()) or []
    return values[0] if values else None


def person_attributes(directory: Directory, tree: Tree, inum: str) -> dict[str, list[str]]:
    """Every stored attribute of the person (lower-cased names), and ``memberof``."""
    entry = directory.read(tree.person(inum))
    attrs = {k: v for k, v in entry.attrs.items() if k not in ("userpassword", "objectclass")}
    groups = directory.search(
        tree.ou("groups"), f"(&(objectClass=oxGroup)(member={filter_value(entry.dn)}))", LEVEL,
        ["displayName"],
    )
    names = [g.get("displayName") for g in groups]
    attrs["memberof"] = sorted(n for n in names if n)
    return attrs


def released(attrs: dict[str, list[str]], names: Iterable[str]) -> dict[str, list[str]]:
    """The trust's attributes the person has, under the names the trust uses."""
    out: dict[str, list[str]] = {}
    for name in names:
        values = attrs.get(name.lower())
        if values:
            out[name] = list(values)
    return out
