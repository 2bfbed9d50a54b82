"""``/metrics`` of a real oxTrust process: SCIM and admin API requests count under their
route templates (``/Users/{id}``, never the id), the directory's calls are timed."""

from __future__ import annotations

import uuid

import httpx
import pytest
from tests.metricskit import moved, scrape, total, value
from tests.oxauth.conftest import Server
from tests.oxtrust.conftest import PREFIX

pytestmark = pytest.mark.integration

REQUESTS = "oxswarm_http_requests_total"


def test_scim_requests_by_template_and_status(oxtrust: Server, scim: httpx.Client) -> None:
    name = f"metrics-{uuid.uuid4().hex[:8]}"
    before = scrape(oxtrust.url)
    r = scim.post("/Users", json={"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                                  "userName": name})
    assert r.status_code == 201, r.text
    uid = r.json()["id"]
    assert scim.get(f"/Users/{uid}").status_code == 200
    assert scim.get(f"/Users/{uuid.uuid4()}").status_code == 404
    assert scim.delete(f"/Users/{uid}").status_code == 204
    with httpx.Client(base_url=oxtrust.url, trust_env=False, timeout=20) as anonymous:
        assert anonymous.get(PREFIX + "/Users").status_code == 401
    after = scrape(oxtrust.url)
    changed = moved(before, after)

    def count(endpoint: str, method: str, status: str) -> float:
        labels = {"endpoint": PREFIX + endpoint, "method": method, "status": status}
        return changed.get((REQUESTS, frozenset(labels.items())), 0.0)

    assert count("/Users", "POST", "201") == 1
    assert count("/Users/{id}", "GET", "200") == 1
    assert count("/Users/{id}", "GET", "404") == 1
    assert count("/Users/{id}", "DELETE", "204") == 1
    assert count("/Users", "GET", "401") == 1
    assert value(after, "oxswarm_http_request_duration_seconds_count",
                 endpoint=PREFIX + "/Users/{id}", method="GET") - value(
        before, "oxswarm_http_request_duration_seconds_count",
        endpoint=PREFIX + "/Users/{id}", method="GET") == 2
    text = httpx.get(oxtrust.url + "/metrics", trust_env=False).text
    assert uid not in text and name not in text  # no raw path, no user's name
    # the directory took the writes: timed, no error
    for operation in ("add", "search", "delete"):
        assert value(after, "oxswarm_backend_request_duration_seconds_count",
                     backend="directory", operation=operation) > value(
            before, "oxswarm_backend_request_duration_seconds_count",
            backend="directory", operation=operation), operation
    assert total(after, "oxswarm_backend_errors_total") == total(
        before, "oxswarm_backend_errors_total")


def test_admin_api_and_ui_templates(oxtrust: Server) -> None:
    before = scrape(oxtrust.url)
    with httpx.Client(base_url=oxtrust.url, trust_env=False, timeout=20) as http:
        assert http.get("/identity/restv1/api/v1/people").status_code == 401
        assert http.get("/identity/health").status_code == 200
        assert http.get("/identity/nothing/here").status_code == 404
    changed = moved(before, scrape(oxtrust.url))
    for endpoint, status in (("/identity/restv1/api/v1/people", "401"),
                             ("/identity/health", "200"), ("unmatched", "404")):
        labels = frozenset({"endpoint": endpoint, "method": "GET", "status": status}.items())
        assert changed.get((REQUESTS, labels)) == 1, (endpoint, changed)
