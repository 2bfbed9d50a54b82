"""The client address through a chain of trusted proxies: the rightmost untrusted hop."""

from __future__ import annotations

import pytest

from oxswarm.errors import InvalidInput
from oxswarm.oxauth.addressing import LEGACY_TRUSTED, client_address, parse_networks

LB_AND_OVERLAY = parse_networks("10.216.0.0/16, 10.213.7.2", "proxies")


def test_no_trusted_proxy_means_the_peer() -> None:
    assert client_address("198.51.100.7", "203.0.113.9", ()) == "198.51.100.7"


def test_peer_not_trusted_ignores_the_header() -> None:
    assert client_address("198.51.100.7", "203.0.113.9", LB_AND_OVERLAY) == "198.51.100.7"


def test_lb_then_node_nginx() -> None:
    # client -> LB (10.213.7.2) -> node NGINX (overlay 10.216.1.5) -> oxAuth
    chain = "203.0.113.9, 10.213.7.2"
    assert client_address("10.216.1.5", chain, LB_AND_OVERLAY) == "203.0.113.9"


def test_forged_leftmost_entries_do_not_count() -> None:
    chain = "127.0.0.1, 1.2.3.4, 203.0.113.9, 10.213.7.2"
    assert client_address("10.216.1.5", chain, LB_AND_OVERLAY) == "203.0.113.9"


def test_node_nginx_with_real_ip_repeats_the_client() -> None:
    # NGINX's realip module rewrites $remote_addr, so the node appends the client again
    chain = "6.6.6.6, 203.0.113.9, 203.0.113.9"
    assert client_address("10.216.1.5", chain, LB_AND_OVERLAY) == "203.0.113.9"


def test_garbage_where_a_proxy_should_have_written_stops_at_the_proxy() -> None:
    assert client_address("10.216.1.5", "203.0.113.9, bogus", LB_AND_OVERLAY) == "10.216.1.5"


def test_all_trusted_gives_the_leftmost() -> None:
    assert client_address("10.216.1.5", "10.216.1.6", LB_AND_OVERLAY) == "10.216.1.6"


def test_ports_brackets_and_mapped_v6() -> None:
    trusted = parse_networks("127.0.0.1", "p")
    assert client_address("127.0.0.1", "203.0.113.9:4711", trusted) == "203.0.113.9"
    assert client_address("127.0.0.1", "[2001:db8::1]:443", trusted) == "2001:db8::1"
    assert client_address("::ffff:127.0.0.1", "203.0.113.9", trusted) == "203.0.113.9"


def test_no_peer_is_unknown() -> None:
    assert client_address(None, "203.0.113.9", LEGACY_TRUSTED) == "unknown"


def test_legacy_trusts_loopback_and_private() -> None:
    assert client_address("127.0.0.1", "8.8.8.8, 192.168.1.1", LEGACY_TRUSTED) == "8.8.8.8"


@pytest.mark.parametrize("raw", ["10.0.0.0/33", "nope", '["10.0.0.0/8", 1]', "[oops"])
def test_malformed_networks_are_named(raw: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_networks(raw, "oxauth_trusted_proxies")
    assert caught.value.field == "oxauth_trusted_proxies"
