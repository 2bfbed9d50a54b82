"""The SCIM protocol package imports no web framework and no store (style rule 2)."""

from __future__ import annotations

import ast
from pathlib import Path

import oxswarm.scim

FORBIDDEN = ("starlette", "ldap3", "redis", "httpx", "oxswarm.directory", "oxswarm.cache",
             "oxswarm.oxtrust", "oxswarm.oxauth", "oxswarm.config")  # fmt: skip


def test_scim_protocol_imports_no_web_or_store() -> None:
    package = Path(oxswarm.scim.__file__).parent
    for module in package.glob("*.py"):
        for node in ast.walk(ast.parse(module.read_text())):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            for name in names:
                assert not name.startswith(FORBIDDEN), f"{module.name} imports {name}"
