"""The catalogue reader against a real etcd: malformed records are skipped, not fatal."""

from __future__ import annotations

import pytest

from oxswarm.catalogue.reader import Catalogue
from oxswarm.catalogue.records import Instance, instance_key
from oxswarm.config.etcd import EtcdStore
from oxswarm.errors import InvalidInput

pytestmark = pytest.mark.integration


def test_snapshot_groups_sorts_and_skips_malformed(store: EtcdStore, prefix: str) -> None:
    def put(service: str, id_: str, node: str) -> None:
        item = Instance(service=service, id=id_, node=node, address="10.0.0.1", port=80,
                        health_url="tcp://10.0.0.1:80")  # fmt: skip
        store.put(instance_key(prefix, service, id_), item.to_json())

    put("oxauth", "b", "worker-1")
    put("oxauth", "a", "worker-2")
    put("oxtrust", "c", "manager")
    store.put(instance_key(prefix, "oxauth", "junk"), b"{not json")
    catalogue = Catalogue(store, prefix)
    snap = catalogue.snapshot()
    assert list(snap) == ["oxauth", "oxtrust"]
    assert [i.id for i in snap["oxauth"]] == ["b", "a"]  # by node, then id
    assert catalogue.healthy("oxpassport") == []
    with pytest.raises(InvalidInput):
        catalogue.healthy("a/b")
