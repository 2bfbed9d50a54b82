"""Every request oxAuth makes to an address a client chose (``jwks_uri``,
``sector_identifier_uri``, ``backchannel_logout_uri``), guarded against SSRF (OWASP SSRF
Prevention Cheat Sheet; RFC 6819 5.1.4; OpenID Connect Core 16).

* The host is resolved first and the request is refused when *any* resolved address is
  loopback, private (RFC 1918, fc00::/7), link-local, unspecified, multicast, reserved,
  shared (CGNAT 100.64.0.0/10), otherwise not global (documentation, benchmarking, ...),
  or in the deny set (the cluster's own addresses). IPv4 embedded in IPv6 (``::ffff:a.b.c.d``,
  6to4, NAT64) is judged as the IPv4 address. Numeric host forms (``2130706433``,
  ``0177.0.0.1``) resolve like any name, so the resolved address is what is judged.
* The connection goes to the address that was checked (no second resolution: no DNS
  rebinding); ``Host`` and TLS SNI / certificate checks keep the name.
* https only (http too in dev, when the issuer itself is http, or to an address in
  :attr:`FetchRules.http_allow`, policy key ``oxauth_fetch_http``), no redirects, no proxy
  from the environment, 2 s to connect and 5 s for the whole exchange, the body streamed
  (identity encoding only) and abandoned as soon as it passes 256 KiB.
* :attr:`FetchRules.allow` (CIDRs, policy key ``oxauth_fetch_allow``) lets an operator
  open private networks (a lab); the deny set always wins.
* TLS trust: the public CAs (certifi's, as httpx), plus the certificates of the policy key
  ``oxauth_fetch_ca`` (:meth:`Outbound.trust`: a partner's private CA).
* ``dev`` (``oxswarm run oxauth --dev``, which ``oxswarm dev up`` uses) allows loopback
  and http.

A refusal or failure raises :class:`FetchError`, whose text is for the log only (it names
the address and the reason); callers answer a generic error.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final
from urllib.parse import urlsplit

import certifi
import httpx

from oxswarm.oxauth.addressing import Address, Network

MAX_BYTES: Final = 256 * 1024
CONNECT_TIMEOUT: Final = 2.0
TOTAL_TIMEOUT: Final = 5.0

_CGNAT: Final = ipaddress.ip_network("100.64.0.0/10")
_NAT64: Final = ipaddress.ip_network("64:ff9b::/96")


class FetchError(Exception):
    """A fetch refused or failed; the message (address, reason) is for the log only."""


@dataclass(frozen=True, slots=True)
class FetchRules:
    allow: tuple[Network, ...] = ()
    deny: tuple[Network, ...] = ()
    dev: bool = False  # loopback and http allowed
    plain_http: bool = False  # http allowed (an http issuer: a test or dev set-up)
    http_allow: tuple[Network, ...] = ()  # http allowed to these (oxauth_fetch_http)


def _embedded_v4(ip: Address) -> ipaddress.IPv4Address | None:
    if not isinstance(ip, ipaddress.IPv6Address):
        return None
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def _within(ip: Address, nets: tuple[Network, ...]) -> bool:
    return any(ip.version == n.version and ip in n for n in nets)


def special_range(ip: Address) -> str | None:
    """Why ``ip`` is not a public unicast address, or None when it is."""
    inner = _embedded_v4(ip)
    if inner is not None:
        reason = special_range(inner)
        return f"{reason} (embedded in {ip})" if reason else None
    checks = (
        (ip.is_loopback, "loopback"),
        (ip.is_unspecified, "unspecified"),
        (ip.is_link_local, "link-local"),
        (ip.is_multicast, "multicast"),
        (isinstance(ip, ipaddress.IPv4Address) and ip in _CGNAT, "shared address space (CGNAT)"),
        (ip.is_reserved, "reserved"),
        (ip.is_private, "private"),
        (not ip.is_global, "not globally routable"),
    )
    for hit, reason in checks:
        if hit:
            return reason
    return None


def refusal(ip: Address, rules: FetchRules) -> str | None:
    """Why a fetch may not go to ``ip`` under ``rules``, or None when it may."""
    inner = _embedded_v4(ip) or ip
    if _within(ip, rules.deny) or _within(inner, rules.deny):
        return "one of the cluster's own addresses"
    if _within(ip, rules.allow) or _within(inner, rules.allow):
        return None
    if rules.dev and inner.is_loopback:
        return None
    return special_range(ip)


@dataclass(frozen=True, slots=True)
class Target:
    url: str  # with the checked address in place of the name
    host: str  # the name, for Host and SNI
    host_header: str
    https: bool


async def resolve(host: str, port: int) -> list[Address]:
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise FetchError(f"{host}: does not resolve ({exc})") from None
    found: list[Address] = []
    for info in infos:
        ip = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
        if ip not in found:
            found.append(ip)
    if not found:
        raise FetchError(f"{host}: no address")
    return found


async def checked_target(url: str, rules: FetchRules) -> Target:
    """The URL pinned to a resolved address that ``rules`` allow; :class:`FetchError`
    naming the address and the reason otherwise."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise FetchError(f"{url!r}: not a URL ({exc})") from None
    scheme = parts.scheme.lower()
    http_anywhere = rules.dev or rules.plain_http
    if scheme != "https" and not (scheme == "http" and (http_anywhere or rules.http_allow)):
        raise FetchError(f"{url!r}: only https is fetched")
    host = parts.hostname
    if not host or parts.username is not None or parts.password is not None:
        raise FetchError(f"{url!r}: no host, or credentials in the URL")
    port = port or (443 if scheme == "https" else 80)
    addresses = await resolve(host, port)
    for ip in addresses:
        reason = refusal(ip, rules)
        if reason:
            raise FetchError(f"{host} resolves to {ip}: {reason}")
        if scheme == "http" and not http_anywhere and not _within(_embedded_v4(ip) or ip,
                                                                   rules.http_allow):
            raise FetchError(f"{url!r}: only https is fetched ({ip} is not in "
                             "oxauth_fetch_http)")
    ip = addresses[0]
    literal = f"[{ip}]" if ip.version == 6 else str(ip)
    default = (scheme == "https" and port == 443) or (scheme == "http" and port == 80)
    host_header = host if default else f"{host}:{port}"
    if ":" in host:
        host_header = f"[{host}]" if default else f"[{host}]:{port}"
    path = parts.path or "/"
    pinned = f"{scheme}://{literal}:{port}{path}" + (f"?{parts.query}" if parts.query else "")
    return Target(pinned, host, host_header, scheme == "https")


class Outbound:
    """The guarded HTTP client of one process; :attr:`rules` is replaced live. ``verify``:
    the TLS trust (the system's CAs by default)."""

    def __init__(
        self,
        rules: FetchRules | None = None,
        *,
        max_bytes: int = MAX_BYTES,
        connect_timeout: float = CONNECT_TIMEOUT,
        total_timeout: float = TOTAL_TIMEOUT,
        verify: ssl.SSLContext | bool = True,
    ) -> None:
        self.rules = rules or FetchRules()
        self.max_bytes = max_bytes
        self.total_timeout = total_timeout
        self._timeout = httpx.Timeout(total_timeout, connect=connect_timeout)
        self._verify = verify
        self._extra_ca = ""
        self._client = self._new_client(verify)

    def _new_client(self, verify: ssl.SSLContext | bool) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            timeout=self._timeout, follow_redirects=False, trust_env=False, verify=verify,
            limits=httpx.Limits(max_keepalive_connections=0),  # no reuse across SNI names
        )

    def trust(self, extra_ca: str) -> None:
        """Trust the PEM certificates ``extra_ca`` besides the public CAs (policy
        ``oxauth_fetch_ca``, checked by :func:`oxswarm.oxauth.policy.fetch_ca`); ``""``:
        the public CAs only. Requests under way finish on the client they began on (no
        connection is kept between requests). Nothing changes for an instance built with
        its own ``verify`` (tests)."""
        if extra_ca == self._extra_ca or self._verify is not True:
            return
        context = ssl.create_default_context(cafile=certifi.where())
        if extra_ca:
            context.load_verify_locations(cadata=extra_ca)
        self._extra_ca = extra_ca
        self._client = self._new_client(context)

    async def _exchange(
        self, method: str, url: str, headers: Mapping[str, str], data: Mapping[str, str] | None
    ) -> tuple[int, bytes]:
        target = await checked_target(url, self.rules)
        extensions = {"sni_hostname": target.host} if target.https else {}
        request = self._client.build_request(
            method, target.url, data=data, extensions=extensions,
            headers={**headers, "Host": target.host_header, "Accept-Encoding": "identity"},
        )
        response = await self._client.send(request, stream=True)
        try:
            encoding = response.headers.get("content-encoding", "identity").lower()
            if encoding != "identity":
                raise FetchError(f"{target.host}: answered in {encoding}, not identity")
            body = bytearray()
            async for chunk in response.aiter_raw():
                body += chunk
                if len(body) > self.max_bytes:
                    raise FetchError(f"{target.host}: body larger than {self.max_bytes} bytes")
            return response.status_code, bytes(body)
        finally:
            await response.aclose()

    async def request(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        data: Mapping[str, str] | None = None,
    ) -> tuple[int, bytes]:
        """(status, body) of one exchange within the limits; :class:`FetchError` else."""
        try:
            async with asyncio.timeout(self.total_timeout):
                return await self._exchange(method, url, headers or {}, data)
        except TimeoutError:
            raise FetchError(f"{url}: no answer within {self.total_timeout} s") from None
        except httpx.HTTPError as exc:
            raise FetchError(f"{url}: {type(exc).__name__}: {exc}") from None

    async def get_json_bytes(self, url: str) -> bytes:
        """The body of a 200 answer to GET ``url`` (``Accept: application/json``)."""
        status, body = await self.request("GET", url, headers={"Accept": "application/json"})
        if status != 200:
            raise FetchError(f"{url}: HTTP {status}")
        return body

    async def close(self) -> None:
        await self._client.aclose()
