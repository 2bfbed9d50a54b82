"""Resolver options for the cluster's containers (a pure merge and an in-place write)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from oxswarm.roles.resolver import (
    ENV_RESOLV_OPTIONS,
    RESOLV_OPTIONS,
    tune_from_env,
    tune_resolver,
    with_options,
)

DOCKER = "search lab\nnameserver 127.0.0.11\noptions ndots:0\n"


def test_options_are_added_to_dockers_file_keeping_its_own() -> None:
    text = with_options(DOCKER, RESOLV_OPTIONS)
    assert text == ("search lab\nnameserver 127.0.0.11\n"
                    "options ndots:0 timeout:1 attempts:3\n")


def test_an_option_of_the_same_name_is_replaced_and_the_merge_is_stable() -> None:
    text = with_options("nameserver 10.0.0.2\noptions timeout:5\noptions rotate\n\n",
                        ["timeout:1"])
    assert text == "nameserver 10.0.0.2\noptions rotate timeout:1\n"
    assert with_options(text, ["timeout:1"]) == text


def test_the_file_is_written_in_place(tmp_path: Path) -> None:
    conf = tmp_path / "resolv.conf"
    conf.write_text(DOCKER)
    inode = conf.stat().st_ino
    assert tune_resolver(RESOLV_OPTIONS, conf) is True
    assert conf.stat().st_ino == inode  # a bind mount cannot be renamed over
    assert conf.read_text().endswith("options ndots:0 timeout:1 attempts:3\n")
    assert tune_resolver(RESOLV_OPTIONS, conf) is False


def test_nothing_happens_without_the_variable(tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    conf = tmp_path / "resolv.conf"
    conf.write_text(DOCKER)
    monkeypatch.delenv(ENV_RESOLV_OPTIONS, raising=False)
    assert tune_from_env(conf) is False
    assert conf.read_text() == DOCKER
    monkeypatch.setenv(ENV_RESOLV_OPTIONS, "timeout:2")
    assert tune_from_env(conf) is True
    assert conf.read_text().endswith("options ndots:0 timeout:2\n")


def test_an_unwritable_file_is_logged_not_fatal(tmp_path: Path,
                                                caplog: pytest.LogCaptureFixture) -> None:
    missing = tmp_path / "none" / "resolv.conf"
    assert tune_resolver(RESOLV_OPTIONS, missing) is False
    assert "cannot set options" in caplog.text
    assert not os.path.exists(missing)
