"""The networks a deployment writes into oxAuth's policy: trusted proxies (the overlay the
node NGINX reaches oxAuth on, the lab's load balancer) and the cluster's own addresses."""

from __future__ import annotations

from oxswarm.config import keys as K
from oxswarm.deploy.deployer import oxauth_networks
from oxswarm.deploy.spec import lab_spec
from oxswarm.deploy.swarm import OVERLAY_POOL
from oxswarm.oxauth.addressing import client_address, parse_networks
from oxswarm.oxauth.policy import read_policy


def test_lab_networks_parse_and_find_the_client_behind_lb_and_node_nginx() -> None:
    spec = lab_spec(nodes=3, state_dir="/s", cluster="g", image="oxswarm:test")
    assert spec.lab is not None
    values = oxauth_networks(spec)
    policy = read_policy(values.get)
    lb = spec.lab.lb_ip
    assert [str(n) for n in policy.trusted_proxies] == [OVERLAY_POOL, f"{lb}/32"]
    deny = parse_networks(values[K.OXAUTH_FETCH_DENY], "deny")
    assert {f"{n.address}/32" for n in spec.nodes} <= {str(n) for n in deny}
    # client -> LB -> node NGINX -> oxAuth (a forged entry on the left)
    seen = client_address("10.216.3.4", f"6.6.6.6, 203.0.113.9, {lb}", policy.trusted_proxies)
    assert seen == "203.0.113.9"
