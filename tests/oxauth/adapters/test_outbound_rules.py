"""Which addresses a server-side fetch may reach (unit tests of the rules)."""

from __future__ import annotations

import asyncio
import ipaddress

import pytest

from oxswarm.oxauth.adapters.outbound import FetchError, FetchRules, checked_target, refusal
from oxswarm.oxauth.addressing import parse_networks

STRICT = FetchRules()


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("127.0.0.1", "loopback"),
        ("127.255.0.9", "loopback"),
        ("::1", "loopback"),
        ("10.1.2.3", "private"),
        ("172.16.0.1", "private"),
        ("172.31.255.254", "private"),
        ("192.168.0.1", "private"),
        ("fc00::1", "private"),
        ("fd12:3456::1", "private"),
        ("169.254.169.254", "link-local"),
        ("fe80::1", "link-local"),
        ("0.0.0.0", "unspecified"),  # noqa: S104
        ("::", "unspecified"),
        ("224.0.0.1", "multicast"),
        ("239.1.2.3", "multicast"),
        ("ff02::1", "multicast"),
        ("240.0.0.1", "reserved"),
        ("255.255.255.255", "reserved"),
        ("100.64.0.1", "CGNAT"),
        ("100.127.255.254", "CGNAT"),
        ("192.0.2.1", "private"),  # documentation (TEST-NET-1)
        ("::ffff:127.0.0.1", "loopback"),
        ("::ffff:10.0.0.1", "private"),
        ("2002:7f00:1::", "loopback"),  # 6to4 of 127.0.0.1
        ("64:ff9b::a9fe:a9fe", "link-local"),  # NAT64 of 169.254.169.254
    ],
)
def test_special_ranges_are_refused(address: str, reason: str) -> None:
    found = refusal(ipaddress.ip_address(address), STRICT)
    assert found is not None and reason in found


@pytest.mark.parametrize("address", ["8.8.8.8", "93.184.215.14", "2606:4700::1", "100.128.0.1"])
def test_public_addresses_pass(address: str) -> None:
    assert refusal(ipaddress.ip_address(address), STRICT) is None


def test_allow_list_opens_a_private_network_but_not_loopback() -> None:
    rules = FetchRules(allow=parse_networks("10.213.0.0/16", "allow"))
    assert refusal(ipaddress.ip_address("10.213.5.9"), rules) is None
    assert refusal(ipaddress.ip_address("10.214.5.9"), rules) == "private"
    assert refusal(ipaddress.ip_address("127.0.0.1"), rules) == "loopback"


def test_deny_wins_over_allow_and_public() -> None:
    rules = FetchRules(
        allow=parse_networks("10.0.0.0/8", "a"), deny=parse_networks("10.216.0.0/16, 8.8.8.8", "d")
    )
    own = "one of the cluster's own addresses"
    assert refusal(ipaddress.ip_address("10.216.0.3"), rules) == own
    assert refusal(ipaddress.ip_address("8.8.8.8"), rules) == own
    assert refusal(ipaddress.ip_address("::ffff:8.8.8.8"), rules) is not None


def test_dev_allows_loopback_only() -> None:
    dev = FetchRules(dev=True)
    assert refusal(ipaddress.ip_address("127.0.0.1"), dev) is None
    assert refusal(ipaddress.ip_address("::1"), dev) is None
    assert refusal(ipaddress.ip_address("::ffff:127.0.0.1"), dev) is None
    assert refusal(ipaddress.ip_address("192.168.1.1"), dev) == "private"


def target_error(url: str, rules: FetchRules = STRICT) -> str:
    with pytest.raises(FetchError) as caught:
        asyncio.run(checked_target(url, rules))
    return str(caught.value)


@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.1/jwks",
        "https://2130706433/jwks",  # decimal form of 127.0.0.1
        "https://0177.0.0.1/jwks",  # octal form
        "https://0x7f.1/jwks",  # hexadecimal, short form
        "https://[::1]/jwks",
        "https://[::ffff:127.0.0.1]/jwks",
        "https://localhost/jwks",  # a name resolving to loopback
        "https://169.254.169.254/latest/meta-data/",
    ],
)
def test_urls_resolving_to_special_ranges_are_refused(url: str) -> None:
    message = target_error(url)
    assert "resolves to" in message


def test_https_only_outside_dev() -> None:
    assert "only https" in target_error("http://93.184.215.14/x")
    assert "only https" in target_error("ftp://93.184.215.14/x", FetchRules(dev=True))
    assert "credentials" in target_error("https://u:p@93.184.215.14/x")


def test_pinned_url_keeps_the_name_for_host_and_sni() -> None:
    target = asyncio.run(checked_target("https://93.184.215.14:8443/a?b=c", STRICT))
    assert target.url == "https://93.184.215.14:8443/a?b=c"
    dev = asyncio.run(checked_target("http://localhost:8080/p", FetchRules(dev=True)))
    assert dev.url in ("http://127.0.0.1:8080/p", "http://[::1]:8080/p")
    assert (dev.host, dev.host_header, dev.https) == ("localhost", "localhost:8080", False)
