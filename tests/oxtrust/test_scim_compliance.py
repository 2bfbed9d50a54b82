"""The independent SCIM compliance checker from PyPI (``scim2-tester``) against a real
``oxswarm run oxtrust`` process: discovery, then create/read/replace/patch/delete of
Users and Groups as published in ``/Schemas``. No check may fail."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from scim2_client import BaseSyncSCIMClient
from scim2_tester import Status, check_server
from tests.oxtrust.conftest import PREFIX, Server, Tokens

from oxswarm.oxtrust.scim.auth import ALL_SCOPES

pytestmark = pytest.mark.integration
FAILED = {Status.ERROR, Status.CRITICAL}


class HttpxScimClient(BaseSyncSCIMClient):
    """scim2-client's sync engine over the project's httpx (its own engine needs httpx2)."""

    def __init__(self, client: httpx.Client) -> None:
        super().__init__()
        self.client = client

    def _stays_under_base_url(self, endpoint: str) -> bool:
        url = self.client.build_request("GET", endpoint).url
        base = self.client.base_url
        return (url.scheme, url.netloc) == (base.scheme, base.netloc) and url.raw_path.startswith(
            base.raw_path
        )

    def _parse_json(self, response: Any) -> Any:
        return response.json()

    def request(self, method: str, url: str, **kwargs: Any) -> Any:
        return self.client.request(method, url, **kwargs)


def test_scim2_tester_finds_no_failure(oxtrust: Server, token: Tokens) -> None:
    headers = {"Authorization": f"Bearer {token(*ALL_SCOPES)}"}
    with httpx.Client(
        base_url=oxtrust.url + PREFIX, headers=headers, trust_env=False, timeout=20
    ) as http:
        client = HttpxScimClient(http)
        results = check_server(client, raise_exceptions=False)
    failures = [f"{r.resource_type} {r.title}: {r.reason}" for r in results if r.status in FAILED]
    assert not failures, "\n".join(failures)
    for r in results:  # shown with -s: what the checker rated below SUCCESS
        if r.status != Status.SUCCESS:
            print(r.status.name, r.resource_type, r.title, r.reason)
    assert sum(r.status == Status.SUCCESS for r in results) >= 20, [r.title for r in results]
