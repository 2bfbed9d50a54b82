"""Pure rendering of the lab's external load balancer (NGINX in front of every node).

Choice: an HTTPS proxy, not TCP passthrough. Debian's ``nginx-light`` (the lab's
package) has no ``stream`` module, and an HTTP proxy can retry a *request* on the next
node, where a TCP proxy can only retry the connect. The balancer terminates TLS with the cluster's
certificate and speaks HTTPS to each node's NGINX (verifying it against the cluster CA,
SNI = the public host name), adding ``X-Forwarded-For`` that the nodes trust through
``EdgeSpec.real_ip_from`` so that the services see the client (lockout, logs).

Health checks are passive (open-source NGINX has no active ones): a node that fails
``max_fails`` times is skipped for ``fail_timeout`` seconds, then tried again. Requests
go round-robin, so a node coming back takes traffic again within ``fail_timeout``.

Only a connection error or a timeout is a failure (``proxy_next_upstream error
timeout``): it is what a dead or cut node looks like. Any HTTP answer of a node, whatever
its status, is the answer: a node answers 503 itself for a route whose service has no
instance (``/identity`` before oxTrust) and 404 for an unknown path, and with
``http_502 http_503`` among the failures three such anonymous requests took every node out
of rotation (``max_fails=1``) and the whole site answered "no live upstreams" for 5 s.

"""

from __future__ import annotations

from oxswarm.edge.render import _seconds, preamble, proxy_headers, redirect_server, tls
from oxswarm.edge.routes import HEALTH_PATH
from oxswarm.edge.spec import LbSpec

LB_UPSTREAM = "oxswarm_nodes"


def render_lb(spec: LbSpec) -> str:
    """The whole ``nginx.conf`` of the external load balancer for ``spec``."""
    retry = "error timeout"
    if spec.retry_non_idempotent:
        retry += " non_idempotent"
    lines = [*preamble(spec), "", f"    upstream {LB_UPSTREAM} {{"]
    lines += [
        f"        server {n.address}:{n.port} max_fails={spec.max_fails} "
        f"fail_timeout={spec.fail_timeout_s}s;  # {n.name}"
        for n in spec.nodes
    ]
    if spec.keepalive:
        lines.append(f"        keepalive {spec.keepalive};")
    lines += ["    }", *redirect_server(spec)]
    lines += [
        "    server {",
        f"        listen {spec.listen.on(spec.listen.https_port)} ssl http2 default_server;",
        f"        server_name {spec.hostname};",
        *tls(spec),
        f'        location = {HEALTH_PATH} {{ default_type text/plain; return 200 "ok\\n"; }}',
        "        location / {",
        f"            proxy_pass https://{LB_UPSTREAM};",
        *proxy_headers("            "),
        "            proxy_ssl_server_name on;",
        f"            proxy_ssl_name {spec.hostname};",
        "            proxy_ssl_protocols TLSv1.2 TLSv1.3;",
        "            proxy_ssl_session_reuse on;",
    ]
    if spec.ca_file is not None:
        lines += [
            "            proxy_ssl_verify on;",
            f"            proxy_ssl_trusted_certificate {spec.ca_file};",
            "            proxy_ssl_verify_depth 2;",
        ]
    lines += [
        f"            proxy_connect_timeout {_seconds(spec.connect_timeout_s)};",
        f"            proxy_read_timeout {_seconds(spec.read_timeout_s)};",
        f"            proxy_send_timeout {_seconds(spec.read_timeout_s)};",
        f"            proxy_next_upstream {retry};",
        f"            proxy_next_upstream_tries {len(spec.nodes)};",
        "            proxy_next_upstream_timeout 15s;",
        "            proxy_buffer_size 16k;",
        "            proxy_buffers 8 16k;",
        "        }",
        "    }",
        "}",
    ]
    return "\n".join(lines) + "\n"
