"""``oxswarm dev up|down`` on real daemons, and the admin commands pointed at the result."""

from __future__ import annotations

import getpass
import json
import os
import signal
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner

from oxswarm.cli.main import cli
from oxswarm.local.dev import _pid_files, _read_pid
from oxswarm.local.process import pid_alive, wait_until

pytestmark = pytest.mark.integration


def run(*args: str, env: dict[str, str] | None = None, stdin: str | None = None) -> Any:
    result = CliRunner().invoke(cli, list(args), env=env, input=stdin)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def check_saml(info: dict[str, Any], tmp_path: Path) -> None:
    from tests.oxshibboleth.sp import ServiceProvider, form_fields

    assert info["oxshibboleth_pid"] and info["idp_metadata_url"].endswith("/idp/shibboleth")
    metadata = httpx.get(info["idp_metadata_url"])
    assert f'entityID="{info["idp_metadata_url"]}"' in metadata.text
    sp = ServiceProvider("https://sp.dev.test/sp", tmp_path / "sp", metadata.text)
    (tmp_path / "sp" / "md.xml").write_text(sp.metadata)
    added = run("saml", "trust", "add", "--metadata", str(tmp_path / "sp" / "md.xml"),
                "--json", env=info["env"])
    assert added["entity_id"] == sp.entity_id
    password = Path(info["admin_password_file"]).read_text().strip()
    with httpx.Client(follow_redirects=True, trust_env=False) as browser:
        page = browser.get(sp.redirect_request()[1])
        assert 'id="password"' in page.text
        fields = {**form_fields(page.text), "username": "admin", "password": password}
        done = browser.post(str(page.url.copy_with(path="/oxauth/login", query=None)),
                            data=fields)
    assert sp.accept(form_fields(done.text)["SAMLResponse"]).ava["uid"] == ["admin"]


def test_dev_up_down(tmp_path: Path) -> None:
    root = tmp_path / "dev"
    began = time.monotonic()
    info = run("dev", "up", "--dir", str(root), "--json")
    elapsed = time.monotonic() - began
    print(f"dev up took {elapsed:.1f}s")
    pids = [_read_pid(p) for p in _pid_files(root)]
    try:
        for key in ("issuer", "store", "cluster", "master_key_file", "client"):
            assert info[key]
        assert info["already_up"] is False
        assert (root / "admin-password").stat().st_mode & 0o777 == 0o600
        assert (root / "dev.json").stat().st_mode & 0o777 == 0o600
        doc = httpx.get(info["issuer"] + "/.well-known/openid-configuration").json()
        assert doc["issuer"] == info["issuer"]
        assert info["client"]["client_secret"]
        # dev keeps registration open (a cluster's default is token)
        opened = httpx.post(info["issuer"] + "/oxauth/restv1/register",
                            json={"redirect_uris": ["https://app.example/cb"]})
        assert opened.status_code == 201, opened.text
        # oxTrust too: its root ends in /identity; the admin API's document is served
        assert info["identity_url"].endswith("/identity") and info["oxtrust_pid"]
        assert httpx.get(info["identity_url"] + "/health").status_code == 200
        api_doc = httpx.get(info["identity_url"] + "/restv1/api/v1/openapi.json").json()
        assert "/people" in api_doc["paths"]
        # the admin UI sends the browser to this oxAuth's sign-in (its redirect URI allowed)
        with httpx.Client(follow_redirects=True, trust_env=False) as browser:
            signin = browser.get(info["identity_url"])
        assert signin.url.path.startswith("/oxauth/") and 'id="password"' in signin.text

        # the SAML IdP too: metadata at its entityID; an SP added through the CLI signs the
        # admin in through this oxAuth (the IdP on its own read-only store certificate)
        check_saml(info, tmp_path)

        again = run("dev", "up", "--dir", str(root), "--json")
        assert again["already_up"] is True
        assert again["issuer"] == info["issuer"]

        # the `env` object points every command at the stack (as `oxswarm env` does)
        env = info["env"]
        assert env == {
            "OXSWARM_STORE": info["store"],
            "OXSWARM_CLUSTER": info["cluster"],
            "OXSWARM_MASTER_KEY_FILE": info["master_key_file"],
            "OXSWARM_STORE_CA_FILE": info["store_ca_file"],
            "OXSWARM_STORE_CERT_FILE": info["store_cert_file"],
            "OXSWARM_STORE_KEY_FILE": info["store_key_file"],
            "OXSWARM_LDAP_URLS": info["ldap"],
        }
        assert info["store"].startswith("etcd+https://")  # closed as in the cluster
        closed = CliRunner().invoke(cli, ["config", "show"], env={
            **env, "OXSWARM_STORE_CERT_FILE": "", "OXSWARM_STORE_KEY_FILE": ""})
        assert closed.exit_code == 1 and "requires a client certificate" in closed.output
        added = run(
            "clients",
            "add",
            "--name",
            "cli test",
            "--redirect-uri",
            "https://app.example/cb",
            "--access-token-format",
            "jwt",
            env=env,
        )
        assert added["client_secret"]
        listed = run("clients", "list", env=env)
        assert added["client_id"] in {c["client_id"] for c in listed}
        assert all("client_secret" not in c for c in listed)
        shown = run("clients", "show", added["client_id"], env=env)
        assert shown["access_token_format"] == "jwt"
        run("clients", "remove", added["client_id"], env=env)
        gone = CliRunner().invoke(cli, ["clients", "show", added["client_id"]], env=env)
        assert gone.exit_code == 1

        user = run(
            "users",
            "add",
            "--username",
            "carol",
            "--password-stdin",
            "--email",
            "carol@example.org",
            "--given-name",
            "Carol",
            "--family-name",
            "Danvers",
            env=env,
            stdin="carol-pass-1\n",
        )
        assert user["username"] == "carol"
        dup = CliRunner().invoke(
            cli,
            ["users", "add", "--username", "carol", "--password-stdin"],
            env=env,
            input="carol-pass-2\n",
        )
        assert dup.exit_code == 1 and "already exists" in dup.output
        run("users", "passwd", "--username", "carol", "--password-stdin", env=env,
            stdin="carol-pass-2\n")
        assert "carol" in {u["username"] for u in run("users", "list", env=env)}
        run("users", "remove", "--username", "carol", env=env)
        assert "carol" not in {u["username"] for u in run("users", "list", env=env)}
        # every change above is in the audit log, newest first, by cli:<OS user>
        logged = run("audit", "list", "--limit", "7", "--json", env=env)["items"]
        assert [e["action"] for e in logged] == [
            "person.delete", "person.password", "person.create",
            "client.delete", "client.create", "saml_trust.create",
        ]
        assert {e["actor"] for e in logged} == {f"cli:{getpass.getuser()}"}
        assert "carol-pass" not in json.dumps(logged)

        # a crash: oxAuth dies; the next `dev up` cleans up and starts afresh
        os.kill(info["oxauth_pid"], signal.SIGKILL)
        wait_until(lambda: not pid_alive(info["oxauth_pid"]), 10, "oxauth to die")
        restarted = run("dev", "up", "--dir", str(root), "--json")
        assert restarted["already_up"] is False
        assert httpx.get(restarted["issuer"] + "/oxauth/health").status_code == 200
        pids = [_read_pid(p) for p in _pid_files(root)]
        assert all(p is not None and pid_alive(p) for p in pids)
        assert not any(p is not None and pid_alive(p) for p in [info["oxauth_pid"]])
    finally:
        result = CliRunner().invoke(cli, ["dev", "down", "--dir", str(root)])
    assert result.exit_code == 0
    assert not (root / "dev.json").exists()
    assert not any(p is not None and pid_alive(p) for p in pids)
    assert _pid_files(root) == []


def test_printed_commands_work(tmp_path: Path) -> None:
    """What ``dev up`` prints is what a developer pastes: run those very curl lines."""
    import shlex
    import subprocess
    import sys

    root = tmp_path / "try"
    up = subprocess.run(
        [sys.executable, "-m", "oxswarm", "dev", "up", "--dir", str(root)],
        capture_output=True, text=True, timeout=180, check=False,
    )
    try:
        assert up.returncode == 0, up.stderr
        printed = [line.strip() for line in up.stdout.splitlines()]
        lines = [line for line in printed if line.startswith("curl ")]
        assert len(lines) == 2, up.stdout
        outputs = []
        for line in lines:
            done = subprocess.run(
                shlex.split(line), capture_output=True, text=True, timeout=30, check=False
            )
            assert done.returncode == 0, (line, done.stderr)
            outputs.append(json.loads(done.stdout))
        discovery, token = outputs
        issuer = next(ln.split()[-1] for ln in up.stdout.splitlines() if ln.startswith("issuer:"))
        assert discovery["issuer"] == issuer
        assert token.get("token_type") == "Bearer" and token["access_token"], token
        assert token["expires_in"] > 0
        # the printed /metrics of oxAuth and oxTrust answer, and counted that token
        urls = next(ln for ln in printed if ln.startswith("metrics:")).split()[1:]
        assert len(urls) == 2 and all(u.endswith("/metrics") for u in urls), urls
        for url in urls:
            text = httpx.get(url, timeout=10, trust_env=False).text
            assert "oxswarm_http_requests_total" in text, url
        assert 'oxswarm_tokens_issued_total{grant_type="client_credentials"} 1.0' in (
            httpx.get(urls[0], timeout=10, trust_env=False).text)
    finally:
        subprocess.run(
            [sys.executable, "-m", "oxswarm", "dev", "down", "--dir", str(root)],
            capture_output=True, timeout=120, check=False,
        )
