"""``/metrics`` of real oxAuth processes: a wrong password, an unknown user, a locked user,
a sign-in and tokens move exactly their counters, with bounded labels; several workers
(multiprocess mode) add up."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest
from tests.metricskit import moved, scrape, total, value
from tests.oxauth.conftest import Server
from tests.oxauth.web.conftest import PASSWORD, TOKEN, USER_LIMIT, Browser, World

pytestmark = pytest.mark.integration

SIGNINS = "oxswarm_signins_total"
TOKENS = "oxswarm_tokens_issued_total"
REQUESTS = "oxswarm_http_requests_total"


def test_sign_in_failures_and_success_move_their_counters(browser: Browser, world: World) -> None:
    url = browser.servers[0].url
    client, person = world.client(), world.person()
    before = scrape(url)
    assert browser.login(browser.authorize(client), person, password="wrong").status_code == 401
    assert browser.login(browser.authorize(client), "nobody-" + person.uid).status_code == 401
    assert browser.login(browser.authorize(client), person).status_code == 200  # consent page
    after = scrape(url)
    assert value(after, SIGNINS, result="bad_credentials") - value(
        before, SIGNINS, result="bad_credentials") == 2  # unknown user counts the same
    assert value(after, SIGNINS, result="success") - value(before, SIGNINS, result="success") == 1
    assert value(after, SIGNINS, result="locked") == value(before, SIGNINS, result="locked")
    # the requests by route template and status
    login = {"endpoint": "/oxauth/login", "method": "POST"}
    assert value(after, REQUESTS, status="401", **login) - value(
        before, REQUESTS, status="401", **login) == 2
    assert value(after, REQUESTS, status="200", **login) - value(
        before, REQUESTS, status="200", **login) == 1
    authorize = {"endpoint": "/oxauth/restv1/authorize", "method": "GET", "status": "200"}
    assert value(after, REQUESTS, **authorize) - value(before, REQUESTS, **authorize) == 3
    # the directory answered the binds (sign-ins): timed, no error
    binds = {"backend": "directory", "operation": "bind"}
    assert value(after, "oxswarm_backend_request_duration_seconds_count", **binds) > value(
        before, "oxswarm_backend_request_duration_seconds_count", **binds)
    assert total(after, "oxswarm_backend_errors_total") == total(
        before, "oxswarm_backend_errors_total")


def test_a_locked_user_counts_as_locked(browser: Browser, world: World) -> None:
    url = browser.servers[0].url
    client, person = world.client(), world.person()
    for _ in range(USER_LIMIT):
        assert browser.login(browser.authorize(client), person, password="x").status_code == 401
    before = scrape(url)
    assert browser.login(browser.authorize(client), person).status_code == 429
    after = scrape(url)
    assert moved(before, after)[(SIGNINS, frozenset({("result", "locked")}))] == 1
    assert value(after, SIGNINS, result="bad_credentials") == value(
        before, SIGNINS, result="bad_credentials")


def test_tokens_by_grant_and_errors(world: World) -> None:
    server = world.servers[0]
    client = world.client(grant_types=["client_credentials"])
    before = scrape(server.url)
    with server.client() as http:
        for _ in range(3):
            r = http.post(TOKEN, auth=(client.client_id, client.client_secret or ""),
                          data={"grant_type": "client_credentials"})
            assert r.status_code == 200, r.text
        bad = http.post(TOKEN, auth=(client.client_id, "wrong"),
                        data={"grant_type": "client_credentials"})
        assert bad.status_code == 401
        odd = http.post(TOKEN, auth=(client.client_id, client.client_secret or ""),
                        data={"grant_type": "made-up:grant"})
        assert odd.status_code == 400
    after = scrape(server.url)
    changed = moved(before, after)
    assert changed[(TOKENS, frozenset({("grant_type", "client_credentials")}))] == 3
    assert changed[("oxswarm_token_errors_total", frozenset(
        {("grant_type", "client_credentials"), ("error", "invalid_client")}))] == 1
    # an unknown grant type is one label value ("other"), never the client's text
    assert changed[("oxswarm_token_errors_total", frozenset(
        {("grant_type", "other"), ("error", "unsupported_grant_type")}))] == 1
    token = {"endpoint": TOKEN, "method": "POST"}  # the fast path, under its template
    assert changed[(REQUESTS, frozenset({**token, "status": "200"}.items()))] == 3
    assert changed[(REQUESTS, frozenset({**token, "status": "401"}.items()))] == 1
    assert changed[(REQUESTS, frozenset({**token, "status": "400"}.items()))] == 1
    assert changed[("oxswarm_http_request_duration_seconds_count",
                    frozenset(token.items()))] == 5
    # each token is stored in the cache (Twemproxy): timed, no error
    cache_set = {"backend": "cache", "operation": "set"}
    assert value(after, "oxswarm_backend_request_duration_seconds_count", **cache_set) - value(
        before, "oxswarm_backend_request_duration_seconds_count", **cache_set) >= 3
    assert total(after, "oxswarm_backend_errors_total", backend="cache") == total(
        before, "oxswarm_backend_errors_total", backend="cache")
    assert "made-up" not in str(after)


def test_unknown_paths_are_one_label_and_metrics_are_not_counted(world: World) -> None:
    server = world.servers[0]
    before = scrape(server.url)
    with server.client() as http:
        for path in ("/oxauth/restv1/no-such-thing", "/x/secret-looking-path-123", "/favicon.ico"):
            assert http.get(path).status_code == 404
    after = scrape(server.url)
    changed = moved(before, after)
    unmatched = frozenset({"endpoint": "unmatched", "method": "GET", "status": "404"}.items())
    assert changed[(REQUESTS, unmatched)] == 3
    text = httpx.get(server.url + "/metrics", trust_env=False).text
    assert "secret-looking" not in text and "no-such-thing" not in text
    assert total(after, REQUESTS, endpoint="/metrics") == 0  # scrapes are not requests


def test_several_workers_add_up(oxauth_servers: Callable[..., Server], world: World) -> None:
    server = oxauth_servers(workers="2")
    client = world.client(grant_types=["client_credentials"])
    before = scrape(server.url)
    with httpx.Client(base_url=server.url, timeout=10.0, trust_env=False,
                      limits=httpx.Limits(max_keepalive_connections=0)) as http:
        for _ in range(20):  # a new connection each: both workers take some
            r = http.post(TOKEN, auth=(client.client_id, client.client_secret or ""),
                          data={"grant_type": "client_credentials"})
            assert r.status_code == 200, r.text
    grant = {"grant_type": "client_credentials"}
    for _ in range(4):  # whichever worker answers the scrape, it sums both
        assert value(scrape(server.url), TOKENS, **grant) - value(before, TOKENS, **grant) == 20


def test_password_grant_sign_ins_count_too(world: World) -> None:
    server = world.servers[0]
    client = world.client(grant_types=["password"], allow_password_grant=True,
                          response_types=["code"])
    person = world.person()
    before = scrape(server.url)
    with server.client() as http:
        for username, password, status in ((person.uid, "wrong", 400),
                                           ("nobody-" + person.uid, PASSWORD, 400),
                                           (person.uid, PASSWORD, 200)):
            r = http.post(TOKEN, auth=(client.client_id, client.client_secret or ""),
                          data={"grant_type": "password", "username": username,
                                "password": password, "scope": "openid"})
            assert r.status_code == status, r.text
    changed = moved(before, scrape(server.url))
    assert changed[(SIGNINS, frozenset({("result", "bad_credentials")}))] == 2
    assert changed[(SIGNINS, frozenset({("result", "success")}))] == 1
    assert changed[(TOKENS, frozenset({("grant_type", "password")}))] == 1
    assert changed[("oxswarm_token_errors_total", frozenset(
        {("grant_type", "password"), ("error", "invalid_grant")}))] == 2
