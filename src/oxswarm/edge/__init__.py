"""The edge: NGINX on every node (Gluu's routes onto the catalogue's healthy instances),
the lab's external load balancer in front of them, and the reloader that keeps a node's
NGINX in step with the catalogue."""

from oxswarm.edge.lb import render_lb
from oxswarm.edge.reloader import EdgeReloader, NginxControl
from oxswarm.edge.render import render_nginx
from oxswarm.edge.routes import ROUTES, SERVICES, Route
from oxswarm.edge.spec import Backend, EdgeSpec, LbSpec, Listen, NodeTarget, upstreams_from

__all__ = [
    "ROUTES",
    "SERVICES",
    "Backend",
    "EdgeReloader",
    "EdgeSpec",
    "LbSpec",
    "Listen",
    "NginxControl",
    "NodeTarget",
    "Route",
    "render_lb",
    "render_nginx",
    "upstreams_from",
]
