"""``oxauth_fetch_http``: the networks oxAuth's server-side fetches may reach over plain
http outside dev (an upstream provider on loopback, a partner's lab without TLS), read
from the policy like every value and still under the address rules (a real http server on
loopback)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from http.server import ThreadingHTTPServer

import pytest
from tests.oxauth.test_fetch_ca import _Answer

from oxswarm.config import keys as K
from oxswarm.errors import InvalidInput
from oxswarm.oxauth.adapters.outbound import FetchError, Outbound
from oxswarm.oxauth.policy import FETCH_HTTP, read_policy


@pytest.fixture
def plain_site() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Answer)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/.well-known/openid-configuration"
    finally:
        server.shutdown()
        server.server_close()


def fetched(url: str, **values: str) -> str:
    policy = read_policy({K.OXAUTH_FETCH_ALLOW: "", **values}.get)

    async def run() -> str:
        outbound = Outbound(policy.fetch_rules())
        try:
            return (await outbound.get_json_bytes(url)).decode()
        except FetchError as exc:
            return f"refused: {exc}"
        finally:
            await outbound.close()

    return asyncio.run(run())


def test_plain_http_only_to_the_listed_networks(plain_site: str) -> None:
    loopback = {K.OXAUTH_FETCH_ALLOW: "127.0.0.0/8"}
    assert "only https" in fetched(plain_site, **loopback)
    assert "only https" in fetched(plain_site, **loopback, **{FETCH_HTTP: "10.0.0.0/8"})
    assert fetched(plain_site, **loopback, **{FETCH_HTTP: "127.0.0.1/32"}) == '{"ok": true}'
    # listed for http, but loopback itself is still closed without oxauth_fetch_allow
    refused = fetched(plain_site, **{FETCH_HTTP: "127.0.0.1"})
    assert refused.startswith("refused") and "loopback" in refused


def test_a_bad_value_is_named() -> None:
    with pytest.raises(InvalidInput) as caught:
        read_policy({FETCH_HTTP: "not-a-network"}.get)
    assert FETCH_HTTP in str(caught.value)
