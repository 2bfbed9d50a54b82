"""The store's raft membership through etcd 3.4's JSON gateway: ``/v3/cluster/member/list``
and ``/v3/cluster/member/update`` (gRPC ``Cluster.MemberList``/``MemberUpdate``).

Used when an open store is closed (:mod:`oxswarm.deploy.storeupgrade`): a member's peer
URLs are part of the cluster's state, not of its command line, so moving the peers from
``http`` to ``https`` is a ``member update`` of each once every member listens on both.
"""

from __future__ import annotations

from dataclasses import dataclass

from oxswarm.config.etcd import EtcdStore


@dataclass(frozen=True)
class Member:
    """One member as the cluster knows it (``id`` as the gateway prints it: a decimal)."""

    id: str
    name: str
    peer_urls: tuple[str, ...]


def members(store: EtcdStore) -> list[Member]:
    data = store.request("/v3/cluster/member/list", {}, "list the store's members")
    return [Member(str(m["ID"]), str(m.get("name") or ""), tuple(m.get("peerURLs") or ()))
            for m in data.get("members") or []]


def set_peer_urls(store: EtcdStore, member: Member, urls: list[str]) -> None:
    store.request("/v3/cluster/member/update", {"ID": member.id, "peerURLs": urls},
                  f"move the peer URLs of {member.name or member.id} to {', '.join(urls)}")
