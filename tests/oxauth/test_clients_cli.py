"""``oxswarm clients add|update|registration-token`` against the real directory: the
administrator's flags, updates that change only what is given, and the same metadata
rules as registration."""

from __future__ import annotations

import json
from typing import Any

import pytest
from click.testing import CliRunner

from oxswarm.cli.main import cli
from oxswarm.directory.clients import ClientRepository
from oxswarm.directory.registration_tokens import RegistrationTokenRepository
from oxswarm.local.stack import Stack
from oxswarm.oauth.tokens import token_hash

pytestmark = pytest.mark.integration


def env(stack: Stack) -> dict[str, str]:
    return {
        "OXSWARM_STORE": stack.store_url,
        "OXSWARM_CLUSTER": stack.cluster,
        "OXSWARM_MASTER_KEY_FILE": str(stack.master_key_file),
        "OXSWARM_LDAP_URLS": ",".join(stack.ldap_urls),
    }


def run(stack: Stack, *args: str, code: int = 0) -> Any:
    result = CliRunner().invoke(cli, list(args), env=env(stack))
    assert result.exit_code == code, result.output
    return json.loads(result.stdout) if code == 0 else result.output


def test_add_and_update_flags(stack: Stack) -> None:
    added = run(stack, "clients", "add", "--name", "portal", "--redirect-uri",
                "https://portal.example/cb", "--trusted")
    assert added["trusted"] is True and added["resource_server"] is False
    cid = added["client_id"]
    with stack.directory() as directory:
        stored = ClientRepository(directory, stack.box()).get(cid)
    assert stored.trusted and not stored.resource_server

    changed = run(stack, "clients", "update", cid, "--no-trusted", "--resource-server",
                  "--redirect-uri", "https://portal.example/cb2",
                  "--frontchannel-logout-uri", "https://portal.example/fc")
    assert changed["trusted"] is False and changed["resource_server"] is True
    assert changed["redirect_uris"] == ["https://portal.example/cb2"]
    assert "client_secret" not in changed  # unchanged secret is not shown again
    shown = run(stack, "clients", "show", cid, "--show-secret")
    assert shown["client_name"] == "portal" and shown["scope"] == "openid profile email"
    assert shown["client_secret"] == added["client_secret"]
    assert shown["frontchannel_logout_uri"] == "https://portal.example/fc"

    # only what is given changes; an empty value clears a URI
    again = run(stack, "clients", "update", cid, "--name", "Portal 2",
                "--frontchannel-logout-uri", "")
    assert again["client_name"] == "Portal 2" and again["resource_server"] is True
    assert again["redirect_uris"] == ["https://portal.example/cb2"]
    assert "frontchannel_logout_uri" not in again

    # the rules that relate fields are checked with the stored client: nothing written
    out = run(stack, "clients", "update", cid, "--grant-type", "implicit",
              "--grant-type", "client_credentials", "--auth-method", "none", code=2)
    assert out.startswith("error: grant-type:") and len(out.strip().splitlines()) == 1
    assert run(stack, "clients", "show", cid)["token_endpoint_auth_method"] == (
        "client_secret_basic")

    # becoming public drops the secret; a native client may use a private-use scheme
    native = run(stack, "clients", "update", cid, "--auth-method", "none",
                 "--application-type", "native", "--redirect-uri", "com.example.portal:/cb")
    assert native["redirect_uris"] == ["com.example.portal:/cb"]
    assert native["application_type"] == "native"
    assert "client_secret" not in run(stack, "clients", "show", cid, "--show-secret")

    missing = CliRunner().invoke(cli, ["clients", "update", "no-such-client", "--name", "x"],
                                 env=env(stack))
    assert missing.exit_code == 1 and missing.output.startswith("error:")


def test_registration_token_output(stack: Stack) -> None:
    result = CliRunner().invoke(cli, ["clients", "registration-token", "--ttl", "120"],
                                env=env(stack))
    assert result.exit_code == 0, result.output
    token = result.stdout.strip()
    assert len(token) >= 43 and "\n" not in token
    with stack.directory() as directory:
        state = RegistrationTokenRepository(directory).state(token_hash(token))
    assert state is not None and state.uses == 1
    issued = run(stack, "clients", "registration-token", "--json", "--uses", "5")
    assert issued["uses"] == 5 and issued["expires_at"].endswith("+00:00")
