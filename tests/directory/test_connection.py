"""The pooled connection: failover to the next slapd, bounded failure, error translation."""

from __future__ import annotations

import threading
import time

import pytest

from oxswarm.directory.connection import LEVEL, REPLACE, Directory, DirectoryConfig
from oxswarm.errors import (
    AssertionFailed,
    Conflict,
    DirectoryError,
    DirectoryUnavailable,
    InvalidInput,
    NotFound,
)
from oxswarm.local.process import free_port, wait_until
from oxswarm.local.slapd import SlapdNode, write_tls

from .conftest import ROOT_DN, ROOT_PW, config_for


def unit(name: str) -> dict[str, list[str]]:
    return {"objectClass": ["organizationalUnit"], "ou": [name]}


@pytest.mark.integration
def test_failover_when_first_server_is_killed(
    cluster: list[SlapdNode], directory: Directory
) -> None:
    directory.add("ou=before,o=gluu", unit("before"))
    for node in cluster[1:]:  # replication is asynchronous: let it reach the others first
        with Directory(config_for(node)) as other:
            wait_until(lambda o=other: o.exists("ou=before,o=gluu"), 10, f"before on {node.url}")
    cluster[0].kill()
    started = time.monotonic()
    directory.add("ou=after,o=gluu", unit("after"))  # retried on the next server
    assert time.monotonic() - started < 5
    assert directory.exists("ou=before,o=gluu")
    assert directory.exists("ou=after,o=gluu")
    # new connections skip the dead server while it is marked down
    with Directory(config_for(*cluster)) as fresh:
        assert fresh.exists("ou=after,o=gluu")


@pytest.mark.integration
def test_concurrent_use_from_threads(directory: Directory) -> None:
    errors: list[BaseException] = []

    def work(k: int) -> None:
        try:
            directory.add(f"ou=t{k},o=gluu", unit(f"t{k}"))
            for _ in range(20):
                assert directory.exists(f"ou=t{k},o=gluu")
        except BaseException as exc:  # noqa: BLE001  (collected and re-raised below)
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []


@pytest.mark.integration
def test_size_limit_truncates_instead_of_failing(directory: Directory) -> None:
    directory.add("ou=limit,o=gluu", unit("limit"))
    for k in range(5):
        directory.add(f"ou=l{k},ou=limit,o=gluu", unit(f"l{k}"))
    assert len(directory.search("ou=limit,o=gluu", scope=LEVEL, size_limit=3)) == 3
    assert len(directory.search("ou=limit,o=gluu", scope=LEVEL, size_limit=0)) == 5


@pytest.mark.integration
def test_conditional_writes_with_the_assertion_control(directory: Directory) -> None:
    dn = "ou=cond,o=gluu"
    directory.add(dn, unit("cond"))
    csn = directory.read(dn, ["entryCSN"]).get("entryCSN")
    directory.modify(dn, {"description": [(REPLACE, ["one"])]}, assertion=f"(entryCSN={csn})")
    with pytest.raises(AssertionFailed):  # the entry moved on: the old version fails
        directory.modify(dn, {"description": [(REPLACE, ["two"])]}, assertion=f"(entryCSN={csn})")
    with pytest.raises(AssertionFailed):
        directory.delete(dn, assertion=f"(entryCSN={csn})")
    assert directory.read(dn).get("description") == "one"
    with pytest.raises(InvalidInput):
        directory.delete(dn, assertion="not a filter")
    directory.delete(dn, assertion="(description=one)")
    assert not directory.exists(dn)


@pytest.mark.integration
def test_errors_translated(single: SlapdNode) -> None:
    with Directory(config_for(single)) as directory:
        with pytest.raises(NotFound):
            directory.read("ou=missing,o=gluu")
        directory.add("ou=x,o=gluu", unit("x"))
        with pytest.raises(Conflict):
            directory.add("ou=x,o=gluu", unit("x"))
        with pytest.raises(InvalidInput):
            directory.add("ou=y,o=gluu", {"objectClass": ["organizationalUnit"], "nope": ["1"]})
        with pytest.raises(DirectoryError):
            directory.delete("o=gluu")  # not a leaf
    with (
        Directory(DirectoryConfig((single.url,), ROOT_DN, "wrong", ca_file=single.ca_file)) as bad,
        pytest.raises(DirectoryError),
    ):
        bad.exists("o=gluu")


def test_unreachable_is_bounded() -> None:
    urls = tuple(f"ldap://127.0.0.1:{free_port()}" for _ in range(2))
    with Directory(DirectoryConfig(urls, ROOT_DN, ROOT_PW, connect_timeout=1)) as directory:
        started = time.monotonic()
        with pytest.raises(DirectoryUnavailable):
            directory.exists("o=gluu")
        assert time.monotonic() - started < 10


@pytest.mark.parametrize("url", ["http://x", "ldap://", "ldap://h:99999"])
def test_bad_url(url: str) -> None:
    with pytest.raises(InvalidInput) as err:
        DirectoryConfig((url,), ROOT_DN, ROOT_PW)
    assert err.value.field == "url"
    assert ROOT_PW not in repr(DirectoryConfig(("ldap://h",), ROOT_DN, ROOT_PW))


@pytest.mark.integration
def test_a_server_back_at_a_new_address_under_its_name_is_found(
    single: SlapdNode, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A slapd container replaced by Swarm: same name, new address (not 300 s later)."""
    import socket

    real = socket.getaddrinfo
    where = {"address": single.host}

    def resolve(host: object, *args: object, **kwargs: object) -> object:
        if host == "ldap-moving":
            host = where["address"]
        return real(host, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    # the server's certificate answers to the name the client uses
    single.stop()
    tls = single.ca_file.parent
    write_tls(tls, single.ca_file.read_text(), (tls / "ca.key").read_text(),
              ["ldap-moving", "127.0.0.1", "127.0.0.2"])
    single.start()
    config = DirectoryConfig((f"ldaps://ldap-moving:{single.ldaps_port}",), ROOT_DN, ROOT_PW,
                             connect_timeout=1.0, receive_timeout=3.0, exhaust=1.0,
                             ca_file=single.ca_file)
    with Directory(config) as directory:
        directory.add("ou=first,o=gluu", unit("first"))
        single.stop()
        moved = SlapdNode(single.spec, single.workdir, single.port, single.ldaps_port,
                          host="127.0.0.2")
        moved.start()
        try:
            where["address"] = moved.host
            began = time.monotonic()
            wait_until(
                lambda: _answers(directory, "ou=first,o=gluu"),
                15,
                "the directory at its new address",
            )
            took = time.monotonic() - began
        finally:
            moved.stop()
    print(f"found at its new address {took:.2f}s after it moved")
    assert took < 10


def _answers(directory: Directory, dn: str) -> bool:
    try:
        return directory.exists(dn)
    except (DirectoryUnavailable, DirectoryError):
        return False


@pytest.mark.integration
def test_password_checks_keep_a_connection_and_survive_its_loss(
    cluster: list[SlapdNode], directory: Directory
) -> None:
    assert directory.check_password(ROOT_DN, ROOT_PW)
    assert not directory.check_password(ROOT_DN, ROOT_PW + "x")
    assert not directory.check_password("cn=nobody,o=gluu", ROOT_PW)
    assert not directory.check_password(ROOT_DN, "a\r\nb")  # SASLprep refuses it: no 500
    assert directory.check_password(ROOT_DN, ROOT_PW)
    assert directory._binders.qsize() == 1  # one kept connection answered every check
    kept = directory._binders.queue[0]
    assert kept.password is None  # the password is not kept on it
    kept.socket.close()  # the connection dies under it: retried on a fresh one
    assert directory.check_password(ROOT_DN, ROOT_PW)
    cluster[0].kill()  # its server dies: the next server answers
    started = time.monotonic()
    assert directory.check_password(ROOT_DN, ROOT_PW)
    assert not directory.check_password(ROOT_DN, "wrong")
    assert time.monotonic() - started < 5
