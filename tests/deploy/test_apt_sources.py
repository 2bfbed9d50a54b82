"""The host's apt sources become debootstrap's mirror and the image's own sources."""

from __future__ import annotations

from pathlib import Path

import pytest

from oxswarm.deploy.apt_sources import IMAGE_LIST, IMAGE_SOURCES, host_sources
from oxswarm.errors import DeployError

DEB822 = """Types: deb
# a comment inside the stanza
URIs: http://mirror.example/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: {keyring}

Types: deb
URIs: http://mirror.example/debian-security
Suites: bookworm-security
Components: main

Types: deb
URIs: http://other.example/apt
Suites: nodistro
Components: main

Types: deb
URIs: http://off.example/debian
Suites: bookworm
Enabled: no
"""


def apt_dir(tmp_path: Path, deb822: str = "", lines: str = "") -> Path:
    root = tmp_path / "apt"
    (root / "sources.list.d").mkdir(parents=True)
    if deb822:
        (root / "sources.list.d" / "debian.sources").write_text(deb822)
    if lines:
        (root / "sources.list").write_text(lines)
    disabled = root / "sources.list.d" / "x.list.disabled"
    disabled.write_text("deb http://no.example/ bookworm main\n")
    return root


def test_deb822_stanzas_of_the_suite_family_are_kept_with_their_keyrings(
        tmp_path: Path) -> None:
    keyring = tmp_path / "host-keyring.gpg"
    keyring.write_bytes(b"key")
    found = host_sources("bookworm", apt_dir(tmp_path, DEB822.format(keyring=keyring)))
    assert found.mirror == "http://mirror.example/debian"
    assert len(found.stanzas) == 2  # the other distribution and the disabled one left out
    assert "other.example" not in found.text() and "off.example" not in found.text()
    assert "# a comment" not in found.text()
    rootfs = tmp_path / "rootfs"
    (rootfs / "etc/apt").mkdir(parents=True)
    (rootfs / IMAGE_LIST).write_text("deb http://debootstrap.example/debian bookworm main\n")
    found.install(rootfs)
    assert (rootfs / IMAGE_LIST).read_text() == ""  # debootstrap's own line is gone
    assert "debian-security" in (rootfs / IMAGE_SOURCES).read_text()
    assert (rootfs / str(keyring).lstrip("/")).read_bytes() == b"key"


def test_one_line_entries_are_read_and_src_and_other_suites_skipped(tmp_path: Path) -> None:
    lines = ("# deb http://commented.example/debian bookworm main\n"
             "deb-src http://m.example/debian bookworm main\n"
             "deb [arch=amd64 signed-by=/k.gpg] http://m.example/debian bookworm main contrib\n"
             "deb http://m.example/debian trixie main\n"
             "deb http://m.example/debian-security bookworm-security main\n")
    found = host_sources("bookworm", apt_dir(tmp_path, lines=lines))
    assert found.mirror == "http://m.example/debian"
    assert len(found.lines) == 3 and not any("trixie" in line for line in found.lines)
    assert found.keyrings == ("/k.gpg",)


def test_no_source_for_the_suite_names_the_files(tmp_path: Path) -> None:
    with pytest.raises(DeployError, match=r"sources\.list"):
        host_sources("bookworm", apt_dir(tmp_path, lines="deb http://m.example/d trixie main\n"))


def test_this_machines_sources_give_a_mirror() -> None:
    found = host_sources("bookworm")
    assert found.mirror.startswith(("http://", "https://"))
