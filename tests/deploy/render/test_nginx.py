"""NGINX renderers: Gluu's routes and upstreams from the catalogue; the lab LB."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from oxswarm.deploy.render.nginx import render_lb_nginx, render_node_nginx
from oxswarm.local.process import free_port


def test_upstreams_list_passing_instances_and_routes() -> None:
    conf = render_node_nginx("id.example.org", {"oxauth": ["10.0.0.3:8080", "10.0.0.2:8080"]},
                             cert_file="/c", key_file="/k")
    assert "upstream oxauth {" in conf
    assert conf.index("10.0.0.2:8080") < conf.index("10.0.0.3:8080")
    assert "location = /.well-known/openid-configuration" in conf
    assert "proxy_pass http://oxauth/oxauth/.well-known/openid-configuration;" in conf
    assert "location /identity { return 503; }" in conf
    assert "return 301 https://id.example.org$request_uri;" in conf


def test_no_instances_means_503_not_an_empty_upstream() -> None:
    conf = render_node_nginx("id.example.org", {"oxauth": []}, cert_file="/c", key_file="/k")
    assert "upstream oxauth" not in conf
    assert "location /oxauth { return 503; }" in conf


def test_lb_retries_across_every_node() -> None:
    conf = render_lb_nginx(hostname="id.example.org", listen_address="10.213.9.2",
                           nodes=["10.213.9.11", "10.213.9.12"], cert_file="/c",
                           key_file="/k", ca_file="/ca", run_dir="/r")
    assert "server 10.213.9.11:443 max_fails=1 fail_timeout=3s;" in conf
    assert "proxy_next_upstream error timeout http_502 http_503 non_idempotent;" in conf
    assert "proxy_ssl_trusted_certificate /ca;" in conf


@pytest.mark.skipif(shutil.which("nginx") is None, reason="no nginx")
def test_node_config_is_accepted_by_nginx(tmp_path: Path) -> None:
    import datetime as dt

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "id.example.org")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(1).not_valid_before(now)
            .not_valid_after(now + dt.timedelta(days=1)).sign(key, hashes.SHA256()))
    (tmp_path / "c").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "k").write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                 serialization.PrivateFormat.PKCS8,
                                 serialization.NoEncryption()))
    conf = render_node_nginx("id.example.org", {"oxauth": ["10.0.0.2:8080"]},
                             cert_file=str(tmp_path / "c"), key_file=str(tmp_path / "k"),
                             run_dir=str(tmp_path))
    plain, tls = free_port(), free_port()
    (tmp_path / "nginx.conf").write_text(conf.replace("listen 80 ", f"listen 127.0.0.1:{plain} ")
                                         .replace("listen 443 ", f"listen 127.0.0.1:{tls} "))
    res = subprocess.run(["nginx", "-t", "-q", "-c", str(tmp_path / "nginx.conf")],
                         capture_output=True, text=True, check=False)
    assert res.returncode == 0, res.stderr
