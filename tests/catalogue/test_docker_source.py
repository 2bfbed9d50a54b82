"""Turning a container's labels and network settings into a catalogue instance (pure).

The event stream itself runs against real dockerds in the cluster tests (tests/cluster).
"""

from __future__ import annotations

from typing import Any

from oxswarm.catalogue.docker_source import instance_from_container

ATTRS: dict[str, Any] = {
    "NetworkSettings": {
        "Networks": {"ingress": {"IPAddress": "10.0.0.9"}, "oxs_gluu": {"IPAddress": "10.0.1.7"}}
    }
}
LABELS = {"oxswarm.service": "oxauth", "oxswarm.port": "8080", "oxswarm.health": "/oxauth/health"}


def test_labelled_container_on_the_gluu_network() -> None:
    found = instance_from_container("0123456789abcdef", LABELS, ATTRS, "worker-1", "gluu")
    assert found is not None
    assert (found.service, found.id, found.node) == ("oxauth", "0123456789ab", "worker-1")
    assert found.endpoint == "10.0.1.7:8080"
    assert found.health_url == "http://10.0.1.7:8080/oxauth/health"


def test_unlabelled_unattached_or_mislabelled_containers_are_skipped() -> None:
    assert instance_from_container("c1", {}, ATTRS, "n", "gluu") is None
    assert instance_from_container("c1", LABELS, {"NetworkSettings": {}}, "n", "gluu") is None
    bad_port = {**LABELS, "oxswarm.port": "http"}
    assert instance_from_container("c1", bad_port, ATTRS, "n", "gluu") is None
