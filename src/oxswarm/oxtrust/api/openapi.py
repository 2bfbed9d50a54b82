"""The OpenAPI 3.1 document of the admin API, built from the operations table and the
pydantic models (their JSON Schema, draft 2020-12, is OpenAPI 3.1's schema dialect).

Paths, parameters, scopes and status codes come from :class:`~.routes.Op`; no schema is
written by hand except the paging parameters and the security scheme (OAuth 2.0 client
credentials at oxAuth's token endpoint, with the two API scopes).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final, Literal

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from oxswarm.oxtrust.api import models as m
from oxswarm.oxtrust.api.routes import DEFAULT_LIMIT, MAX_LIMIT, PREFIX, READ, WRITE, Op

_REF: Final = "#/components/schemas/{model}"
_REASONS: Final = {
    400: "Invalid input; the error names the field",
    401: "No valid bearer access token",
    403: "The access token lacks the scope",
    404: "No such resource",
    409: "Conflicts with an existing resource",
    413: "The body is too large",
    503: "The directory or the config store is unavailable",
}


Mode = Literal["validation", "serialization"]


def _schemas(ops: Sequence[Op]) -> tuple[dict[str, Any], Mapping[Any, Any]]:
    models: list[type[BaseModel]] = [m.Error]
    for op in ops:
        models += [x for x in (op.body, op.response) if x is not None]
    unique = list(dict.fromkeys(models))
    modes: tuple[Mode, Mode] = ("validation", "serialization")
    pairs = [(model, mode) for mode in modes for model in unique]
    refs, defs = models_json_schema(pairs, ref_template=_REF)
    return dict(defs.get("$defs", {})), refs


def _parameters(op: Op) -> list[dict[str, Any]]:
    params: list[dict[str, Any]] = [
        {"name": name.split(":")[0], "in": "path", "required": True, "description": text,
         "schema": {"type": "string", "minLength": 1}}
        for name, text in op.params.items()
    ]  # fmt: skip
    if op.listing:
        params += [
            {"name": "start", "in": "query", "required": False,
             "description": "0-based index of the first item",
             "schema": {"type": "integer", "minimum": 0, "default": 0}},
            {"name": "limit", "in": "query", "required": False,
             "description": f"how many items, at most {MAX_LIMIT}",
             "schema": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT,
                        "default": DEFAULT_LIMIT}},
        ]  # fmt: skip
        if op.search:
            params.append({"name": "q", "in": "query", "required": False,
                           "description": "case-insensitive text to search for",
                           "schema": {"type": "string"}})  # fmt: skip
    return params


def _json(schema: dict[str, Any]) -> dict[str, Any]:
    return {"application/json": {"schema": schema}}


def openapi_document(ops: Sequence[Op], server: str = "") -> dict[str, Any]:
    """The document for ``ops``; ``server`` is the base URL (``""``: this host)."""
    components, refs = _schemas(ops)
    error = refs[(m.Error, "serialization")]
    paths: dict[str, dict[str, Any]] = {}
    for op in ops:
        responses: dict[str, Any] = {}
        if op.status == 204:
            responses["204"] = {"description": "Done"}
        else:
            assert op.response is not None
            responses[str(op.status)] = {
                "description": "Created" if op.status == 201 else "OK",
                "content": _json(refs[(op.response, "serialization")]),
            }
        for code in op.errors:
            responses[str(code)] = {"description": _REASONS[code], "content": _json(error)}
        operation: dict[str, Any] = {
            "operationId": op.op_id,
            "summary": op.summary,
            "tags": [op.tag],
            "security": [{"oauth2": [op.scope]}],
            "parameters": _parameters(op),
            "responses": responses,
        }
        if op.body is not None:
            operation["requestBody"] = {
                "required": True,
                "content": _json(refs[(op.body, "validation")]),
            }
        paths.setdefault(op.path, {})[op.method.lower()] = operation
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "OxSwarm oxTrust admin API",
            "version": "1",
            "description": "People, groups, clients, scopes, attributes, oxAuth settings "
            "and the audit log. See docs/oxtrust-api.md.",
        },
        "servers": [{"url": f"{server.rstrip('/')}{PREFIX}"}],
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {
                "oauth2": {
                    "type": "oauth2",
                    "description": "Tokens from oxAuth; only an administrator grants the "
                    "scopes (oxswarm clients add --scope ...).",
                    "flows": {
                        "clientCredentials": {
                            "tokenUrl": "/oxauth/restv1/token",
                            "scopes": {
                                READ: "Read everything the API serves",
                                WRITE: "Read and change it",
                            },
                        }
                    },
                }
            },
        },
    }
