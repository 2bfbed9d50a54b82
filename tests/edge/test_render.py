"""Rendering of a node's nginx.conf and of the load balancer's: golden files and structure."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from pydantic import ValidationError

from oxswarm.catalogue.records import Instance
from oxswarm.edge.lb import render_lb
from oxswarm.edge.render import render_nginx
from oxswarm.edge.routes import ROUTES, SERVICES
from oxswarm.edge.spec import Backend, EdgeSpec, LbSpec, Listen, NodeTarget, upstreams_from

GOLDEN = Path(__file__).parent / "golden"
B = Backend


def edge_spec(**upstreams: tuple[Backend, ...]) -> EdgeSpec:
    return EdgeSpec(
        hostname="id.example.org",
        cert_file=Path("/etc/certs/gluu_https.crt"),
        key_file=Path("/etc/certs/gluu_https.key"),
        workdir=Path("/var/lib/oxswarm/nginx"),
        upstreams=upstreams,
        resolver=("127.0.0.11",),
        real_ip_from=("10.213.40.0/24",),
    )


FULL = edge_spec(
    oxauth=(B(address="10.0.1.7", port=8080), B(address="10.0.1.5", port=8080)),
    oxtrust=(B(address="10.0.1.9", port=8082),),
)


def golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if os.environ.get("OXSWARM_UPDATE_GOLDEN"):
        path.write_text(text)
    assert text == path.read_text(), f"{name} changed; OXSWARM_UPDATE_GOLDEN=1 to accept"


def test_node_config_matches_the_golden_file() -> None:
    text = render_nginx(FULL)
    golden("nginx.conf", text)
    assert "proxy_next_upstream_tries 0;" in text  # every instance once, within 10 s


def test_lb_config_matches_the_golden_file() -> None:
    spec = LbSpec(
        hostname="id.example.org",
        cert_file=Path("/lab/lb/cert.pem"),
        key_file=Path("/lab/lb/key.pem"),
        workdir=Path("/lab/lb"),
        ca_file=Path("/lab/lb/ca.pem"),
        nodes=tuple(
            NodeTarget(name=n, address=f"10.213.40.{11 + i}")
            for i, n in enumerate(["manager", "worker-1", "worker-2"])
        ),
    )
    text = render_lb(spec)
    golden("lb.conf", text)
    assert "proxy_next_upstream_tries 3;" in text
    # only a connection error or a timeout marks a node failed, never an HTTP answer
    assert "proxy_next_upstream error timeout;" in text
    assert "http_50" not in text
    assert "non_idempotent" not in text
    assert "non_idempotent" in render_lb(spec.model_copy(update={"retry_non_idempotent": True}))


def _block(text: str, head: str) -> str:
    start = text.index(head)
    return text[start : text.index("}", start)]


def test_no_service_is_sticky_and_idp_spreads_over_every_instance() -> None:
    """Nothing is sticky (the IdP's SAML state and oxTrust's sessions are shared): /idp
    goes to every healthy IdP instance, as /identity and /oxauth do."""
    spec = edge_spec(
        oxtrust=(B(address="10.0.0.1", port=1),),
        oxshibboleth=(B(address="10.0.0.2", port=2), B(address="10.0.0.4", port=4)),
        oxauth=(B(address="10.0.0.3", port=3),),
    )
    text = render_nginx(spec)
    for service in ("oxauth", "oxtrust", "oxshibboleth"):
        block = _block(text, f"upstream {service}_backend")
        assert "ip_hash" not in block and "keepalive 16;" in block
    idp = _block(text, "upstream oxshibboleth_backend")
    assert "server 10.0.0.2:2 " in idp and "server 10.0.0.4:4 " in idp
    location = _block(text, "location /idp {")
    assert "proxy_pass http://oxshibboleth_backend;" in location


def test_a_service_without_instances_answers_503_and_has_no_upstream() -> None:
    text = render_nginx(edge_spec())
    assert "\n    upstream " not in text
    for route in ROUTES:
        block = _block(text, f"location {route.location} {{")
        assert "return 503" in block and route.service in block
    assert "location = / { return 302 https://$host/.well-known/openid-configuration; }" in text


def test_unknown_paths_answer_404_from_the_node() -> None:
    text = render_nginx(FULL)
    assert 'location / { default_type text/plain; return 404 "not found\\n"; }' in text
    for prefix in ("/identity", "/idp", "/passport", "/scim", "/fido2", "/casa"):
        assert f"location {prefix} {{" in text
    assert "Retry-After 5" in _block(text, "location /idp {")


def _location_for(text: str, path: str) -> str:
    """The location NGINX picks for ``path`` among the rendered ones (exact first, then
    the first regex that matches, then the longest prefix: ngx_http_core_module)."""
    exact, regexes, prefixes = {}, [], []
    for line in text.splitlines():
        found = re.match(r"\s+location (= |~\* |~ )?(\S+) \{", line)
        if found is None:
            continue
        kind, arg = found[1], found[2]
        if kind == "= ":
            exact[arg] = line
        elif kind is not None:
            flags = re.IGNORECASE if kind == "~* " else 0
            regexes.append((re.compile(arg, flags), line))
        else:
            prefixes.append((arg, line))
    if path in exact:
        return exact[path]
    for regex, line in regexes:
        if regex.search(path):
            return line
    return max((p for p in prefixes if path.startswith(p[0])), key=lambda p: len(p[0]))[1]


def test_metrics_answers_404_at_the_edge_under_every_route() -> None:
    text = render_nginx(FULL)
    for path in ("/metrics", "/metrics/", "/oxauth/metrics", "/identity/metrics",
                 "/identity/restv1/metrics", "/idp/metrics", "/oxauth/METRICS"):
        line = _location_for(text, path)
        assert 'return 404 "not found\\n"' in line and "proxy_pass" not in line, path
    # the services' own paths still go to them
    assert "oxauth_backend" in _block(text, _location_for(text, "/oxauth/restv1/token"))
    assert "oxtrust_backend" in _block(text, _location_for(text, "/identity/metricsview"))
    assert "oxauth_backend" in _block(text, _location_for(text, "/oxauth/x-metrics"))


def test_root_redirects_to_oxtrust_once_it_is_healthy() -> None:
    assert "location = / { return 302 https://$host/identity; }" in render_nginx(FULL)


def test_tls_hsts_redirect_and_proxy_rules() -> None:
    text = render_nginx(FULL)
    assert "daemon off;" in text
    assert "ssl_protocols TLSv1.2 TLSv1.3;" in text
    assert re.search(r"TLSv1(\.1)?[ ;]", text) is None
    assert "Strict-Transport-Security" in text
    assert "return 301 https://$host$request_uri;" in text
    assert "proxy_next_upstream error timeout;" in text
    assert "proxy_connect_timeout 1s;" in text
    assert "X-Forwarded-Proto https" in text and "X-Forwarded-For" in text
    assert "set_real_ip_from 10.213.40.0/24;" in text
    assert "resolver 127.0.0.11 valid=5s ipv6=off;" in text


def test_non_default_https_port_is_kept_in_redirects() -> None:
    spec = FULL.model_copy(
        update={"listen": Listen(address="127.0.0.1", http_port=8080, https_port=8443)}
    )
    text = render_nginx(spec)
    assert "listen 127.0.0.1:8443 ssl http2 default_server;" in text
    assert "return 301 https://$host:8443$request_uri;" in text


def test_every_gluu_service_has_a_route() -> None:
    assert {r.service for r in ROUTES} == set(SERVICES)


@pytest.mark.parametrize(
    ("field", "value"),
    [("hostname", "bad host"), ("cert_file", "relative.pem"), ("workdir", "/a;b")],
)
def test_bad_values_are_refused_naming_the_field(field: str, value: str) -> None:
    args = edge_spec().model_dump() | {field: value}
    with pytest.raises(ValidationError) as err:
        EdgeSpec.model_validate(args)
    assert err.value.errors()[0]["loc"][0] == field


def test_a_backend_address_that_could_inject_config_is_refused() -> None:
    with pytest.raises(ValidationError):
        Backend(address="10.0.0.1; include /etc/passwd", port=80)


def test_upstreams_from_a_catalogue_snapshot_skip_bad_addresses() -> None:
    def inst(id_: str, address: str) -> Instance:
        return Instance(service="oxauth", id=id_, node="n", address=address, port=80,
                        health_url="tcp://x:80")  # fmt: skip

    snap = {"oxauth": (inst("a", "10.0.0.2"), inst("b", "10.0.0.1"), inst("c", "x;y"))}
    assert upstreams_from(snap) == {
        "oxauth": (B(address="10.0.0.1", port=80), B(address="10.0.0.2", port=80))
    }
