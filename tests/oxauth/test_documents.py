"""Discovery and JWKS bytes (oxauth/endpoints/documents.py): made again only when a
source is another object; ETag comparison of If-None-Match (RFC 9110 13.1.2)."""

from __future__ import annotations

import json
from typing import Any

from oxswarm.oxauth.endpoints.documents import Document, matches


def test_rendered_once_until_a_source_is_another_object() -> None:
    made: list[int] = []
    state: dict[str, Any] = {"config": {"v": 1}}

    def make(_prov: Any) -> dict[str, Any]:
        made.append(1)
        return {"v": state["config"]["v"]}

    doc = Document(lambda _p: (state["config"],), make, "public, max-age=60")
    first = doc.get(object())  # type: ignore[arg-type]
    assert doc.get(object()) is first and len(made) == 1  # type: ignore[arg-type]
    assert json.loads(first.body) == {"v": 1}
    assert (b"cache-control", b"public, max-age=60") in first.headers
    assert (b"content-length", str(len(first.body)).encode()) in first.headers
    state["config"] = {"v": 2}  # replaced, as a live policy change replaces deps.config
    second = doc.get(object())  # type: ignore[arg-type]
    assert len(made) == 2 and json.loads(second.body) == {"v": 2}
    assert second.etag != first.etag and (b"etag", second.etag) in second.not_modified


def test_if_none_match() -> None:
    tag = b'"abc"'
    assert matches('"abc"', tag) and matches('W/"abc"', tag) and matches("*", tag)
    assert matches('"x", "abc"', tag) and matches(' "x" ,W/"abc" ', tag)
    assert not matches(None, tag) and not matches("", tag) and not matches('"abcd"', tag)
    assert not matches("abc", tag)
