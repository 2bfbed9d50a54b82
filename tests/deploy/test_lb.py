"""The lab's load balancer as the edge library renders it for a lab cluster."""

from __future__ import annotations

import os
from pathlib import Path

from oxswarm.deploy.lb import lb_spec
from oxswarm.deploy.spec import lab_spec
from oxswarm.edge.lb import render_lb

GOLDEN = Path(__file__).parent / "golden"


def conf3() -> str:
    spec = lab_spec(nodes=3, state_dir="/var/lib/oxswarm/g", cluster="g",
                    hostname="id.example.org", image="img")
    return render_lb(lb_spec(spec, Path("/var/lib/oxswarm/g/lb")))


def test_lb_matches_golden_file() -> None:
    golden = GOLDEN / "lb-3.conf"
    if os.environ.get("OXSWARM_UPDATE_GOLDEN"):
        golden.write_text(conf3())
    assert conf3() == golden.read_text()


def test_lb_listens_on_its_lab_address_and_verifies_every_node() -> None:
    spec = lab_spec(nodes=3, state_dir="/s", cluster="g", hostname="id.example.org",
                    image="img")
    conf = conf3()
    assert f"listen {spec.lab.lb_ip}:443 ssl" in conf  # type: ignore[union-attr]
    for node in spec.nodes:
        assert f"server {node.address}:443 " in conf
    assert "proxy_ssl_trusted_certificate /var/lib/oxswarm/g/lb/ca.crt;" in conf
    assert "proxy_ssl_name id.example.org;" in conf
    # a POST that reached a node is never replayed (code exchange, refresh rotation)
    assert "non_idempotent" not in conf
    assert "proxy_next_upstream error timeout" in conf
    # no kept-alive connection for a request to be written into when a node dies
    assert "keepalive 32;" not in conf and "keepalive " not in conf.split("upstream", 1)[1]
