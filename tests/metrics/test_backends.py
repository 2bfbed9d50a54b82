"""Backend calls are timed under their operation, and a backend that cannot be reached
counts one error per failed call: a real client on a loopback port nothing listens on."""

from __future__ import annotations

import asyncio

import pytest
from prometheus_client import REGISTRY

from oxswarm.cache.aio import AsyncCache
from oxswarm.config.etcd import EtcdStore
from oxswarm.directory.connection import Directory, DirectoryConfig
from oxswarm.errors import CacheUnavailable, DirectoryUnavailable, StoreUnavailable
from oxswarm.local.process import free_port


def sample(name: str, backend: str, operation: str) -> float:
    return REGISTRY.get_sample_value(name, {"backend": backend, "operation": operation}) or 0.0


def errors(backend: str, operation: str) -> float:
    return sample("oxswarm_backend_errors_total", backend, operation)


def calls(backend: str, operation: str) -> float:
    return sample("oxswarm_backend_request_duration_seconds_count", backend, operation)


def test_cache_errors_count_once_per_failed_call() -> None:
    before = errors("cache", "get"), calls("cache", "get")

    async def get() -> None:
        cache = AsyncCache("127.0.0.1", free_port(), "t", retries=1, backoff=0.0)
        try:
            with pytest.raises(CacheUnavailable):
                await cache.get("k", "x")
        finally:
            await cache.close()

    asyncio.run(get())
    assert errors("cache", "get") - before[0] == 1
    assert calls("cache", "get") - before[1] == 1  # retries inside one call: one call


def test_store_errors_count_under_the_api_path() -> None:
    before = errors("store", "kv/range"), calls("store", "kv/range")
    store = EtcdStore.from_url(f"etcd://127.0.0.1:{free_port()}", timeout=0.2)
    store.retry_for = 0.3
    try:
        with pytest.raises(StoreUnavailable):
            store.get("/x")
    finally:
        store.close()
    assert errors("store", "kv/range") - before[0] == 1
    assert calls("store", "kv/range") - before[1] == 1


def test_directory_errors_count_under_the_operation() -> None:
    before = errors("directory", "search")
    directory = Directory(DirectoryConfig(urls=(f"ldap://127.0.0.1:{free_port()}",),
                                          bind_dn="cn=x", password="y"))
    try:
        with pytest.raises(DirectoryUnavailable):
            directory.search("o=gluu", "(objectClass=*)")
    finally:
        directory.close()
    assert errors("directory", "search") - before == 1
