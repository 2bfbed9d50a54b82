"""The stack renderer against a golden file (regenerate: OXSWARM_UPDATE_GOLDEN=1 pytest ...)."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import threading
from pathlib import Path

import pytest

from oxswarm.deploy.render.stack import _liveness, ldap_urls, render_stack, stack_text
from oxswarm.deploy.spec import ClusterSpec, lab_spec
from oxswarm.local.process import free_port

GOLDEN = Path(__file__).parent.parent / "golden"


def spec3() -> ClusterSpec:
    return lab_spec(nodes=3, state_dir="/var/lib/oxswarm/g", cluster="g",
                    hostname="id.example.org", image="10.213.1.5:5000/oxswarm:abc")


def test_stack_matches_golden_file() -> None:
    text = stack_text(spec3(), "/var/lib/oxswarm/g/master.key")
    golden = GOLDEN / "stack-3.json"
    if os.environ.get("OXSWARM_UPDATE_GOLDEN"):
        golden.write_text(text)
    assert text == golden.read_text()


def test_pinned_members_and_global_services() -> None:
    stack = render_stack(spec3(), "/k")
    services = stack["services"]
    for kind in ("etcd", "redis", "ldap"):
        for node in ("manager", "worker-1", "worker-2"):
            svc = services[f"{kind}-{node}"]
            assert svc["deploy"]["placement"]["constraints"] == [
                f"node.labels.oxswarm.node == {node}"]
    for name in ("registrator", "twemproxy", "oxauth", "oxtrust", "oxshibboleth", "nginx"):
        assert services[name]["deploy"]["mode"] == "global"
    assert all(s["deploy"]["endpoint_mode"] == "dnsrr" for s in services.values())
    assert {p["published"] for p in services["nginx"]["ports"]} == {80, 443}
    assert all(p["mode"] == "host" for s in services.values() for p in s.get("ports", []))
    assert services["ldap-manager"]["environment"]["OXS_LDAP_SEED"] == "1"
    assert services["ldap-worker-1"]["environment"]["OXS_LDAP_SEED"] == "0"
    assert "ldap://ldap-worker-1:1389" not in services["ldap-worker-1"]["environment"][
        "OXS_LDAP_PEERS"]
    assert stack["secrets"]["oxswarm_master_key"] == {"file": "/k"}


def test_one_node_stack_has_no_peers() -> None:
    spec = lab_spec(nodes=1, state_dir="/s", cluster="one", image="img")
    env = render_stack(spec, "/k")["services"]["ldap-manager"]["environment"]
    assert env["OXS_LDAP_PEERS"] == ""
    assert json.loads(json.dumps(env))["OXSWARM_CLUSTER"] == "one"


@pytest.mark.skipif(shutil.which("docker") is None, reason="no docker client")
def test_docker_stack_config_accepts_the_stack(tmp_path: Path) -> None:
    path = tmp_path / "stack.yml"
    key = tmp_path / "k"
    key.write_text("x")
    path.write_text(stack_text(spec3(), str(key)))
    res = subprocess.run(["docker", "stack", "config", "-c", str(path)], capture_output=True,
                         text=True, check=False)
    assert res.returncode == 0, res.stderr
    assert "etcd-worker-2" in res.stdout


def test_global_services_have_a_liveness_check_that_works() -> None:
    """oxAuth's, Twemproxy's and NGINX's checks (what makes an update wait for the new
    task), run with bash against real sockets: with a path, any HTTP answer passes (a 503
    naming a dependency is alive), no listener or a non-HTTP answer fails; without one
    (Twemproxy, NGINX), a listener passes and none fails."""
    services = render_stack(spec3(), "/k")["services"]
    assert services["oxauth"]["healthcheck"]["test"][:3] == ["CMD", "bash", "-c"]
    assert "/dev/tcp/127.0.0.1/22121" in services["twemproxy"]["healthcheck"]["test"][3]
    # NGINX (stop-first): a roll goes on to the next node once this one's accepts on 443
    assert services["nginx"]["deploy"]["update_config"]["order"] == "stop-first"
    assert services["nginx"]["healthcheck"]["test"][3] == "exec 3<>/dev/tcp/127.0.0.1/443"
    assert "$" not in stack_text(spec3(), "/k")  # docker stack would interpolate it

    def check(port: int, path: str | None = "/oxauth/health") -> int:
        script = _liveness(port, path)["test"][3]
        return subprocess.run(["bash", "-c", script], capture_output=True,
                              timeout=10).returncode

    def serve(answer: bytes) -> int:
        listener = socket.create_server(("127.0.0.1", 0))

        def once() -> None:
            with listener:
                conn, _ = listener.accept()
                with conn:
                    conn.recv(1024)
                    conn.sendall(answer)

        threading.Thread(target=once, daemon=True).start()
        return int(listener.getsockname()[1])

    assert check(serve(b"HTTP/1.1 503 Service Unavailable\r\n\r\n")) == 0
    assert check(serve(b"SSH-2.0-OpenSSH\r\n")) != 0
    assert check(free_port()) != 0
    assert check(serve(b""), path=None) == 0
    assert check(free_port(), path=None) != 0


def test_published_ports_directory_ldaps_only_cache_never() -> None:
    services = render_stack(spec3(), "/k")["services"]
    published = {name: {p["published"] for p in svc.get("ports", [])}
                 for name, svc in services.items() if svc.get("ports")}
    for node in ("manager", "worker-1", "worker-2"):
        assert published[f"ldap-{node}"] == {1636}
        assert f"redis-{node}" not in published
        env = services[f"ldap-{node}"]["environment"]
        assert all(url.startswith("ldaps://") and url.endswith(":1636")
                   for url in env["OXS_LDAP_PEERS"].split(","))
        assert env["OXS_LDAP_NAMES"].startswith(f"ldap-{node},10.")
    assert "twemproxy" not in published
    assert ldap_urls(spec3()) == [f"ldaps://ldap-{n}:1636"
                                  for n in ("manager", "worker-1", "worker-2")]


def test_the_saml_idp_runs_on_every_node_with_its_trust_files() -> None:
    """oxshibboleth: global, start-first with a liveness check on /idp/health, catalogued,
    its own store certificate (role oxshibboleth), the public URL and oxAuth's back channel
    on the overlay, the cache through Twemproxy, and each node's shared folder mounted
    (its template names the lab node) with the trust files under idp/trusts, owned by the
    unprivileged user."""
    from oxswarm.deploy.render.stack import SecretFile, StoreTLS, close_store

    spec = spec3()
    services = render_stack(spec, "/k")["services"]
    idp = services["oxshibboleth"]
    assert idp["deploy"]["mode"] == "global"
    assert idp["deploy"]["update_config"]["order"] == "start-first"
    assert "/idp/health" in idp["healthcheck"]["test"][3]
    assert idp["command"] == ["oxshibboleth", "--bind", "0.0.0.0:8086", "--public-url",
                              "https://id.example.org", "--oxauth-url", "http://oxauth:8080",
                              "--trust-folder", "/opt/shared-shibboleth-idp/idp/trusts"]
    assert {k: v for k, v in idp["labels"].items() if k != "oxswarm.cluster"} == {
        "oxswarm.service": "oxshibboleth", "oxswarm.port": "8086",
        "oxswarm.health": "/idp/health"}
    env = idp["environment"]
    assert env["OXSWARM_CACHE"] == "twemproxy:22121"
    assert env["OXS_RUN_AS"] == "oxswarm"
    assert "/opt/shared-shibboleth-idp/idp" in env["OXS_RUN_AS_OWN"].split(",")
    assert idp["volumes"] == [{"type": "bind",
                               "source": "/var/lib/oxswarm/g/n/{{.Node.Hostname}}/host/shared",
                               "target": "/opt/shared-shibboleth-idp"}]
    # the same host folder csync2 keeps identical, on each node
    for node in spec.nodes:
        csync2 = services[f"csync2-{node.name}"]["volumes"][0]
        assert csync2["source"] == idp["volumes"][0]["source"].replace(
            "{{.Node.Hostname}}", node.name)
    assert "ports" not in idp  # reached through each node's NGINX only
    pair = (SecretFile("c", "/c"), SecretFile("k", "/k"))
    tls = StoreTLS(SecretFile("ca", "/ca"), {"oxshibboleth": pair}, {})
    close_store({"oxshibboleth": idp}, spec, tls)
    assert [s["source"] for s in idp["secrets"]] == ["oxswarm_master_key", "c", "k", "ca"]
    assert idp["environment"]["OXSWARM_STORE"].startswith("etcd+https://")
