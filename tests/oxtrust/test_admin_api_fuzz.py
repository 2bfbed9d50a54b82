"""The OpenAPI document checked against the running admin API by schemathesis.

Every operation of ``/identity/restv1/api/v1/openapi.json``, with inputs valid and
invalid by the document (a fixed seed: hypothesis ``derandomize``), sent with a token
holding both API scopes to a real oxtrust process: no answer is a 5xx, and every answer
has a documented status, content type and a body matching its schema. About 60 s.

The fuzzer may change oxAuth's live settings and create or delete entries; the settings
are put back afterwards and the admin person and the managers group must still exist
(random path values never name them).
"""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode, checks
from schemathesis.specs.openapi import checks as openapi_checks
from tests.oxauth.conftest import Server
from tests.oxtrust.test_admin_api import (  # noqa: F401  (module fixtures shared)
    Api,
    api,
    api_client,
    api_token,
)

from oxswarm.directory.slapdconf import ADMIN_GROUP_INUM
from oxswarm.local.stack import Stack
from oxswarm.oxtrust.api.routes import PREFIX, READ, WRITE

pytestmark = pytest.mark.integration

CHECKS = [
    checks.not_a_server_error,
    openapi_checks.status_code_conformance,
    openapi_checks.content_type_conformance,
    openapi_checks.response_schema_conformance,
]
EXAMPLES = 12  # per operation and mode: ~30 operations x 2 modes x 12 = ~720 requests


def test_schemathesis_finds_no_5xx_and_only_documented_answers(
    api: Api, oxtrust: Server, stack: Stack  # noqa: F811
) -> None:
    admin = api(READ, WRITE)
    saved = admin.get("/configuration/oxauth/settings").json()
    document = httpx.get(f"{oxtrust.url}{PREFIX}/openapi.json", timeout=10).json()
    schema = schemathesis.openapi.from_dict(document)
    headers = {"Authorization": admin.headers["Authorization"]}
    base_url = f"{oxtrust.url}{PREFIX}"
    calls = 0
    nothing_to_break: list[str] = []
    started = time.monotonic()
    try:
        for result in schema.get_all_operations():
            operation = result.ok()
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

                @settings(max_examples=EXAMPLES, derandomize=True, deadline=None, database=None,
                          phases=[Phase.explicit, Phase.generate],
                          suppress_health_check=list(HealthCheck))  # fmt: skip
                @given(case=operation.as_strategy(generation_mode=mode))
                def run(case: Any) -> None:
                    nonlocal calls
                    calls += 1
                    case.call_and_validate(base_url=base_url, headers=headers, checks=CHECKS,
                                           timeout=20)  # fmt: skip

                try:
                    run()
                except Unsatisfiable:  # no invalid input exists (no parameters, no body)
                    assert mode is GenerationMode.NEGATIVE, operation.label
                    nothing_to_break.append(operation.label)
    finally:
        admin.put("/configuration/oxauth/settings", json=saved)
    elapsed = time.monotonic() - started
    print(f"schemathesis: {calls} calls in {elapsed:.1f} s; no negative input: {nothing_to_break}")
    assert calls > 300
    with stack.directory() as directory:
        assert directory.exists(f"inum={ADMIN_GROUP_INUM},ou=groups,o=gluu")
    r = admin.get("/people", params={"q": "admin"})
    assert "admin" in [p["uid"] for p in r.json()["items"]]
