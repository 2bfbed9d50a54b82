"""Which services a new image rolls one at a time, and in which order."""

from __future__ import annotations

from oxswarm.deploy.render.stack import render_stack
from oxswarm.deploy.roll import bare, pinned_images, stateful_services
from oxswarm.deploy.spec import lab_spec

NEW = "10.213.1.5:5000/oxswarm:new"
OLD = "10.213.1.5:5000/oxswarm:old"



def test_node_by_node_etcd_ldap_redis() -> None:
    spec = lab_spec(nodes=2, state_dir="/s", cluster="g", image=NEW)
    assert stateful_services(spec) == [
        ("etcd-manager", "manager"), ("ldap-manager", "manager"), ("redis-manager", "manager"),
        ("etcd-worker-1", "worker-1"), ("ldap-worker-1", "worker-1"),
        ("redis-worker-1", "worker-1")]


def test_only_stateful_services_on_another_image_are_pinned() -> None:
    spec = lab_spec(nodes=2, state_dir="/s", cluster="g", image=NEW)
    running = {"etcd-manager": OLD, "etcd-worker-1": OLD, "ldap-manager": NEW,
               "oxauth": OLD, "nginx": OLD}
    assert pinned_images(spec, running) == {"etcd-manager": OLD, "etcd-worker-1": OLD}
    assert pinned_images(spec, {}) == {}  # a first deploy pins nothing


def test_pinned_services_keep_their_image_in_the_interim_stack() -> None:
    spec = lab_spec(nodes=2, state_dir="/s", cluster="g", image=NEW)
    services = render_stack(spec, "/k", {"etcd-manager": OLD})["services"]
    assert services["etcd-manager"]["image"] == OLD
    assert services["etcd-worker-1"]["image"] == NEW
    assert services["oxauth"]["image"] == NEW


def test_digest_is_dropped() -> None:
    assert bare(f"{OLD}@sha256:abc") == OLD
    assert bare(OLD) == OLD
