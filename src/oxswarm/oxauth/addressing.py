"""The user agent's address behind a chain of trusted proxies (one rule for every caller).

A proxy appends the address it received the request from to ``X-Forwarded-For``
(NGINX's ``$proxy_add_x_forwarded_for``), so the header reads ``client, proxy1, ...`` and
the TCP peer is the last proxy. Anything left of what our own proxies appended was written
by the client and can be forged. The client's address is therefore the rightmost address
of ``X-Forwarded-For`` + the peer that is *not* a trusted proxy (the walk from the right
stops at the first address that is not one; see RFC 7239 section 8.3 and MDN's
"X-Forwarded-For: selecting an IP address").

Trusted proxies are CIDRs (policy key ``oxauth_trusted_proxies``). With none, the peer is
the client and ``X-Forwarded-For`` is ignored. The older ``oxauth_trust_forwarded_for =
true`` (with no ``oxauth_trusted_proxies``) means "the proxies are on our own networks":
loopback and the private ranges (:data:`LEGACY_TRUSTED`).
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Sequence
from typing import Final

from oxswarm.errors import InvalidInput

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address

UNKNOWN: Final = "unknown"

LEGACY_TRUSTED: Final[tuple[Network, ...]] = tuple(
    ipaddress.ip_network(n)
    for n in ("127.0.0.0/8", "::1/128", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16",
              "fc00::/7")
)


def parse_networks(raw: str | None, name: str) -> tuple[Network, ...]:
    """CIDRs (or single addresses) separated by commas or blanks, or a JSON list of them;
    :class:`InvalidInput` naming ``name`` when one is not a network."""
    if raw is None or not raw.strip():
        return ()
    text = raw.strip()
    items: list[str]
    if text.startswith("["):
        try:
            loaded = json.loads(text)
        except ValueError:
            raise InvalidInput(f"{name}: {raw!r} is not a JSON list", field=name) from None
        if not isinstance(loaded, list) or not all(isinstance(x, str) for x in loaded):
            raise InvalidInput(f"{name}: {raw!r} is not a list of CIDRs", field=name)
        items = loaded
    else:
        items = text.replace(",", " ").split()
    found = []
    for item in items:
        try:
            found.append(ipaddress.ip_network(item.strip(), strict=False))
        except ValueError:
            raise InvalidInput(f"{name}: {item!r} is not an address or CIDR", field=name) from None
    return tuple(found)


def parse_address(text: str | None) -> Address | None:
    """An address from a header entry (``[v6]`` or ``v4:port`` forms too), else None."""
    if not text:
        return None
    value = text.strip()
    if value.startswith("["):
        value = value[1:].split("]", 1)[0]
    elif value.count(":") == 1:
        value = value.split(":", 1)[0]
    try:
        found = ipaddress.ip_address(value)
    except ValueError:
        return None
    if isinstance(found, ipaddress.IPv6Address) and found.ipv4_mapped is not None:
        return found.ipv4_mapped
    return found


def _trusted(address: Address, trusted: Sequence[Network]) -> bool:
    return any(address.version == net.version and address in net for net in trusted)


def client_address(peer: str | None, forwarded: str | None, trusted: Sequence[Network]) -> str:
    """The rightmost address of ``forwarded`` + ``peer`` that is not a trusted proxy.

    A malformed entry where a trusted proxy should have written an address ends the walk
    at the last trusted hop (the proxy vouches for nothing beyond it). When every hop is
    trusted (a request from a proxy itself), the leftmost one.
    """
    if peer is None:
        return UNKNOWN
    last = parse_address(peer)
    if last is None:
        return peer
    if not forwarded or not _trusted(last, trusted):
        return str(last)
    for entry in reversed(forwarded.split(",")):
        hop = parse_address(entry)
        if hop is None:
            return str(last)
        last = hop
        if not _trusted(hop, trusted):
            return str(hop)
    return str(last)
