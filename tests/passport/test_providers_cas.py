"""Concurrent changes of oxPassport's providers on a real etcd: the providers are one config
value, so every change is a compare-and-swap on its revision
(:class:`~oxswarm.passport.providers.ProviderStore`). Writers of different providers lose
nothing; an edit made from a version of its provider that is no longer stored is refused
and writes nothing; ``oxswarm providers`` processes running at once lose nothing."""

from __future__ import annotations

import concurrent.futures
import dataclasses
import json
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from tests.oxauth.conftest import stack  # noqa: F401  (fixture)

from oxswarm.errors import AssertionFailed
from oxswarm.local.stack import Stack
from oxswarm.passport.providers import (
    CONFIG_KEY,
    Provider,
    ProviderStore,
    build,
    secret_name,
    version,
)

pytestmark = pytest.mark.integration

WRITERS = 6
EACH = 4


def _provider(pid: str, **more: object) -> Provider:
    return build({"id": pid, "issuer": "https://op.example.org", "client_id": "c", **more})


def test_concurrent_writers_lose_nothing(stack: Stack) -> None:  # noqa: F811
    """Six writers (each its own store connection) at once: each adds four providers and
    renames one of its own between the adds; every add and rename is there at the end."""
    run = uuid.uuid4().hex[:6]
    setup = stack.manager()
    try:
        for w in range(WRITERS):
            ProviderStore(setup).add(_provider(f"own{run}-{w}"), "s")
    finally:
        setup.store.close()

    def writer(w: int) -> None:
        manager = stack.manager()
        try:
            store = ProviderStore(manager)
            for k in range(EACH):
                store.add(_provider(f"c{run}-{w}-{k}"), f"secret-{w}-{k}")
                mine = store.get(f"own{run}-{w}")
                store.replace(dataclasses.replace(mine, name=f"writer {w} step {k}"))
        finally:
            manager.store.close()

    with concurrent.futures.ThreadPoolExecutor(WRITERS) as pool:
        for done in [pool.submit(writer, w) for w in range(WRITERS)]:
            done.result()
    manager = stack.manager()
    try:
        stored = {p.id: p for p in ProviderStore(manager).list()}
        missing = [f"c{run}-{w}-{k}" for w in range(WRITERS) for k in range(EACH)
                   if f"c{run}-{w}-{k}" not in stored]
        assert not missing, f"{len(missing)} adds lost: {missing}"
        assert [stored[f"own{run}-{w}"].name for w in range(WRITERS)] == [
            f"writer {w} step {EACH - 1}" for w in range(WRITERS)]
        # each secret went in the same transaction as its provider
        assert manager.get_secret(secret_name(f"c{run}-2-3")) == "secret-2-3"
    finally:
        manager.store.close()


def test_a_write_between_read_and_swap_is_retried_or_refused(stack: Stack) -> None:  # noqa: F811
    """Another writer changes the list after this edit read it (inside the edit, so the
    race is certain): a change of another provider makes the edit re-read and apply
    again, both kept; a change of the same provider refuses an edit that names the
    version it started from, nothing written."""
    run = uuid.uuid4().hex[:6]
    mine, theirs = f"mine{run}", f"theirs{run}"
    manager, other = stack.manager(), stack.manager()
    try:
        store, rival = ProviderStore(manager), ProviderStore(other)
        store.add(_provider(mine), "s")
        store.add(_provider(theirs), "s")
        seen = version(store.get(mine))
        calls: list[str] = []

        def rename(current: Provider) -> Provider:
            calls.append(current.name)
            if len(calls) == 1:  # the other writer comes first, on another provider
                rival.replace(dataclasses.replace(rival.get(theirs), linking="existing_only"))
            return dataclasses.replace(current, name="Mine")

        store.update(mine, rename, expect=lambda now: version(now) == seen)
        assert len(calls) == 2  # lost the swap once, applied again to the fresh list
        stored = {p.id: p for p in store.list()}
        assert stored[mine].name == "Mine" and stored[theirs].linking == "existing_only"

        seen = version(stored[mine])
        calls.clear()

        def relink(current: Provider) -> Provider:
            calls.append(current.name)
            if len(calls) == 1:  # the other writer changes this very provider
                rival.replace(dataclasses.replace(rival.get(mine), scopes=("openid", "x")))
            return dataclasses.replace(current, linking="link_by_email")

        with pytest.raises(AssertionFailed, match="changed by someone else"):
            store.update(mine, relink, expect=lambda now: version(now) == seen)
        after = store.get(mine)
        assert after.scopes == ("openid", "x") and after.linking == "create"
        with pytest.raises(AssertionFailed):  # a stale remove too
            store.remove(mine, expect=lambda now: version(now) == seen)
        assert store.get(mine).id == mine
        store.remove(mine, expect=lambda now: version(now) == version(after))
        assert mine not in [p.id for p in store.list()]
        assert manager.get_secret(secret_name(mine)) is None  # removed with it
    finally:
        manager.store.close()
        other.store.close()


def test_cli_processes_at_once_lose_nothing(stack: Stack, tmp_path: Path) -> None:  # noqa: F811
    """``oxswarm providers add`` and ``update`` processes started together."""
    run = uuid.uuid4().hex[:6]
    secret = tmp_path / "secret"
    secret.write_text("cli-secret\n")
    base = [sys.executable, "-m", "oxswarm", "providers"]
    tail = ["--store", stack.store_url, "--cluster", stack.cluster,
            "--master-key-file", str(stack.master_key_file), "--ldap-url", stack.ldap_urls[0]]
    manager = stack.manager()
    try:
        ProviderStore(manager).add(_provider(f"cli{run}"), "s")
    finally:
        manager.store.close()
    commands = [[*base, "add", "--id", f"p{run}-{n}", "--issuer", "https://op.example.org",
                 "--client-id", "c", "--client-secret-file", str(secret), *tail]
                for n in range(4)]
    commands += [[*base, "update", f"cli{run}", "--name", "Renamed", *tail],
                 [*base, "update", f"cli{run}", "--linking", "existing_only", *tail],
                 [*base, "disable", f"cli{run}", *tail]]
    procs = [subprocess.Popen(c, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for c in commands]
    for proc in procs:
        _out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
    manager = stack.manager()
    try:
        stored = {p.id: p for p in ProviderStore(manager).list()}
        raw = json.loads(manager.get(CONFIG_KEY) or "[]")
    finally:
        manager.store.close()
    assert {f"p{run}-{n}" for n in range(4)} <= set(stored), sorted(stored)
    changed = stored[f"cli{run}"]  # three updates of different options of one provider
    assert (changed.name, changed.linking, changed.enabled) == ("Renamed", "existing_only",
                                                                False)
    assert len(raw) == len(stored)
