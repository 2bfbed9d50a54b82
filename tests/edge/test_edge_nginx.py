"""The edge with REAL nginx on loopback ports, a real etcd catalogue and real backends."""

from __future__ import annotations

import ssl
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from prometheus_client import REGISTRY

from oxswarm.catalogue.health import ProbeChecker
from oxswarm.catalogue.reader import Catalogue
from oxswarm.catalogue.records import Instance, health_url
from oxswarm.catalogue.registrator import Registrator
from oxswarm.catalogue.source import StaticSource
from oxswarm.config.etcd import EtcdStore
from oxswarm.edge.lb import render_lb
from oxswarm.edge.reloader import EdgeReloader
from oxswarm.edge.spec import EdgeSpec, LbSpec, Listen, NodeTarget
from oxswarm.errors import DaemonError
from oxswarm.local.backend import EchoBackend
from oxswarm.local.nginx import LocalNginx
from oxswarm.local.process import free_port, wait_until

from .conftest import HOSTNAME, TlsFiles

pytestmark = pytest.mark.integration


def instance(backend: EchoBackend, service: str) -> Instance:
    url = health_url(backend.host, backend.port, "/health")
    return Instance(service=service, id=backend.name, node="n1", address=backend.host,
                    port=backend.port, health_url=url)  # fmt: skip


@dataclass
class Edge:
    nginx: LocalNginx
    reloader: EdgeReloader
    listen: Listen

    @property
    def https(self) -> str:
        return f"https://127.0.0.1:{self.listen.https_port}"

    def wait_config(self, check: Callable[[str], bool], what: str) -> None:
        wait_until(lambda: check(self.reloader.conf_file.read_text()), 10, what, 0.02)
        time.sleep(0.3)  # SIGHUP: new workers take over asynchronously


@dataclass
class Loop:
    """Requests in a thread until stopped, counting answers by status and backend."""

    get: Callable[[], httpx.Response]
    ok: int = 0
    failures: list[str] = field(default_factory=list)
    backends: dict[str, int] = field(default_factory=dict)
    stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                resp = self.get()
            except httpx.HTTPError as exc:
                self.failures.append(f"{type(exc).__name__}: {exc}")
                continue
            if resp.status_code == 200:
                self.ok += 1
                name = resp.headers.get("x-backend", "?")
                self.backends[name] = self.backends.get(name, 0) + 1
            else:
                self.failures.append(f"HTTP {resp.status_code}: {resp.text[:80]}")


@contextmanager
def looping(get: Callable[[], httpx.Response]) -> Iterator[Loop]:
    loop = Loop(get)
    thread = threading.Thread(target=loop.run, daemon=True)
    thread.start()
    try:
        yield loop
    finally:
        loop.stop.set()
        thread.join(timeout=30)


@contextmanager
def running(target: Callable[[threading.Event], None]) -> Iterator[None]:
    stop = threading.Event()
    thread = threading.Thread(target=target, args=(stop,), daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=15)


def start_edge(root: Path, tls: TlsFiles, catalogue: Catalogue) -> Edge:
    listen = Listen(address="127.0.0.1", http_port=free_port(), https_port=free_port())
    base = EdgeSpec(hostname=HOSTNAME, cert_file=tls.cert, key_file=tls.key, workdir=root,
                    listen=listen, fail_timeout_s=2)  # fmt: skip
    nginx = LocalNginx(root / "nginx.conf", root)
    reloader = EdgeReloader(catalogue, base, nginx, nginx.conf_file)
    reloader.write_initial()
    nginx.start("127.0.0.1", listen.https_port)
    return Edge(nginx, reloader, listen)


@pytest.fixture
def client(tls_files: TlsFiles) -> Iterator[httpx.Client]:
    context = ssl.create_default_context(cafile=str(tls_files.ca))
    with httpx.Client(verify=context, timeout=5.0, trust_env=False) as http:
        yield http


@pytest.fixture
def registrator(
    store: EtcdStore, prefix: str, backends: list[EchoBackend]
) -> Iterator[Registrator]:
    auth1, auth2, _ = backends
    source = StaticSource([instance(auth1, "oxauth"), instance(auth2, "oxauth")])
    checker = ProbeChecker(timeout=0.5)
    reg = Registrator(store, prefix, source, checker, ttl=3, interval=0.3)
    reg.start_events()
    reg.step()
    try:
        with running(reg.run):
            yield reg
    finally:
        reg.close()
        checker.close()


@dataclass
class World:
    backends: list[EchoBackend]
    registrator: Registrator
    catalogue: Catalogue


@pytest.fixture
def world(
    store: EtcdStore, prefix: str, backends: list[EchoBackend], registrator: Registrator
) -> World:
    return World(backends, registrator, Catalogue(store, prefix))


def test_routes_tls_redirects_failover_and_503(
    tmp_path: Path, tls_files: TlsFiles, world: World, client: httpx.Client
) -> None:  # fmt: skip
    auth1, auth2, trust1 = world.backends
    registrator, catalogue = world.registrator, world.catalogue
    edge = start_edge(tmp_path / "edge", tls_files, catalogue)
    try:
        with running(edge.reloader.run):
            # Routes: paths kept or rewritten onto the owning service.
            resp = client.get(f"{edge.https}/oxauth/restv1/token")
            assert resp.status_code == 200 and resp.headers["x-backend"] in ("auth1", "auth2")
            assert resp.text.split()[1] == "/oxauth/restv1/token"
            assert resp.headers["strict-transport-security"].startswith("max-age=")
            assert resp.headers["x-seen-x-forwarded-proto"] == "https"
            assert resp.headers["x-seen-x-forwarded-for"] == "127.0.0.1"
            resp = client.get(f"{edge.https}/.well-known/openid-configuration")
            assert resp.text.split()[1] == "/oxauth/.well-known/openid-configuration"
            # the services' /metrics never leave the overlay: 404 from the node itself
            for path in ("/metrics", "/oxauth/metrics", "/oxauth/%6detrics", "//metrics/",
                         "/oxauth/restv1/../metrics"):
                resp = client.get(f"{edge.https}{path}")
                assert resp.status_code == 404 and "x-backend" not in resp.headers, path
            resp = client.get(f"{edge.https}/.well-known/uma2-configuration")
            assert resp.text.split()[1] == "/oxauth/restv1/uma2-configuration"
            resp = client.get(f"{edge.https}/.well-known/webfinger?resource=acct:a@b")
            assert resp.text.split()[1] == "/oxauth/.well-known/webfinger?resource=acct:a@b"
            # No oxTrust yet: / goes to discovery, /identity is a clear 503.
            resp = client.get(f"{edge.https}/")
            assert resp.status_code == 302
            assert resp.headers["location"].endswith("/.well-known/openid-configuration")
            resp = client.get(f"{edge.https}/identity/home")
            assert resp.status_code == 503 and "oxtrust is unavailable" in resp.text
            # oxTrust appears in the catalogue: NGINX follows.
            registrator.source.start(instance(trust1, "oxtrust"))  # type: ignore[attr-defined]
            edge.wait_config(lambda c: "oxtrust_backend" in c, "oxtrust upstream")
            resp = client.get(f"{edge.https}/identity/home")
            assert resp.headers["x-backend"] == "trust1"
            # the catalogue's size as this edge saw it, this node's registrations (/metrics)
            sample = REGISTRY.get_sample_value
            assert sample("oxswarm_catalogue_instances", {"service": "oxtrust"}) == 1
            assert sample("oxswarm_catalogue_instances", {"service": "oxauth"}) == 2
            assert sample("oxswarm_catalogue_instances", {"service": "casa"}) == 0
            assert sample("oxswarm_edge_configs_total",
                          {"result": "reloaded"}) >= edge.reloader.reloads >= 1
            assert sample("oxswarm_registrator_instances",
                          {"service": "oxtrust", "health": "passing"}) == 1
            assert client.get(f"{edge.https}/").headers["location"].endswith("/identity")
            resp = client.get(f"{edge.https}/.well-known/scim-configuration")
            assert resp.text.split()[1] == "/identity/restv1/scim-configuration"
            # Port 80 redirects to HTTPS, TLS 1.2+ only.
            http = f"http://127.0.0.1:{edge.listen.http_port}/oxauth/x?y=1"
            resp = client.get(http)
            assert resp.status_code == 301
            assert (
                resp.headers["location"]
                == f"https://127.0.0.1:{edge.listen.https_port}/oxauth/x?y=1"
            )
            tls12 = ssl.create_default_context(cafile=str(tls_files.ca))
            tls12.maximum_version = ssl.TLSVersion.TLSv1_2
            with httpx.Client(verify=tls12, trust_env=False) as old:
                assert old.get(f"{edge.https}/nginx-health").status_code == 200

            # A backend dies under load: NGINX retries, the catalogue drops it, reload.
            reloads = edge.reloader.reloads
            with looping(lambda: client.get(f"{edge.https}/oxauth/x")) as loop:
                time.sleep(0.5)
                auth1.stop()
                killed = time.monotonic()
                edge.wait_config(lambda c: f":{auth1.port} " not in c, "auth1 out of nginx")
                switched = time.monotonic() - killed
                before = loop.ok
                wait_until(lambda: loop.ok > before + 20, 10, "requests after the switch")
            print(f"\nbackend killed -> nginx reloaded without it in {switched:.2f}s; "
                  f"{loop.ok} ok, {len(loop.failures)} failed {loop.failures[:3]}")  # fmt: skip
            assert edge.reloader.reloads > reloads
            assert loop.failures == []
            assert loop.backends.get("auth2", 0) > 0

            # No healthy backend left: 503 with a clear body, config still valid.
            auth2.set_healthy(False)
            edge.wait_config(lambda c: "oxauth_backend" not in c, "oxauth upstream gone")
            resp = client.get(f"{edge.https}/oxauth/x")
            assert resp.status_code == 503
            assert resp.text == "oxauth is unavailable: no healthy instance\n"
            assert resp.headers["retry-after"] == "5"
            auth2.set_healthy(True)
            edge.wait_config(lambda c: "oxauth_backend" in c, "oxauth back")
            assert client.get(f"{edge.https}/oxauth/x").headers["x-backend"] == "auth2"
    finally:
        edge.nginx.stop()


class RejectAll:
    """An NginxControl whose test refuses every new config (as a broken one would be)."""

    def __init__(self, real: LocalNginx) -> None:
        self.real = real
        self.reloaded = 0

    def test(self, conf_file: Path | None = None) -> None:
        raise DaemonError(f"nginx rejects {conf_file}: simulated")

    def reload(self) -> None:
        self.reloaded += 1


def test_a_rejected_config_keeps_the_last_good_one(
    tmp_path: Path, tls_files: TlsFiles, world: World, client: httpx.Client
) -> None:  # fmt: skip
    catalogue = world.catalogue
    edge = start_edge(tmp_path / "edge", tls_files, catalogue)
    try:
        good = edge.reloader.conf_file.read_text()
        control = RejectAll(edge.nginx)
        edge.reloader.control = control
        snapshot = dict(catalogue.snapshot())
        snapshot.pop("oxauth")
        assert edge.reloader.apply(snapshot) is False
        assert edge.reloader.conf_file.read_text() == good
        assert not edge.reloader.candidate_file.exists()
        assert control.reloaded == 0
        assert client.get(f"{edge.https}/oxauth/x").status_code == 200
        # A real nginx -t refuses a broken file and names it.
        broken = tmp_path / "broken.conf"
        broken.write_text(good.replace("daemon off;", "daemon maybe;"))
        with pytest.raises(DaemonError, match=r"broken\.conf"):
            edge.nginx.test(broken)
    finally:
        edge.nginx.stop()


def test_load_balancer_retries_across_nodes_when_one_dies(
    tmp_path: Path, tls_files: TlsFiles, world: World, client: httpx.Client
) -> None:  # fmt: skip
    catalogue = world.catalogue
    nodes = [start_edge(tmp_path / f"node{i}", tls_files, catalogue) for i in (1, 2)]
    lb_dir = tmp_path / "lb"
    listen = Listen(address="127.0.0.1", http_port=free_port(), https_port=free_port())
    spec = LbSpec(
        hostname=HOSTNAME, cert_file=tls_files.cert, key_file=tls_files.key, workdir=lb_dir,
        listen=listen, ca_file=tls_files.ca, fail_timeout_s=2,
        nodes=tuple(NodeTarget(name=f"node{i}", address="127.0.0.1", port=n.listen.https_port)
                    for i, n in enumerate(nodes, 1)),
    )  # fmt: skip
    lb_dir.mkdir()
    lb = LocalNginx(lb_dir / "nginx.conf", lb_dir)
    lb.conf_file.write_text(render_lb(spec))
    try:
        lb.start("127.0.0.1", listen.https_port)
        url = f"https://127.0.0.1:{listen.https_port}/oxauth/x"
        with looping(lambda: client.get(url)) as loop:
            time.sleep(0.5)
            nodes[0].nginx.kill()
            time.sleep(2.0)
            after_kill = loop.ok
            wait_until(lambda: loop.ok > after_kill + 20, 10, "requests through node2")
        print(f"\nlb: node1 killed under load: {loop.ok} ok, {len(loop.failures)} failed "
              f"{loop.failures[:3]}")  # fmt: skip
        assert loop.failures == []
        assert client.get(url).headers["x-backend"] in ("auth1", "auth2")
    finally:
        lb.stop()
        for node in nodes:
            node.nginx.stop()


def test_absent_routes_never_take_a_node_out_of_the_load_balancer(
    tmp_path: Path, tls_files: TlsFiles, world: World, client: httpx.Client
) -> None:  # fmt: skip
    """Issue 9: anonymous requests for routes without a service (``/identity``, ``/idp``)
    or unknown paths are answered by the node at once (503 / 404) and the load balancer
    passes that on: every request for a served route still answers 200. Before, three such
    requests marked both nodes failed (``max_fails=1`` on http_503) and the next ones got
    502 "no live upstreams" for ``fail_timeout``."""
    nodes = [start_edge(tmp_path / f"node{i}", tls_files, world.catalogue) for i in (1, 2)]
    lb_dir = tmp_path / "lb"
    listen = Listen(address="127.0.0.1", http_port=free_port(), https_port=free_port())
    spec = LbSpec(
        hostname=HOSTNAME, cert_file=tls_files.cert, key_file=tls_files.key, workdir=lb_dir,
        listen=listen, ca_file=tls_files.ca, keepalive=0,
        nodes=tuple(NodeTarget(name=f"node{i}", address="127.0.0.1", port=n.listen.https_port)
                    for i, n in enumerate(nodes, 1)),
    )  # fmt: skip
    lb_dir.mkdir()
    lb = LocalNginx(lb_dir / "nginx.conf", lb_dir)
    lb.conf_file.write_text(render_lb(spec))
    base = f"https://127.0.0.1:{listen.https_port}"
    absent = ["/identity", "/idp/shibboleth", "/fido2/x", "/scim/v2/Users", "/nope"]
    answers: dict[str, int] = {}
    served: list[int] = []
    try:
        lb.start("127.0.0.1", listen.https_port)
        for i in range(100):
            path = absent[i % len(absent)]
            started = time.monotonic()
            resp = client.get(base + path)
            took = time.monotonic() - started
            answers[f"{path} {resp.status_code}"] = answers.get(f"{path} {resp.status_code}", 0) + 1
            assert took < 1.0, (path, took)
            assert len(resp.content) < 200, resp.text
            if resp.status_code == 503:
                assert resp.headers["retry-after"] == "5"
            served.append(client.get(f"{base}/oxauth/x").status_code)
        print(f"\nabsent routes through the lb: {answers}; served route: "
              f"{served.count(200)}/{len(served)} 200")
        assert served == [200] * 100
        assert {a.split()[1] for a in answers if a.startswith("/nope")} == {"404"}
        assert {a.split()[1] for a in answers if not a.startswith("/nope")} == {"503"}
    finally:
        lb.stop()
        for node in nodes:
            node.nginx.stop()
