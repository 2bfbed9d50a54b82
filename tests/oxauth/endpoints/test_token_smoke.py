from __future__ import annotations

import pytest

pytestmark = pytest.mark.integration


def test_client_credentials(http, directory_tools) -> None:
    client = directory_tools.add_client()
    resp = http.post(
        "/oxauth/restv1/token",
        data={"grant_type": "client_credentials", "scope": "read"},
        auth=(client.client_id, client.client_secret),
    )
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["token_type"] == "Bearer" and body["scope"] == "read"
    assert resp.headers["cache-control"] == "no-store"
