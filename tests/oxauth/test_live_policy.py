"""A policy change in the store reaches a running oxAuth process within seconds; a
malformed value is refused and the process keeps the policy it has."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from oxswarm.config import keys as K
from oxswarm.local.process import wait_until
from oxswarm.local.stack import Stack

from .conftest import Server

pytestmark = pytest.mark.integration

META = {"redirect_uris": ["https://rp.example/cb"], "client_name": "live-policy"}


def register_status(server: Server) -> int:
    with server.client() as http:
        return http.post("/oxauth/restv1/register", json=META).status_code


def test_registration_follows_the_store(stack: Stack,
                                        oxauth_servers: Callable[..., Server]) -> None:
    server = oxauth_servers()
    manager = stack.manager()
    before = manager.get(K.OXAUTH_REGISTRATION)
    try:
        assert register_status(server) == 201
        manager.set(K.OXAUTH_REGISTRATION, "off")
        began = time.monotonic()
        wait_until(lambda: register_status(server) == 403, 20, "registration switched off")
        took = time.monotonic() - began
        with server.client() as http:
            doc = http.get("/.well-known/openid-configuration").json()
        assert "registration_endpoint" not in doc
        manager.set(K.OXAUTH_REGISTRATION, "restricted")  # malformed: refused, kept "off"
        time.sleep(7)
        assert register_status(server) == 403
        assert "oxauth_registration" in server.daemon.tail(40)
        manager.set(K.OXAUTH_REGISTRATION, "open")
        wait_until(lambda: register_status(server) == 201, 20, "registration open again")
    finally:
        manager.set(K.OXAUTH_REGISTRATION, before or "open")
        manager.store.close()
    print(f"registration switched off {took:.2f}s after the store changed")
