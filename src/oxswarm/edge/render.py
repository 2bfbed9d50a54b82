"""Pure rendering of a node's ``nginx.conf``: :class:`EdgeSpec` in, text out.

Directives are NGINX's (https://nginx.org/en/docs/): ``ngx_http_upstream_module``
(``keepalive``, ``max_fails``/``fail_timeout``), ``ngx_http_proxy_module``
(``proxy_next_upstream``), ``ngx_http_ssl_module``. Choices:

* Port 80 only redirects (301) to HTTPS; TLS 1.2 and 1.3 only, Mozilla's "intermediate"
  ciphers, HSTS (RFC 6797) on every HTTPS answer.
* A request that cannot reach a backend (refused, timed out) is retried on the next one
  (``proxy_next_upstream error timeout``): each instance at most once
  (``proxy_next_upstream_tries 0``), within 10 s; connects time out after 1 s. While
  tasks are replaced the catalogue can hold two unreachable instances at once (one
  stopped, one whose overlay address the other nodes do not know yet): three tries were
  not always enough. An *answer* of an instance, whatever its status, is passed on and
  never marks the instance failed: oxAuth's 503 names a shared store that every instance
  shares, and with ``max_fails=1`` three such answers left the node with "no live
  upstreams" for every route, discovery included.
* A service without a healthy instance has no ``upstream`` block (an empty one is a
  config error) and its locations answer 503 with a plain-text body naming it and
  ``Retry-After``; a path of no known route answers 404. Both come from the node at once.
* ``/metrics`` (every Python service's Prometheus endpoint, :mod:`oxswarm.metrics`) is
  for the overlay network only: a path ending in ``/metrics`` (``/metrics``,
  ``/oxauth/metrics``, ``/identity/metrics``, any case, a trailing slash or not) answers
  404 from the node before any route (a regex location wins over the routes' prefix
  locations; NGINX matches the decoded, normalised path, so ``%6d`` or ``//`` do not
  get around it).
* ``daemon off``; pid, temp and log files under ``workdir`` (several NGINX per machine).
"""

from __future__ import annotations

from collections.abc import Iterable

from oxswarm.edge.routes import (
    HEALTH_PATH,
    OXTRUST,
    ROOT_WITH_OXTRUST,
    ROOT_WITHOUT_OXTRUST,
    ROUTES,
    Route,
    upstream_name,
)
from oxswarm.edge.spec import EdgeSpec, _Common

TLS_CIPHERS = ":".join(
    (
        "ECDHE-ECDSA-AES128-GCM-SHA256",
        "ECDHE-RSA-AES128-GCM-SHA256",
        "ECDHE-ECDSA-AES256-GCM-SHA384",
        "ECDHE-RSA-AES256-GCM-SHA384",
        "ECDHE-ECDSA-CHACHA20-POLY1305",
        "ECDHE-RSA-CHACHA20-POLY1305",
    )
)
HSTS = 'add_header Strict-Transport-Security "max-age=31536000; includeSubDomains" always;'
TEMP_DIRS = ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")


def _seconds(value: float) -> str:
    return f"{int(value * 1000)}ms" if value < 1 or value != int(value) else f"{int(value)}s"


def preamble(spec: _Common) -> list[str]:
    """Main context and the start of ``http {``: process, paths, logs."""
    w = spec.workdir
    lines = [
        "# Rendered by oxswarm; every change is overwritten.",
        "daemon off;",
        f"worker_processes {spec.worker_processes};",
        f"pid {w}/run/nginx.pid;",
        f"error_log {w}/logs/error.log warn;",
        "",
        f"events {{ worker_connections {spec.worker_connections}; }}",
        "",
        "http {",
        "    default_type application/octet-stream;",
        "    server_tokens off;",
        "    sendfile on;",
        "    keepalive_timeout 65s;",
        "    client_max_body_size 10m;",
        f"    access_log {w}/logs/access.log combined;"
        if spec.access_log
        else "    access_log off;",
    ]
    lines += [f"    {name}_temp_path {w / 'tmp' / name};" for name in TEMP_DIRS]
    return lines


def redirect_server(spec: _Common) -> list[str]:
    """Port 80: a health answer for probes, everything else 301 to HTTPS."""
    return [
        "    server {",
        f"        listen {spec.listen.on(spec.listen.http_port)} default_server;",
        "        server_name _;",
        f'        location = {HEALTH_PATH} {{ default_type text/plain; return 200 "ok\\n"; }}',
        f"        location / {{ return 301 https://$host{spec.listen.https_suffix()}"
        "$request_uri; }",
        "    }",
    ]


def tls(spec: _Common) -> list[str]:
    return [
        f"        ssl_certificate {spec.cert_file};",
        f"        ssl_certificate_key {spec.key_file};",
        "        ssl_protocols TLSv1.2 TLSv1.3;",
        f"        ssl_ciphers {TLS_CIPHERS};",
        "        ssl_prefer_server_ciphers off;",
        "        ssl_session_cache shared:TLS:10m;",
        "        ssl_session_timeout 1d;",
        "        ssl_session_tickets off;",
        f"        {HSTS}",
    ]


def proxy_headers(indent: str = "        ") -> list[str]:
    """Headers every backend sees (RFC 7239's de-facto predecessors X-Forwarded-*)."""
    return [
        f"{indent}proxy_http_version 1.1;",
        f'{indent}proxy_set_header Connection "";',
        f"{indent}proxy_set_header Host $host;",
        f"{indent}proxy_set_header X-Real-IP $remote_addr;",
        f"{indent}proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;",
        f"{indent}proxy_set_header X-Forwarded-Proto https;",
        f"{indent}proxy_set_header X-Forwarded-Host $host;",
    ]


def _upstream(spec: EdgeSpec, service: str) -> list[str]:
    lines = [f"    upstream {upstream_name(service)} {{"]
    lines += [
        f"        server {b.endpoint} max_fails={spec.max_fails}"
        f" fail_timeout={spec.fail_timeout_s}s;"
        for b in spec.upstreams[service]
    ]
    if spec.keepalive:
        lines.append(f"        keepalive {spec.keepalive};")
    lines.append("    }")
    return lines


def _location(spec: EdgeSpec, route: Route) -> list[str]:
    lines = [f"        location {route.location} {{"]
    if spec.upstreams.get(route.service):
        uri = route.upstream_uri or ""
        lines.append(f"            proxy_pass http://{upstream_name(route.service)}{uri};")
    else:
        lines += [
            "            default_type text/plain;",
            "            add_header Retry-After 5 always;",
            f"            {HSTS}",
            f'            return 503 "{route.service} is unavailable: no healthy instance\\n";',
        ]
    lines.append("        }")
    return lines


METRICS_LOCATION = "~* /metrics/?$"


def not_public() -> list[str]:
    """Paths no one reaches from outside: the services' ``/metrics``."""
    return [f'        location {METRICS_LOCATION} {{ default_type text/plain; '
            'return 404 "not found\\n"; }']


def _services(spec: EdgeSpec) -> Iterable[str]:
    return sorted(s for s, backends in spec.upstreams.items() if backends)


def render_nginx(spec: EdgeSpec) -> str:
    """The whole ``nginx.conf`` of one node for ``spec``."""
    lines = preamble(spec)
    if spec.resolver:
        lines += [
            f"    resolver {' '.join(spec.resolver)} valid={spec.resolver_valid_s}s ipv6=off;",
            "    resolver_timeout 2s;",
        ]
    if spec.real_ip_from:
        lines += [f"    set_real_ip_from {net};" for net in spec.real_ip_from]
        lines += ["    real_ip_header X-Forwarded-For;", "    real_ip_recursive on;"]
    lines.append("")
    for service in _services(spec):
        lines += _upstream(spec, service)
    lines += redirect_server(spec)
    root = ROOT_WITH_OXTRUST if spec.upstreams.get(OXTRUST) else ROOT_WITHOUT_OXTRUST
    lines += [
        "    server {",
        f"        listen {spec.listen.on(spec.listen.https_port)} ssl http2 default_server;",
        f"        server_name {spec.hostname};",
        *tls(spec),
        *proxy_headers(),
        f"        proxy_connect_timeout {_seconds(spec.connect_timeout_s)};",
        f"        proxy_read_timeout {_seconds(spec.read_timeout_s)};",
        f"        proxy_send_timeout {_seconds(spec.read_timeout_s)};",
        "        proxy_next_upstream error timeout;",
        "        proxy_next_upstream_tries 0;",
        "        proxy_next_upstream_timeout 10s;",
        "        proxy_buffer_size 16k;",
        "        proxy_buffers 8 16k;",
        f'        location = {HEALTH_PATH} {{ default_type text/plain; return 200 "ok\\n"; }}',
        f"        location = / {{ return 302 https://$host{spec.listen.https_suffix()}{root}; }}",
        *not_public(),
    ]
    for route in ROUTES:
        lines += _location(spec, route)
    lines += [
        '        location / { default_type text/plain; return 404 "not found\\n"; }',
        "    }",
        "}",
    ]
    return "\n".join(lines) + "\n"
