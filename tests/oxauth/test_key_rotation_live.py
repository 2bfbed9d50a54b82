"""A running oxAuth follows ``oxswarm keys rotate`` through its store watch, without restart.

The new key shows up at the jwks endpoint first; tokens are signed by the old key until
the propagation delay has passed, then by the new one, which relying parties already
hold from the JWKS they fetched before it signed anything.
"""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import time
from collections.abc import Callable

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import KeySet
from tests.oxauth.conftest import DirectoryTools, Server

from oxswarm.local.process import wait_until
from oxswarm.local.stack import Stack

pytestmark = pytest.mark.integration

DELAY = 6


def signed_token(http: httpx.Client, auth: tuple[str, str]) -> str:
    resp = http.post("/oxauth/restv1/token", data={"grant_type": "client_credentials"}, auth=auth)
    assert resp.status_code == 200, resp.text
    token: str = resp.json()["access_token"]
    return token


def kid_of(token: str) -> str:
    header = json.loads(base64.urlsafe_b64decode(token.split(".", maxsplit=1)[0] + "=="))
    kid: str = header["kid"]
    return kid


def test_rotation_is_picked_up_without_restart(
    stack: Stack, oxauth_servers: Callable[..., Server], directory_tools: DirectoryTools
) -> None:
    server = oxauth_servers()
    pid = server.daemon.pid
    client = directory_tools.add_client(access_token_format="jwt", scopes=["read"])
    auth = (client.client_id, client.client_secret)
    with server.client() as http:
        old_kid = kid_of(signed_token(http, auth))
        before = {k["kid"] for k in http.get("/oxauth/restv1/jwks").json()["keys"]}
        started_at = time.time()  # the new keys' nbf is at least started_at + DELAY
        rotated = subprocess.run(
            [sys.executable, "-m", "oxswarm", "keys", "rotate", "--store", stack.store_url,
             "--cluster", stack.cluster, "--master-key-file", str(stack.master_key_file),
             "--propagation-delay", str(DELAY)],
            capture_output=True, text=True, check=True,
        )
        added = set(json.loads(rotated.stdout)["added"])
        assert added and added.isdisjoint(before)

        published: dict[str, KeySet] = {}

        def new_keys_published() -> bool:
            keys = http.get("/oxauth/restv1/jwks").json()
            if added <= {k["kid"] for k in keys["keys"]}:
                published["jwks"] = KeySet.import_key_set(keys)
                return True
            return False

        wait_until(new_keys_published, 20, "the new keys at the jwks endpoint")
        if time.time() < started_at + DELAY - 1:
            assert kid_of(signed_token(http, auth)) == old_kid  # published, not yet signing

        signed: dict[str, str] = {}

        def signs_with_new_key() -> bool:
            token = signed_token(http, auth)
            signed["token"] = token
            return kid_of(token) in added

        wait_until(signs_with_new_key, DELAY + 30, "tokens signed by the new key", interval=0.5)
        assert time.time() >= started_at + DELAY
        claims = jwt.decode(signed["token"], published["jwks"]).claims  # JWKS fetched before
        assert claims["client_id"] == client.client_id
        assert old_kid in {k["kid"] for k in http.get("/oxauth/restv1/jwks").json()["keys"]}
    assert server.daemon.pid == pid and server.daemon.running()
