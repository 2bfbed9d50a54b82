import threading
import time
from collections.abc import Iterator

import httpx
import pytest

from oxswarm.config.etcd import EtcdStore, prefix_range_end
from oxswarm.config.store import KVStore, WatchEvent
from oxswarm.errors import InvalidInput, StoreUnavailable
from oxswarm.local.etcd import EtcdCluster
from oxswarm.local.process import free_port, wait_until

# -- unit ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("prefix", "end"),
    [
        ("/a/", b"/a0"),
        ("a", b"b"),
        ("", b"\0"),
        ("a\x7f", b"a\x80"),
        ("ÿ", "ÿ".encode()[:-1] + b"\xc0"),
    ],
)
def test_prefix_range_end(prefix: str, end: bytes) -> None:
    assert prefix_range_end(prefix) == end


def test_store_url_gives_http_endpoints() -> None:
    store = EtcdStore.from_url("etcd://h1:2379,h2,10.0.0.3:12379")
    try:
        assert store.endpoints == ("http://h1:2379", "http://h2:2379", "http://10.0.0.3:12379")
    finally:
        store.close()


@pytest.mark.parametrize("url", ["http://h1:2379", "etcd://h1:99999", "etcd://bad host"])
def test_bad_store_url_names_the_field(url: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        EtcdStore.from_url(url)
    assert caught.value.field == "store"


def test_no_endpoint_answers_names_every_endpoint() -> None:
    endpoints = [f"http://127.0.0.1:{free_port()}" for _ in range(3)]
    started = time.monotonic()
    with EtcdStore(endpoints, timeout=1.0) as store, pytest.raises(StoreUnavailable) as caught:
        store.get("/x")
    assert time.monotonic() - started < 5
    for endpoint in endpoints:
        assert endpoint in str(caught.value)
    assert "connection refused" in str(caught.value)


def test_wait_ready_is_bounded() -> None:
    with EtcdStore([f"http://127.0.0.1:{free_port()}"]) as store:
        started = time.monotonic()
        with pytest.raises(StoreUnavailable, match="not ready after 1s"):
            store.wait_ready(timeout=1.0)
        assert time.monotonic() - started < 5


def test_etcd_store_is_a_kvstore() -> None:
    store: KVStore = EtcdStore(["http://127.0.0.1:1"])
    store.close()


# -- against a real 3-member cluster --------------------------------------------------------


@pytest.mark.integration
def test_put_get_delete(store: EtcdStore, prefix: str) -> None:
    assert store.get(f"{prefix}/k") is None
    store.put(f"{prefix}/k", b"v1")
    store.put(f"{prefix}/k", b"v2")
    store.put(f"{prefix}/empty", b"")
    store.put(f"{prefix}/bin", bytes(range(256)))
    assert store.get(f"{prefix}/k") == b"v2"
    assert store.get(f"{prefix}/empty") == b""
    assert store.get(f"{prefix}/bin") == bytes(range(256))
    assert store.delete(f"{prefix}/k") is True
    assert store.delete(f"{prefix}/k") is False
    assert store.get(f"{prefix}/k") is None


@pytest.mark.integration
def test_prefix_listing_and_delete(store: EtcdStore, prefix: str) -> None:
    for key in ("a/1", "a/2", "a/sub/3", "ab", "b/1"):
        store.put(f"{prefix}/{key}", key.encode())
    listed = store.get_prefix(f"{prefix}/a/")
    assert listed == {
        f"{prefix}/a/1": b"a/1",
        f"{prefix}/a/2": b"a/2",
        f"{prefix}/a/sub/3": b"a/sub/3",
    }
    assert store.delete_prefix(f"{prefix}/a/") == 3
    assert store.get_prefix(f"{prefix}/") == {f"{prefix}/ab": b"ab", f"{prefix}/b/1": b"b/1"}
    assert store.get_prefix(f"{prefix}/none/") == {}


@pytest.mark.integration
def test_put_if_absent(store: EtcdStore, prefix: str) -> None:
    assert store.put_if_absent(f"{prefix}/once", b"first") is True
    assert store.put_if_absent(f"{prefix}/once", b"second") is False
    assert store.get(f"{prefix}/once") == b"first"


@pytest.mark.integration
def test_put_if_revision(store: EtcdStore, prefix: str) -> None:
    """Compare-and-swap on the key's mod_revision, the other keys in the same transaction."""
    key = f"{prefix}/cas"
    assert store.get_revision(key) == (None, 0)
    assert store.put_if_revision(key, b"one", 0, {f"{prefix}/side": b"s1"}) is True
    value, first = store.get_revision(key)
    assert value == b"one" and first > 0
    assert store.put_if_revision(key, b"again", 0) is False  # it exists now
    assert store.put_if_revision(key, b"two", first, {f"{prefix}/side": None}) is True
    assert store.get(f"{prefix}/side") is None  # deleted with the swap
    assert store.put_if_revision(key, b"stale", first, {f"{prefix}/other": b"x"}) is False
    assert store.get(key) == b"two" and store.get(f"{prefix}/other") is None  # nothing
    assert store.get_revision(key)[1] > first


@pytest.mark.integration
def test_lease_expiry_keepalive_and_revoke(store: EtcdStore, prefix: str) -> None:
    short = store.grant_lease(1)
    store.put(f"{prefix}/short", b"x", lease=short)
    assert store.get(f"{prefix}/short") == b"x"
    wait_until(lambda: store.get(f"{prefix}/short") is None, 10, "the 1 s lease to expire")
    assert store.keepalive(short) == 0

    kept = store.grant_lease(30)
    assert 0 < store.keepalive(kept) <= 30
    store.put(f"{prefix}/kept", b"y", lease=kept)
    assert store.put_if_absent(f"{prefix}/kept2", b"z", lease=kept) is True
    store.revoke_lease(kept)
    assert store.get_prefix(f"{prefix}/kept") == {}
    store.revoke_lease(kept)  # already gone: not an error
    with pytest.raises(InvalidInput):
        store.grant_lease(0)


@pytest.mark.integration
def test_watch_yields_puts_and_deletes(store: EtcdStore, prefix: str) -> None:
    def writer() -> None:
        time.sleep(0.3)
        with EtcdStore(store.endpoints) as other:
            other.put(f"{prefix}/w/a", b"1")
            other.put(f"{prefix}/other", b"not watched")
            other.delete(f"{prefix}/w/a")

    thread = threading.Thread(target=writer)
    thread.start()
    events: list[WatchEvent] = []
    started = time.monotonic()
    for event in store.watch_prefix(f"{prefix}/w/", timeout=10):
        events.append(event)
        if len(events) == 2:
            break
    thread.join()
    assert time.monotonic() - started < 10
    assert [(e.key, e.value) for e in events] == [(f"{prefix}/w/a", b"1"), (f"{prefix}/w/a", None)]
    assert events[0].revision < events[1].revision

    # replay from a revision, then stop at the timeout
    started = time.monotonic()
    replay = list(
        store.watch_prefix(f"{prefix}/w/", start_revision=events[0].revision, timeout=1.0)
    )
    elapsed = time.monotonic() - started
    assert replay == events
    assert 0.9 <= elapsed < 1.0 + store.watch_slice + 2


@pytest.mark.integration
def test_watch_survives_quiet_slices(store: EtcdStore, prefix: str) -> None:
    def writer() -> None:
        time.sleep(store.watch_slice * 2.5)  # more than two quiet slices: watch reopened
        with EtcdStore(store.endpoints) as other:
            other.put(f"{prefix}/late", b"late")

    thread = threading.Thread(target=writer)
    thread.start()
    events = []
    for event in store.watch_prefix(prefix + "/", timeout=store.watch_slice * 2.5 + 10):
        events.append(event)
        break
    thread.join()
    assert [(e.key, e.value) for e in events] == [(f"{prefix}/late", b"late")]


@pytest.fixture
def kv(fresh_cluster: EtcdCluster) -> Iterator[EtcdStore]:
    with fresh_cluster.store(retry_for=10) as store:
        yield store


@pytest.mark.integration
def test_one_member_down_then_back(fresh_cluster: EtcdCluster, kv: EtcdStore) -> None:
    kv.put("/k/before", b"1")
    first = fresh_cluster.members[0]  # the member the store talks to first
    first.kill()
    kv.put("/k/during", b"2")
    assert kv.get("/k/before") == b"1"
    assert kv.put_if_absent("/k/once", b"3") is True
    assert kv.get_prefix("/k/") == {"/k/before": b"1", "/k/during": b"2", "/k/once": b"3"}
    first.restart()
    # a store that only talks to the returning member sees what it missed
    with EtcdStore([first.client_url], retry_for=10) as only:
        assert only.get("/k/during") == b"2"
        assert only.get_prefix("/k/") == kv.get_prefix("/k/")


@pytest.mark.integration
def test_watch_fails_over_to_another_member(fresh_cluster: EtcdCluster, kv: EtcdStore) -> None:
    def writer() -> None:
        time.sleep(0.3)
        with EtcdStore(fresh_cluster.endpoints) as other:
            other.put("/w/1", b"a")
            time.sleep(0.3)
            fresh_cluster.members[0].kill()  # the member the watch reads from
            other.put("/w/2", b"b")

    thread = threading.Thread(target=writer)
    thread.start()
    events = []
    for event in kv.watch_prefix("/w/", timeout=15):
        events.append(event)
        if len(events) == 2:
            break
    thread.join()
    assert [(e.key, e.value) for e in events] == [("/w/1", b"a"), ("/w/2", b"b")]


@pytest.mark.integration
def test_quorum_lost_is_unavailable_naming_endpoints(fresh_cluster: EtcdCluster) -> None:
    fresh_cluster.members[0].kill()
    fresh_cluster.members[1].kill()
    with EtcdStore(fresh_cluster.endpoints, timeout=0.5, retry_for=2) as kv:
        started = time.monotonic()
        with pytest.raises(StoreUnavailable) as caught:
            kv.put("/x", b"1")
        assert time.monotonic() - started < 8
    for endpoint in fresh_cluster.endpoints:
        assert endpoint in str(caught.value)


@pytest.mark.integration
def test_writes_retry_through_a_leader_election(fresh_cluster: EtcdCluster) -> None:
    leader = fresh_cluster.leader()
    assert leader is not None
    # start at the leader's endpoint: first a refused connection, then an election
    endpoints = [leader.client_url] + [e for e in fresh_cluster.endpoints if e != leader.client_url]
    with EtcdStore(endpoints, timeout=1.0, retry_for=15) as kv:
        leader.kill()
        started = time.monotonic()
        for i in range(20):
            kv.put(f"/election/{i}", str(i).encode())
        elapsed = time.monotonic() - started
        assert kv.get_prefix("/election/") == {f"/election/{i}": str(i).encode() for i in range(20)}
    new_leader = fresh_cluster.leader()
    assert new_leader is not None
    assert new_leader is not leader
    assert elapsed < 15


class LoseFirstAnswer(httpx.BaseTransport):
    """Sends each request to the real etcd, but loses the answer of the first one to
    ``path``: what a client sees when a write commits after its timeout."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.real = httpx.HTTPTransport()
        self.lost = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.real.handle_request(request)
        if request.url.path == self.path and not self.lost:
            response.read()
            response.close()
            self.lost += 1
            raise httpx.ReadTimeout("answer lost", request=request)
        return response

    def close(self) -> None:
        self.real.close()


@pytest.mark.integration
def test_put_if_absent_recognises_its_own_lost_write(
    etcd_cluster: EtcdCluster, prefix: str
) -> None:
    transport = LoseFirstAnswer("/v3/kv/txn")
    with EtcdStore(etcd_cluster.endpoints, transport=transport) as kv:
        assert kv.put_if_absent(f"{prefix}/k", b"mine") is True
        assert transport.lost == 1
        assert kv.get(f"{prefix}/k") == b"mine"
        assert kv.put_if_absent(f"{prefix}/k", b"mine") is False  # no lost answer: honest


@pytest.mark.integration
def test_lease_grant_with_a_lost_answer_returns_the_granted_lease(
    etcd_cluster: EtcdCluster, prefix: str
) -> None:
    transport = LoseFirstAnswer("/v3/lease/grant")
    with EtcdStore(etcd_cluster.endpoints, transport=transport) as kv:
        lease = kv.grant_lease(30)
        assert transport.lost == 1
        assert kv.keepalive(lease) > 0  # the lease the lost answer granted is the one returned
        kv.revoke_lease(lease)
