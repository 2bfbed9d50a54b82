"""Authorization request validation: every error path with its exact error code."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from oxswarm.oauth import oauth2_response_modes as modes
from oxswarm.oauth.models import ClientMetadata
from oxswarm.oauth.oidc.core.authorization import (
    AuthorizationPageError,
    AuthorizationRedirectError,
    validate,
)

CB = "https://rp.example/cb"
CHALLENGE = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
ALL_TYPES = (
    "code",
    "token",
    "id_token",
    "id_token token",
    "code id_token",
    "code token",
    "code id_token token",
)


def client(**kw: object) -> ClientMetadata:
    base: dict[str, object] = {
        "client_id": "rp1",
        "client_secret": "s3cret",
        "redirect_uris": (CB, "https://rp.example/other"),
        "response_types": ALL_TYPES,
        "scopes": ("openid", "profile", "email"),
    }
    base.update(kw)
    return ClientMetadata(**base)  # type: ignore[arg-type]


def params(**kw: str) -> dict[str, str]:
    base = {"client_id": "rp1", "redirect_uri": CB, "response_type": "code", "scope": "openid"}
    base.update(kw)
    return {k: v for k, v in base.items() if v != ""}


def redirect_error(
    p: dict[str, str], c: ClientMetadata | None = None
) -> AuthorizationRedirectError:
    with pytest.raises(AuthorizationRedirectError) as info:
        validate(p, c or client())
    return info.value


def page_error(p: dict[str, str], c: ClientMetadata | None) -> AuthorizationPageError:
    with pytest.raises(AuthorizationPageError) as info:
        validate(p, c)
    return info.value


def test_valid_code_request() -> None:
    req = validate(
        params(state="xyz", code_challenge=CHALLENGE, code_challenge_method="S256"), client()
    )
    assert req.response_types == {"code"}
    assert req.response_mode == "query"
    assert req.scope == ("openid",)
    assert req.code_challenge == CHALLENGE
    assert req.params["state"] == "xyz"


@pytest.mark.parametrize("rt", ALL_TYPES)
def test_every_response_type(rt: str) -> None:
    req = validate(params(response_type=rt, nonce="n1"), client())
    assert req.response_types == frozenset(rt.split())
    assert req.response_mode == ("query" if rt == "code" else "fragment")


def test_missing_client_id_is_a_page() -> None:
    assert page_error(params(client_id=""), None).error == "invalid_request"


def test_unknown_client_is_a_page() -> None:
    assert page_error(params(), None).error == "invalid_client"


def test_unregistered_redirect_uri_is_a_page() -> None:
    err = page_error(params(redirect_uri="https://evil.example/cb"), client())
    assert err.error == "invalid_request_redirect_uri"


@pytest.mark.parametrize("uri", [CB + "/", CB + "?x=1", CB.upper(), "https://rp.example/cb#f"])
def test_redirect_uri_match_is_exact(uri: str) -> None:
    assert page_error(params(redirect_uri=uri), client()).error == "invalid_request_redirect_uri"


def test_missing_redirect_uri_for_openid_is_a_page() -> None:
    err = page_error(params(redirect_uri=""), client(redirect_uris=(CB,)))
    assert err.error == "invalid_request_redirect_uri"


def test_oauth_request_may_omit_the_single_redirect_uri() -> None:
    req = validate(params(redirect_uri="", scope="profile"), client(redirect_uris=(CB,)))
    assert req.redirect_uri == CB


def test_missing_response_type() -> None:
    err = redirect_error(params(response_type="", state="st"))
    assert err.error == "invalid_request"
    out = err.response("https://op.example")
    assert isinstance(out, modes.RedirectResponse)
    q = parse_qs(urlsplit(out.location).query)
    assert q["error"] == ["invalid_request"]
    assert q["state"] == ["st"]
    assert q["iss"] == ["https://op.example"]


def test_unsupported_response_type() -> None:
    assert redirect_error(params(response_type="code foo")).error == "unsupported_response_type"


def test_unregistered_response_type() -> None:
    err = redirect_error(params(response_type="token"), client(response_types=("code",)))
    assert err.error == "unauthorized_client"
    assert err.response_mode == "fragment"


@pytest.mark.parametrize(
    ("name", "value", "error"),
    [
        ("request", "eyJ.x.y", "request_not_supported"),
        ("request_uri", "https://rp.example/r", "request_uri_not_supported"),
        ("registration", "{}", "registration_not_supported"),
    ],
)
def test_unsupported_parameters(name: str, value: str, error: str) -> None:
    assert redirect_error(params(**{name: value})).error == error


def test_query_mode_refused_for_tokens() -> None:
    err = redirect_error(params(response_type="id_token", nonce="n", response_mode="query"))
    assert err.error == "invalid_request"
    assert err.response_mode == "fragment"


def test_unknown_response_mode() -> None:
    assert redirect_error(params(response_mode="jwt")).error == "invalid_request"


def test_form_post_mode_for_errors() -> None:
    err = redirect_error(params(response_mode="form_post", scope="admin"))
    assert err.error == "invalid_scope"
    assert isinstance(err.response(), modes.FormPostResponse)


def test_missing_scope() -> None:
    assert redirect_error(params(scope="")).error == "invalid_scope"


def test_scope_not_registered() -> None:
    assert redirect_error(params(scope="openid admin")).error == "invalid_scope"


def test_id_token_needs_openid() -> None:
    err = redirect_error(params(response_type="id_token", scope="profile", nonce="n"))
    assert err.error == "invalid_scope"


@pytest.mark.parametrize("rt", [t for t in ALL_TYPES if t != "code"])
def test_nonce_required_for_implicit_and_hybrid(rt: str) -> None:
    assert redirect_error(params(response_type=rt)).error == "invalid_request"


@pytest.mark.parametrize("prompt", ["none login", "bogus", "none consent"])
def test_bad_prompt(prompt: str) -> None:
    assert redirect_error(params(prompt=prompt)).error == "invalid_request"


@pytest.mark.parametrize("max_age", ["-1", "abc", "1.5"])
def test_bad_max_age(max_age: str) -> None:
    assert redirect_error(params(max_age=max_age)).error == "invalid_request"


def test_public_client_needs_pkce() -> None:
    public = client(token_endpoint_auth_method="none", client_secret=None)
    assert redirect_error(params(), public).error == "invalid_request"
    assert validate(params(code_challenge=CHALLENGE, code_challenge_method="S256"), public)


@pytest.mark.parametrize(
    "extra",
    [
        {"code_challenge": CHALLENGE},  # method defaults to plain: refused
        {"code_challenge": CHALLENGE, "code_challenge_method": "plain"},
        {"code_challenge": "short", "code_challenge_method": "S256"},
        {"code_challenge_method": "S256"},
    ],
)
def test_pkce_errors(extra: dict[str, str]) -> None:
    assert redirect_error(params(**extra)).error == "invalid_request"


def test_claims_must_be_an_object() -> None:
    assert redirect_error(params(claims="[1]")).error == "invalid_request"
    assert redirect_error(params(claims="{bad")).error == "invalid_request"
    req = validate(params(claims='{"userinfo": {"email": null}}'), client())
    assert req.claims == {"userinfo": {"email": None}}


def test_long_state_refused() -> None:
    assert redirect_error(params(state="x" * 3000)).error == "invalid_request"
