"""``/metrics`` of a real IdP process: SSO requests count under their route templates and
an SSO refused for a bad message counts under its status, as on oxAuth and oxTrust."""

from __future__ import annotations

import httpx
import pytest
from tests.metricskit import moved, scrape
from tests.oxauth.conftest import Server
from tests.oxshibboleth.conftest import Saml

pytestmark = pytest.mark.integration

REQUESTS = "oxswarm_http_requests_total"


def test_idp_requests_by_template_and_status(idp: Server, saml: Saml) -> None:
    before = scrape(idp.url)
    with httpx.Client(base_url=idp.url, trust_env=False, timeout=20) as http:
        assert http.get("/idp/shibboleth").status_code == 200
        refused = http.get("/idp/profile/SAML2/Redirect/SSO", params={"SAMLRequest": "%%%"})
        assert refused.status_code == 400
        assert http.get("/idp/no-such-page").status_code == 404
    changed = moved(before, scrape(idp.url))

    def count(endpoint: str, method: str, status: str) -> float:
        labels = {"endpoint": endpoint, "method": method, "status": status}
        return changed.get((REQUESTS, frozenset(labels.items())), 0.0)

    assert count("/idp/shibboleth", "GET", "200") == 1
    assert count("/idp/profile/SAML2/Redirect/SSO", "GET", "400") == 1
    assert count("unmatched", "GET", "404") == 1
