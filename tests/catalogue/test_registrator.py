"""The registrator against a real etcd and real HTTP backends on loopback ports."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from oxswarm.catalogue.health import Probe, ProbeChecker
from oxswarm.catalogue.reader import Catalogue
from oxswarm.catalogue.records import Instance, health_url, instance_key
from oxswarm.catalogue.registrator import Registrator
from oxswarm.catalogue.source import StaticSource
from oxswarm.config.etcd import EtcdStore
from oxswarm.errors import InvalidInput, StoreUnavailable
from oxswarm.local.backend import EchoBackend
from oxswarm.local.etcd import EtcdCluster
from oxswarm.local.process import free_port, wait_until
from oxswarm.local.registrator import LocalRegistrator

pytestmark = pytest.mark.integration


def instance_for(backend: EchoBackend, service: str = "oxauth", node: str = "n1") -> Instance:
    return Instance(
        service=service,
        id=backend.name,
        node=node,
        address=backend.host,
        port=backend.port,
        health_url=health_url(backend.host, backend.port, backend.health_path),
    )


def ids(catalogue: Catalogue, service: str = "oxauth") -> set[str]:
    return {i.id for i in catalogue.healthy(service)}


class Running:
    """A registrator looping in a thread of the test."""

    def __init__(self, registrator: Registrator) -> None:
        self.registrator = registrator
        self.stop = threading.Event()
        self.thread = threading.Thread(target=registrator.run, args=(self.stop,), daemon=True)

    def __enter__(self) -> Registrator:
        self.thread.start()
        return self.registrator

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join(timeout=10)
        self.registrator.close()


@pytest.fixture
def checker() -> Iterator[ProbeChecker]:
    probe = ProbeChecker(timeout=0.5)
    try:
        yield probe
    finally:
        probe.close()


def test_healthy_instances_appear_and_a_stop_removes_one_at_once(
    store: EtcdStore, prefix: str, backends: list[EchoBackend], checker: ProbeChecker
) -> None:
    b1, b2 = backends
    source = StaticSource([instance_for(b1)])
    registrator = Registrator(store, prefix, source, checker, ttl=4, interval=0.5)
    catalogue = Catalogue(store, prefix)
    registrator.start_events()
    try:
        assert registrator.step() == {"b1": True}
        assert ids(catalogue) == {"b1"}
        record = catalogue.healthy("oxauth")[0]
        assert (record.address, record.port, record.node) == (b1.host, b1.port, "n1")
        assert record.updated > 0
        source.start(instance_for(b2))
        wait_until(lambda: registrator.step().get("b2") is True, 5, "b2 to be checked")
        assert ids(catalogue) == {"b1", "b2"}
        source.stop("b1")
        wait_until(lambda: "b1" not in registrator.step(), 5, "b1's stop event")
        assert ids(catalogue) == {"b2"}
    finally:
        registrator.close()
    assert ids(catalogue) == set()


def test_an_unhealthy_instance_leaves_within_a_check_interval_and_returns(
    store: EtcdStore, prefix: str, backends: list[EchoBackend], checker: ProbeChecker
) -> None:
    b1, b2 = backends
    source = StaticSource([instance_for(b1), instance_for(b2)])
    registrator = Registrator(store, prefix, source, checker, ttl=4, interval=0.5)
    catalogue = Catalogue(store, prefix)
    with Running(registrator):
        wait_until(lambda: ids(catalogue) == {"b1", "b2"}, 10, "both registered")
        b1.set_healthy(False)
        began = time.monotonic()
        wait_until(lambda: ids(catalogue) == {"b2"}, 5, "b1 removed", interval=0.02)
        removed_after = time.monotonic() - began
        b1.set_healthy(True)
        began = time.monotonic()
        wait_until(lambda: ids(catalogue) == {"b1", "b2"}, 5, "b1 back", interval=0.02)
        back_after = time.monotonic() - began
        b2.stop()  # the process dies: connection refused
        wait_until(lambda: ids(catalogue) == {"b1"}, 5, "b2 removed", interval=0.02)
    print(f"unhealthy removed after {removed_after:.2f}s, back after {back_after:.2f}s")
    assert removed_after < 3.0


def test_a_killed_registrator_leaves_its_records_to_expire_then_recovers(
    etcd_cluster: EtcdCluster, store: EtcdStore, prefix: str, backends: list[EchoBackend],
    tmp_path: Path,
) -> None:  # fmt: skip
    instances = [instance_for(b, node="n2") for b in backends]
    ttl = 3
    local = LocalRegistrator(
        etcd_cluster.url, prefix, instances, tmp_path / "reg", ttl=ttl, interval=0.5
    )
    catalogue = Catalogue(store, prefix)
    local.start()
    try:
        wait_until(lambda: ids(catalogue) == {"b1", "b2"}, 10, "both registered")
        local.kill()
        killed = time.monotonic()
        time.sleep(ttl / 3)
        assert ids(catalogue) == {"b1", "b2"}, "records went before their lease expired"
        wait_until(lambda: ids(catalogue) == set(), ttl + 5, "the leases to expire", 0.05)
        gone_after = time.monotonic() - killed
        local.start()
        began = time.monotonic()
        wait_until(lambda: ids(catalogue) == {"b1", "b2"}, 10, "records back", 0.05)
        back_after = time.monotonic() - began
        local.stop()  # SIGTERM: a clean stop removes its records at once
        wait_until(lambda: ids(catalogue) == set(), 2, "clean stop to deregister", 0.05)
    finally:
        local.kill()
    print(f"ttl {ttl}s: records gone {gone_after:.2f}s after the kill; back {back_after:.2f}s")
    assert ttl - 0.5 <= gone_after <= ttl + 3


def test_watch_yields_a_snapshot_on_each_change(
    store: EtcdStore, prefix: str, backends: list[EchoBackend], checker: ProbeChecker
) -> None:
    b1, b2 = backends
    source = StaticSource([instance_for(b1), instance_for(b2, service="oxtrust")])
    registrator = Registrator(store, prefix, source, checker, ttl=4, interval=0.5)
    catalogue = Catalogue(store, prefix)
    seen: list[list[str]] = []
    with Running(registrator):
        for snap in catalogue.watch("oxauth", resync=1.0, timeout=15):
            seen.append([i.id for i in snap])
            if snap:
                b1.set_healthy(False)
            elif len(seen) > 1:
                break
    assert seen[-2:] == [["b1"], []]
    assert {i.id for i in catalogue.healthy("oxtrust")} == set()  # deregistered at close


def test_a_tcp_check_and_an_unreachable_port(
    store: EtcdStore, prefix: str, backends: list[EchoBackend], checker: ProbeChecker
) -> None:
    b1, _ = backends
    dead = free_port()
    tcp_ok = instance_for(b1, service="ldap").model_copy(
        update={"health_url": f"tcp://{b1.host}:{b1.port}"}
    )
    tcp_dead = tcp_ok.model_copy(
        update={"id": "dead", "port": dead, "health_url": f"tcp://127.0.0.1:{dead}"}
    )
    registrator = Registrator(store, prefix, StaticSource([tcp_ok, tcp_dead]), checker, ttl=4)
    registrator.start_events()
    try:
        assert registrator.step() == {"b1": True, "dead": False}
        assert ids(Catalogue(store, prefix), "ldap") == {"b1"}
    finally:
        registrator.close()


def test_an_interval_longer_than_half_the_ttl_is_refused(
    store: EtcdStore, prefix: str, checker: ProbeChecker
) -> None:
    with pytest.raises(InvalidInput) as err:
        Registrator(store, prefix, StaticSource(), checker, ttl=4, interval=3)
    assert err.value.field == "interval"


class Unannounced(StaticSource):
    """A source whose instances can change without an event: the race the resync covers
    (a container started between the first listing and the event subscription)."""

    def appear(self, instance: Instance) -> None:
        with self._lock:
            self._running[instance.id] = instance

    def vanish(self, instance_id: str) -> None:
        with self._lock:
            self._running.pop(instance_id, None)


def test_instances_no_event_announced_are_found_by_the_resync(
    store: EtcdStore, prefix: str, backends: list[EchoBackend], checker: ProbeChecker
) -> None:
    b1, b2 = backends
    source = Unannounced([instance_for(b1)])
    registrator = Registrator(store, prefix, source, checker, ttl=4, interval=0.5, resync=1.0)
    catalogue = Catalogue(store, prefix)
    with Running(registrator):
        wait_until(lambda: ids(catalogue) == {"b1"}, 10, "b1 registered")
        source.appear(instance_for(b2))
        began = time.monotonic()
        wait_until(lambda: ids(catalogue) == {"b1", "b2"}, 5, "b2 found by the resync", 0.05)
        found_after = time.monotonic() - began
        source.vanish("b1")
        wait_until(lambda: ids(catalogue) == {"b2"}, 5, "b1 dropped by the resync", 0.05)
    print(f"an unannounced instance registered {found_after:.2f}s after it appeared")
    assert found_after <= 3.0


def test_a_record_taken_over_by_another_registrator_that_stops_is_restored(
    store: EtcdStore, prefix: str, backends: list[EchoBackend], checker: ProbeChecker
) -> None:
    """Two registrators of one node for a moment (an update): the record ends on the
    second one's lease; when that one stops, the first writes the record again."""
    b1, _ = backends
    ttl = 3
    first = Registrator(store, prefix, StaticSource([instance_for(b1)]), checker, ttl=ttl,
                        interval=0.5)
    catalogue = Catalogue(store, prefix)
    with Running(first):
        wait_until(lambda: ids(catalogue) == {"b1"}, 10, "b1 registered")
        second = Registrator(store, prefix, StaticSource([instance_for(b1)]), checker,
                             ttl=ttl, interval=0.5)
        second.start_events()
        assert second.step() == {"b1": True}  # the key is now on the second's lease
        second.close(deregister=False)
        time.sleep(ttl + 1.5)  # its lease has expired, taking the record with it
        began = time.monotonic()
        wait_until(lambda: ids(catalogue) == {"b1"}, 2 * ttl + 2, "b1 restored", 0.05)
    print(f"record restored {time.monotonic() - began:.2f}s after the other lease expired")


class GatedChecker:
    """A real probe that blocks while ``gate`` is closed: a round stuck on a slow call."""

    def __init__(self, checker: ProbeChecker) -> None:
        self.checker = checker
        self.gate = threading.Event()
        self.gate.set()

    def check(self, url: str) -> Probe:
        self.gate.wait(30)
        return self.checker.check(url)


def test_a_stalled_round_does_not_let_the_records_expire(
    store: EtcdStore, prefix: str, backends: list[EchoBackend], checker: ProbeChecker
) -> None:
    """A round stuck for twice the ttl (a name lookup lost, a slow Docker call): the
    heartbeat keeps the lease alive meanwhile; stuck past ``stall``, the records go."""
    gated = GatedChecker(checker)
    ttl = 2
    registrator = Registrator(store, prefix, StaticSource([instance_for(b) for b in backends]),
                              gated, ttl=ttl, interval=0.5)  # fmt: skip
    catalogue = Catalogue(store, prefix)
    with Running(registrator):
        wait_until(lambda: ids(catalogue) == {"b1", "b2"}, 10, "both registered")
        gated.gate.clear()
        stuck = time.monotonic()
        while time.monotonic() - stuck < 2 * ttl + 1:
            assert ids(catalogue) == {"b1", "b2"}, "records expired during a stalled round"
            time.sleep(0.2)
        registrator.lease.stall = 2 * ttl + 2  # stuck longer than this: the heartbeat stops
        wait_until(lambda: ids(catalogue) == set(), 3 * ttl + 2, "stale records to expire")
        gated.gate.set()
        wait_until(lambda: ids(catalogue) == {"b1", "b2"}, 10, "records back after the stall")


class FlakyDeletes:
    """The real store, whose next ``fail`` deletes are refused as if it were unreachable."""

    def __init__(self, store: EtcdStore, fail: int) -> None:
        self.store = store
        self.fail = fail

    def __getattr__(self, name: str) -> object:
        return getattr(self.store, name)

    def delete(self, key: str) -> bool:
        if self.fail > 0:
            self.fail -= 1
            raise StoreUnavailable("config store unavailable: injected")
        return self.store.delete(key)


def test_a_refused_delete_is_retried_until_the_record_is_gone(
    store: EtcdStore, prefix: str, backends: list[EchoBackend], checker: ProbeChecker
) -> None:
    b1, b2 = backends
    flaky = FlakyDeletes(store, fail=0)
    source = StaticSource([instance_for(b1), instance_for(b2)])
    registrator = Registrator(flaky, prefix, source, checker, ttl=4,  # type: ignore[arg-type]
                              interval=0.3)  # fmt: skip
    catalogue = Catalogue(store, prefix)
    with Running(registrator):
        wait_until(lambda: ids(catalogue) == {"b1", "b2"}, 10, "both registered")
        flaky.fail = 3
        b1.set_healthy(False)
        wait_until(lambda: ids(catalogue) == {"b2"}, 5, "b1 removed despite refused deletes")
        assert flaky.fail == 0
        assert ids(catalogue) == {"b2"}


def test_records_of_this_node_that_do_not_run_are_removed_at_start(
    store: EtcdStore, prefix: str, backends: list[EchoBackend], checker: ProbeChecker
) -> None:
    """An instance stopped while the node had no registrator (both were being updated):
    the new registrator removes its record at once; other nodes' records are theirs."""
    b1, b2 = backends
    lease = store.grant_lease(60)  # the earlier registrator's lease, still alive
    ghost = instance_for(b2, node="n1").model_copy(update={"id": "ghost"})
    elsewhere = instance_for(b2, node="n2")
    for inst in (ghost, elsewhere, instance_for(b1, node="n1")):
        store.put(instance_key(prefix, inst.service, inst.id), inst.to_json(), lease=lease)
    catalogue = Catalogue(store, prefix)
    assert ids(catalogue) == {"ghost", "b1", "b2"}
    registrator = Registrator(store, prefix, StaticSource([instance_for(b1, node="n1")]),
                              checker, ttl=4, node="n1")  # fmt: skip
    registrator.start_events()
    try:
        assert ids(catalogue) == {"b1", "b2"}  # the ghost went before any round
        assert registrator.step() == {"b1": True}
        assert {(i.id, i.node) for i in catalogue.healthy("oxauth")} == {("b1", "n1"),
                                                                         ("b2", "n2")}
    finally:
        registrator.close()
        store.revoke_lease(lease)
