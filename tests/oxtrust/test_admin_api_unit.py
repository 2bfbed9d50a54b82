"""Unit tests of the admin API's models and of the OpenAPI document built from them."""

from __future__ import annotations

import pytest
from jsonschema import Draft202012Validator

from oxswarm.errors import InvalidInput
from oxswarm.oxtrust.api import models as m
from oxswarm.oxtrust.api.openapi import openapi_document
from oxswarm.oxtrust.api.operations import OPERATIONS
from oxswarm.oxtrust.api.routes import PREFIX, READ, WRITE
from oxswarm.oxtrust.api.service import SETTING_KEYS

DOC = openapi_document(OPERATIONS)


def test_every_gluu_path_is_documented() -> None:
    assert set(DOC["paths"]) >= {
        "/people", "/people/{inum}", "/groups", "/groups/{inum}", "/groups/{inum}/members",
        "/clients", "/clients/{client_id}", "/scopes", "/scopes/{name}", "/attributes",
        "/configuration", "/configuration/oxauth/settings", "/audit",
    }  # fmt: skip
    assert DOC["servers"] == [{"url": PREFIX}]
    assert DOC["openapi"] == "3.1.0"


def test_scopes_and_statuses_per_operation() -> None:
    for path, item in DOC["paths"].items():
        for method, op in item.items():
            wanted = READ if method == "get" else WRITE
            assert op["security"] == [{"oauth2": [wanted]}], (method, path)
            assert {"401", "403"} <= set(op["responses"]), (method, path)
            if "requestBody" in op:
                assert "400" in op["responses"], (method, path)
            for param in op["parameters"]:
                if param["in"] == "path":
                    assert f"{{{param['name']}}}" in path


def test_schemas_are_the_models_and_valid_json_schema() -> None:
    schemas = DOC["components"]["schemas"]
    assert schemas["PersonIn"]["properties"]["uid"]["pattern"] == m.UID
    assert "password" not in schemas["PersonOut"]["properties"]
    assert "client_secret" in schemas["ClientOut"]["properties"]
    assert set(schemas["Settings"]["properties"]) == set(SETTING_KEYS)
    for schema in schemas.values():
        Draft202012Validator.check_schema(schema)
    listing = DOC["paths"]["/people"]["get"]["parameters"]
    limit = next(p for p in listing if p["name"] == "limit")
    assert limit["schema"]["maximum"] == 200


def test_parse_names_the_first_bad_field() -> None:
    with pytest.raises(InvalidInput) as bad:
        m.parse(m.PersonIn, {"uid": "ok", "family_name": "X", "country": "france"})
    assert bad.value.field == "country" and str(bad.value).startswith("country: ")
    with pytest.raises(InvalidInput) as bad:
        m.parse(m.GroupIn, {"display_name": "g", "members": ["a", 3]})
    assert bad.value.field == "members.1"
    with pytest.raises(InvalidInput) as bad:
        m.parse(m.Settings, {"oxauth_lockout_window": "60", "unknown": "1"})
    assert bad.value.field == "unknown"
    assert m.parse(m.Settings, {"oxauth_registration": None}).model_dump(exclude_unset=True) == {
        "oxauth_registration": None
    }
