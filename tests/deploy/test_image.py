"""Image helpers: the content hash that tags an image, the host mirror, the slimmed base."""

from __future__ import annotations

from pathlib import Path

from oxswarm.deploy.image import base_key, slim_rootfs, tree_hash


def _tree(root: Path) -> None:
    (root / "src" / "pkg").mkdir(parents=True)
    (root / "docker").mkdir()
    (root / "pyproject.toml").write_text("[project]\n")
    (root / "docker" / "Dockerfile").write_text("FROM x\n")
    (root / "src" / "pkg" / "a.py").write_text("A = 1\n")


def test_tree_hash_changes_with_the_code_only(tmp_path: Path) -> None:
    _tree(tmp_path)
    first = tree_hash(tmp_path)
    (tmp_path / "src" / "pkg" / "__pycache__").mkdir()
    (tmp_path / "src" / "pkg" / "__pycache__" / "a.pyc").write_bytes(b"x")
    assert tree_hash(tmp_path) == first
    (tmp_path / "src" / "pkg" / "a.py").write_text("A = 2\n")
    assert tree_hash(tmp_path) != first


def test_base_key_depends_on_the_sources() -> None:
    assert base_key("deb http://a/debian bookworm main") != base_key("deb http://b/debian x")
    assert len(base_key("x")) == 12


def test_slim_rootfs_blocks_daemons_and_drops_docs(tmp_path: Path) -> None:
    for folder in ("etc/dpkg/dpkg.cfg.d", "etc/apt/apt.conf.d", "usr/sbin", "usr/share/doc/x"):
        (tmp_path / folder).mkdir(parents=True)
    (tmp_path / "etc/hostname").write_text("builder\n")
    slim_rootfs(tmp_path)
    assert (tmp_path / "usr/sbin/policy-rc.d").read_text().endswith("exit 101\n")
    assert not (tmp_path / "usr/share/doc/x").exists()
    assert (tmp_path / "etc/hostname").read_text() == ""
