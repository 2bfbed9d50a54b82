"""Back-channel logout goes through the guarded outbound client: on an oxAuth without
``--dev``, a ``backchannel_logout_uri`` on loopback is not POSTed to (the logout itself
succeeds) and the refusal is logged with the address and the reason."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import pytest
from tests.oxauth.conftest import DirectoryTools, Server
from tests.oxauth.web.conftest import ISSUER, Browser, LogoutReceiver, World, query

from oxswarm.local.stack import Stack

pytestmark = pytest.mark.integration

END = "/oxauth/restv1/end_session"


@pytest.fixture(scope="module")
def strict(oxauth_servers: Callable[..., Server]) -> Server:
    return oxauth_servers(issuer=ISSUER)  # no --dev: loopback is not fetched


@pytest.fixture
def strict_browser(strict: Server) -> Iterator[Browser]:
    agent = Browser([strict])
    yield agent
    agent.close()


def test_back_channel_logout_to_loopback_is_not_sent(
    strict: Server, strict_browser: Browser, directory_tools: DirectoryTools, stack: Stack
) -> None:
    world = World(directory_tools, stack, [strict])
    with LogoutReceiver(strict.url + "/oxauth/restv1/jwks", ISSUER) as receiver:
        client = world.client(backchannel_logout_uri=receiver.uri("/bc/private"))
        receiver.audiences.add(client.client_id)
        done = strict_browser.signed_in(client, world.person())
        tokens = world.redeem(client, query(done)["code"][0])
        r = strict_browser.get(END, params={"id_token_hint": tokens["id_token"]})
        assert r.status_code == 200
        deadline = time.monotonic() + 10
        needle = f"back-channel logout to client {client.client_id} not sent"
        while needle not in strict.daemon.tail(200):
            assert time.monotonic() < deadline, strict.daemon.tail(20)
            time.sleep(0.2)
        assert "127.0.0.1: loopback" in strict.daemon.tail(200)
        assert receiver.wait(1, timeout=1.0) == []
