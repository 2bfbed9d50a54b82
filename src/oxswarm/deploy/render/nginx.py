"""NGINX configuration: the per-node TLS front (Gluu's routes, upstreams from the catalogue)
and the lab's external load balancer in front of every node's NGINX.

Per node, what consul-template rendered in the original: an ``upstream`` per web service
listing the catalogue's *passing* instances, reloaded when that list changes; port 80
redirects to 443; Gluu's public paths (``/oxauth``, ``/.well-known/...``). Failover
settings from ``lab.md``: ``proxy_connect_timeout 1s``, ``proxy_next_upstream error
timeout`` (plus ``non_idempotent``: a request that never reached a server is safe to send
again).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

SERVICE_ROUTES: Mapping[str, str] = {
    "oxauth": "/oxauth",
    "identity": "/identity",
    "idp": "/idp",
    "passport": "/passport",
}
WELL_KNOWN = {
    "/.well-known/openid-configuration": ("oxauth", "/oxauth/.well-known/openid-configuration"),
    "/.well-known/webfinger": ("oxauth", "/oxauth/.well-known/webfinger"),
    "/.well-known/uma2-configuration": ("oxauth", "/oxauth/restv1/uma2-configuration"),
    "/.well-known/scim-configuration": ("identity",
                                        "/identity/restv1/scim-configuration"),
}
RETRY = [
    "proxy_connect_timeout 1s;",
    "proxy_read_timeout 15s;",
    "proxy_next_upstream error timeout http_502 http_503 non_idempotent;",
    "proxy_next_upstream_tries 3;",
    "proxy_next_upstream_timeout 10s;",
]


def _proxy_headers() -> list[str]:
    return [
        "proxy_set_header Host $host;",
        "proxy_set_header X-Real-IP $remote_addr;",
        "proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;",
        "proxy_set_header X-Forwarded-Proto https;",
        "proxy_http_version 1.1;",
        'proxy_set_header Connection "";',
    ]


def _upstream(name: str, endpoints: Sequence[str]) -> list[str]:
    lines = [f"upstream {name} {{"]
    lines += [f"    server {e} max_fails=1 fail_timeout=5s;" for e in sorted(endpoints)]
    lines += ["    keepalive 16;", "}"]
    return lines


def render_node_nginx(
    hostname: str,
    upstreams: Mapping[str, Sequence[str]],
    *,
    cert_file: str,
    key_file: str,
    run_dir: str = "/run/oxswarm/nginx",
) -> str:
    """nginx.conf of one node; ``upstreams``: service -> ``address:port`` of passing instances."""
    live = {s: list(e) for s, e in sorted(upstreams.items()) if e and s in SERVICE_ROUTES}
    out = [
        "# rendered by oxswarm run nginx from the service catalogue",
        "worker_processes 1;",
        f"pid {run_dir}/nginx.pid;",
        "error_log stderr warn;",
        "events { worker_connections 1024; }",
        "http {",
        "    access_log off;",
        "    server_tokens off;",
        f"    client_body_temp_path {run_dir}/body;",
        f"    proxy_temp_path {run_dir}/proxy;",
        f"    fastcgi_temp_path {run_dir}/fastcgi;",
        f"    uwsgi_temp_path {run_dir}/uwsgi;",
        f"    scgi_temp_path {run_dir}/scgi;",
    ]
    for service, endpoints in live.items():
        out += ["    " + line for line in _upstream(service, endpoints)]
    out += [
        "    server {",
        "        listen 80 default_server;",
        '        location = /nginx-health { return 200 "ok\\n"; }',
        f"        location / {{ return 301 https://{hostname}$request_uri; }}",
        "    }",
        "    server {",
        "        listen 443 ssl default_server;",
        f"        server_name {hostname};",
        f"        ssl_certificate {cert_file};",
        f"        ssl_certificate_key {key_file};",
        "        ssl_protocols TLSv1.2 TLSv1.3;",
        "        ssl_session_cache shared:SSL:1m;",
        '        location = /nginx-health { return 200 "ok\\n"; }',
    ]
    inner = [*_proxy_headers(), *RETRY]
    for service, path in SERVICE_ROUTES.items():
        if service in live:
            out.append(f"        location {path} {{")
            out += [f"            {line}" for line in [*inner, f"proxy_pass http://{service};"]]
            out.append("        }")
        else:
            out.append(f"        location {path} {{ return 503; }}")
    for path, (service, target) in WELL_KNOWN.items():
        if service in live:
            out.append(f"        location = {path} {{")
            lines = [*inner, f"proxy_pass http://{service}{target};"]
            out += [f"            {line}" for line in lines]
            out.append("        }")
    default = "/identity" if "identity" in live else "/oxauth/.well-known/openid-configuration"
    out += [f"        location = / {{ return 302 {default}; }}", "    }", "}"]
    return "\n".join(out) + "\n"


def render_lb_nginx(
    *,
    hostname: str,
    listen_address: str,
    nodes: Sequence[str],
    cert_file: str,
    key_file: str,
    ca_file: str,
    run_dir: str,
) -> str:
    """The lab's load balancer: TLS in, TLS to every node's NGINX, retries across nodes.

    Passive health checks (``max_fails=1 fail_timeout=3s``): a node that fails a
    connection is skipped for 3 s while the request goes to the next one.
    """
    out = [
        "# the lab's external load balancer, rendered by oxswarm up",
        "worker_processes 1;",
        f"pid {run_dir}/nginx.pid;",
        f"error_log {run_dir}/error.log warn;",
        "events { worker_connections 2048; }",
        "http {",
        "    access_log off;",
        f"    client_body_temp_path {run_dir}/body;",
        f"    proxy_temp_path {run_dir}/proxy;",
        f"    fastcgi_temp_path {run_dir}/fastcgi;",
        f"    uwsgi_temp_path {run_dir}/uwsgi;",
        f"    scgi_temp_path {run_dir}/scgi;",
        "    upstream nodes {",
        *[f"        server {n}:443 max_fails=1 fail_timeout=3s;" for n in nodes],
        "        keepalive 32;",
        "    }",
        "    server {",
        f"        listen {listen_address}:443 ssl;",
        f"        listen {listen_address}:80;",
        f"        server_name {hostname};",
        f"        ssl_certificate {cert_file};",
        f"        ssl_certificate_key {key_file};",
        '        location = /lb-health { return 200 "ok\\n"; }',
        "        location / {",
        "            proxy_pass https://nodes;",
        "            proxy_ssl_server_name on;",
        f"            proxy_ssl_name {hostname};",
        "            proxy_ssl_verify on;",
        f"            proxy_ssl_trusted_certificate {ca_file};",
        "            proxy_ssl_session_reuse on;",
        *[f"            {line}" for line in [*_proxy_headers(), *RETRY]],
        "        }",
        "    }",
        "}",
    ]
    return "\n".join(out) + "\n"
