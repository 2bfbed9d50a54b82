"""The nginx role's pieces with REAL nginx: the edge's reloader drives the NGINX the role
supervises (nginx -t before SIGHUP, the last good config kept)."""

from __future__ import annotations

import os
import signal
import ssl
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from oxswarm.catalogue.reader import Catalogue
from oxswarm.catalogue.records import Instance, health_url
from oxswarm.crypto.pki import create_ca, issue_server_cert
from oxswarm.edge.reloader import EdgeReloader
from oxswarm.edge.render import render_nginx
from oxswarm.edge.spec import EdgeSpec, Listen
from oxswarm.errors import DaemonError
from oxswarm.local.backend import EchoBackend
from oxswarm.local.etcd import start_etcd_cluster
from oxswarm.local.nginx import prepare_workdir
from oxswarm.local.process import free_port, tcp_open, wait_until
from oxswarm.roles.nginx import ChildNginx, edge_spec, log_to_stderr, write_tls
from oxswarm.roles.run import Child

pytestmark = pytest.mark.integration
HOST = "id.oxswarm.test"


@pytest.fixture
def child() -> Iterator[Child]:
    """A Child (it installs SIGTERM/SIGINT handlers: restored after the test)."""
    saved = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGINT)}
    made = Child(["true"])
    try:
        yield made
    finally:
        if made.proc is not None and made.proc.poll() is None:
            made.proc.terminate()
            made.proc.wait(10)
        for sig, handler in saved.items():
            signal.signal(sig, handler)


def get(port: int, ca: str, path: str) -> httpx.Response:
    with httpx.Client(verify=ssl.create_default_context(cafile=ca), timeout=5.0,
                      trust_env=False) as client:
        return client.get(f"https://127.0.0.1:{port}{path}", headers={"Host": HOST},
                          extensions={"sni_hostname": HOST})


def _workers(master: int) -> set[int]:
    """The pids of the NGINX master's worker processes (its children)."""
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    return {int(pid) for pid in children}


def test_reloader_drives_the_supervised_nginx(tmp_path: Path, child: Child) -> None:
    ca = create_ca("OxSwarm Test")
    server = issue_server_cert(ca.cert_pem, ca.key_pem, [HOST, "127.0.0.1"])
    (tmp_path / "ca.pem").write_text(ca.cert_pem)
    work = tmp_path / "nginx"
    prepare_workdir(work)
    log_to_stderr(work)
    write_tls(work, server.cert_pem, server.key_pem)
    assert (work / "tls.key").stat().st_mode & 0o077 == 0
    https = free_port()
    spec = edge_spec(HOST, work, ("10.213.1.2",),
                     Listen(address="127.0.0.1", http_port=free_port(), https_port=https))
    conf = work / "nginx.conf"
    etcd = start_etcd_cluster(tmp_path / "etcd", 1)
    backend = EchoBackend("auth1").start()
    try:
        with etcd.store() as store:
            bad = {"on": False}

            def render(s: EdgeSpec) -> str:
                return render_nginx(s) + ("bogus_directive on;\n" if bad["on"] else "")

            control = ChildNginx(child, work)
            reloader = EdgeReloader(Catalogue(store, "/t"), spec, control, conf, render=render)
            with pytest.raises(DaemonError, match="not running"):
                control.reload()
            reloader.write_initial({})
            assert "set_real_ip_from 10.213.1.2/32;" in conf.read_text()
            child.argv = ["nginx", "-c", str(conf), "-p", f"{work}/", "-e", "/dev/stderr"]
            child.start()
            wait_until(lambda: tcp_open("127.0.0.1", https), 15, "nginx to listen")
            assert get(https, str(tmp_path / "ca.pem"), "/oxauth/x").status_code == 503

            oxauth = Instance(service="oxauth", id="a1", node="n1", address=backend.host,
                              port=backend.port,
                              health_url=health_url(backend.host, backend.port, "/health"))
            assert child.proc is not None
            before = _workers(child.proc.pid)
            assert reloader.apply({"oxauth": (oxauth,)})
            # Until the old workers have gone, a new connection may still reach one of
            # them (they route /oxauth nowhere): wait for the reload to finish.
            wait_until(lambda: not before & _workers(child.proc.pid), 10,  # type: ignore[union-attr]
                       "the old NGINX workers to exit", 0.05)
            assert get(https, str(tmp_path / "ca.pem"), "/oxauth/x").status_code == 200
            good = conf.read_text()

            bad["on"] = True  # a config nginx -t rejects: the live one stays
            assert not reloader.apply({})
            assert conf.read_text() == good
            assert get(https, str(tmp_path / "ca.pem"), "/oxauth/x").headers["X-Backend"] \
                == "auth1"
    finally:
        backend.stop()
        etcd.stop()


def test_sigterm_lets_nginx_finish_the_requests_in_flight(tmp_path: Path, child: Child) -> None:
    """Docker stops a task with SIGTERM: the role turns it into NGINX's graceful SIGQUIT,
    so a request in flight (a POST the load balancer will not send again) completes and
    new connections are refused. NGINX's own SIGTERM would cut it."""
    ca = create_ca("OxSwarm Test")
    server = issue_server_cert(ca.cert_pem, ca.key_pem, [HOST, "127.0.0.1"])
    ca_file = str(tmp_path / "ca.pem")
    (tmp_path / "ca.pem").write_text(ca.cert_pem)
    work = tmp_path / "nginx"
    prepare_workdir(work)
    log_to_stderr(work)
    write_tls(work, server.cert_pem, server.key_pem)
    https = free_port()
    spec = edge_spec(HOST, work, (), Listen(address="127.0.0.1", http_port=free_port(),
                                             https_port=https))
    backend = EchoBackend("slow").start()
    backend.delay = 1.5
    oxauth = Instance(service="oxauth", id="s1", node="n1", address=backend.host,
                      port=backend.port, health_url=health_url(backend.host, backend.port, "/h"))
    (work / "nginx.conf").write_text(render_nginx(spec.with_instances({"oxauth": (oxauth,)})))
    graceful = Child(["nginx", "-c", str(work / "nginx.conf"), "-p", f"{work}/", "-e",
                      "/dev/stderr"], graceful=signal.SIGQUIT)
    try:
        graceful.start()
        wait_until(lambda: tcp_open("127.0.0.1", https), 15, "nginx to listen")
        answers: list[int | str] = []
        inflight = threading.Thread(
            target=lambda: answers.append(_status(https, ca_file, "/oxauth/restv1/token")))
        inflight.start()
        wait_until(lambda: backend.hits == 1, 5, "the request to reach the backend", 0.02)
        os.kill(os.getpid(), signal.SIGTERM)  # what Docker sends the container
        assert graceful.stop.is_set()
        wait_until(lambda: not tcp_open("127.0.0.1", https), 5, "nginx to stop accepting")
        inflight.join(10)
        assert answers == [200]
        assert graceful.exit_code() == 0
    finally:
        backend.stop()
        if graceful.proc is not None and graceful.proc.poll() is None:
            graceful.proc.kill()
            graceful.proc.wait()


def _status(port: int, ca: str, path: str) -> int | str:
    try:
        return get(port, ca, path).status_code
    except httpx.HTTPError as exc:
        return f"{type(exc).__name__}: {exc}"
