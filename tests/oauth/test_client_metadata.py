"""The one client-metadata validator: whitelist, limits, URI rules, policy never read."""

from __future__ import annotations

from typing import Any

import pytest

from oxswarm.oauth.client_metadata import (
    MAX_LENGTH,
    MAX_VALUES,
    MetadataError,
    MetadataPolicy,
    RedirectUriError,
    as_request,
    validate,
)
from oxswarm.oauth.rfc7591 import client_response, dynamic_policy, parse_metadata

DYNAMIC = dynamic_policy(default_scopes=("openid", "profile", "email"), signing_algs=("RS256",),
                         allow_http=False)
DEV = dynamic_policy(default_scopes=("openid",), signing_algs=("RS256",), allow_http=True)
ADMIN = MetadataPolicy()
CB = "https://rp.example/cb"


def ok(policy: MetadataPolicy = DYNAMIC, **data: Any) -> Any:
    return validate({"redirect_uris": [CB], **data}, policy, client_id="c1")


def refused(field: str, policy: MetadataPolicy = DYNAMIC, *, redirect: bool = False,
            **data: Any) -> str:
    error = RedirectUriError if redirect else MetadataError
    with pytest.raises(error) as caught:
        validate({"redirect_uris": [CB], **data}, policy, client_id="c1")
    assert caught.value.field == field
    assert caught.value.status_code == 400
    assert caught.value.error == ("invalid_redirect_uri" if redirect
                                  else "invalid_client_metadata")
    description = str(caught.value.description)
    assert description.startswith(f"{field}: ")
    return description


# -- unknown metadata and policy ------------------------------------------------------------
def test_unknown_members_are_dropped_not_stored_not_echoed() -> None:
    meta = ok(skip_consent=True, colour="blue", software_statement="x.y.z",
              trusted=True, resource_server=True, allow_password_grant=True,
              access_token_lifetime=999999)
    assert meta.extra == {}
    assert (meta.trusted, meta.resource_server, meta.allow_password_grant) == (False,) * 3
    assert meta.access_token_lifetime is None
    body = client_response(meta, "https://id/register?client_id=c1")
    for name in ("skip_consent", "colour", "trusted", "resource_server", "allow_password_grant",
                 "access_token_lifetime", "software_statement"):
        assert name not in body


def test_stored_junk_is_not_echoed() -> None:
    """A client stored before this validator, with junk in ``extra``: never echoed."""
    import dataclasses

    meta = dataclasses.replace(ok(), extra={"skip_consent": True, "client_uri": CB})
    body = client_response(meta, "https://id/register?client_id=c1")
    assert "skip_consent" not in body and body["client_uri"] == CB
    assert "skip_consent" not in as_request(meta)


def test_known_extra_metadata_is_kept() -> None:
    meta = ok(client_uri="https://rp.example/", logo_uri="https://rp.example/l.png",
              tos_uri="https://rp.example/tos", policy_uri="https://rp.example/p",
              contacts=["ops@rp.example"], software_id="rp", software_version="1",
              default_max_age=3600, require_auth_time=True, default_acr_values=["pwd"],
              initiate_login_uri="https://rp.example/login")
    assert meta.extra["contacts"] == ["ops@rp.example"] and meta.extra["default_max_age"] == 3600
    assert client_response(meta, "u")["logo_uri"] == "https://rp.example/l.png"


@pytest.mark.parametrize("name", ["id_token_encrypted_response_alg", "request_uris",
                                  "userinfo_encrypted_response_alg"])
def test_unsupported_features_are_refused(name: str) -> None:
    assert "not supported" in refused(name, **{name: "RSA-OAEP"})


def test_null_means_absent() -> None:
    assert ok(client_name=None, jwks_uri=None).client_name == ""


# -- scopes and grant types ------------------------------------------------------------------
def test_dynamic_scopes_are_limited_to_the_defaults() -> None:
    assert ok(scope="openid email admin payments").scopes == ("openid", "email")
    assert ok(scope="admin").scopes == ("openid", "profile", "email")
    assert ok().scopes == ("openid", "profile", "email")
    assert ok(ADMIN, scope="openid payments").scopes == ("openid", "payments")
    refused("scope", ADMIN, scope='openid "bad"')


def test_password_grant_is_not_for_dynamic_clients() -> None:
    assert "password" in refused("grant_types", grant_types=["authorization_code", "password"])
    assert ok(ADMIN, grant_types=["authorization_code", "password"]).grant_types[1] == "password"


def test_grant_and_response_types_agree() -> None:
    refused("grant_types", grant_types=["urn:magic"])
    refused("response_types", response_types=["token"])
    refused("response_types", response_types=["code code"])
    refused("response_types", grant_types=["implicit"], response_types=["code"])
    meta = ok(grant_types=["authorization_code", "implicit"],
              response_types=["id_token code", "code"])
    assert meta.response_types == ("id_token code", "code")
    cc = validate({"grant_types": ["client_credentials"]}, DYNAMIC, client_id="c")
    assert cc.response_types == () and cc.redirect_uris == ()
    refused("redirect_uris", redirect=True, redirect_uris=[])


def test_public_clients_and_keys() -> None:
    refused("grant_types", token_endpoint_auth_method="none",
            grant_types=["authorization_code", "client_credentials"])
    refused("jwks_uri", token_endpoint_auth_method="private_key_jwt")
    refused("jwks", jwks={"keys": []}, jwks_uri="https://rp.example/jwks")
    refused("jwks", jwks={"keys": [{"kty": "RSA", "n": "x", "e": "AQAB", "d": "secret"}]})
    refused("jwks", jwks={"keys": [{"kty": "oct", "k": "c2VjcmV0"}]})
    refused("jwks", jwks={"keys": "none"})
    meta = ok(token_endpoint_auth_method="private_key_jwt",
              jwks={"keys": [{"kty": "EC", "crv": "P-256", "x": "a", "y": "b"}]})
    assert meta.jwks and meta.jwks["keys"][0]["kty"] == "EC"
    refused("id_token_signed_response_alg", id_token_signed_response_alg="none")
    refused("token_endpoint_auth_signing_alg", token_endpoint_auth_signing_alg="none")


def test_types_are_checked() -> None:
    refused("redirect_uris", redirect_uris=CB)
    refused("client_name", client_name=["x"])
    refused("client_name", client_name="a\x00b")
    refused("frontchannel_logout_session_required", frontchannel_logout_session_required="yes")
    refused("default_max_age", default_max_age=-1)
    refused("default_max_age", default_max_age=True)
    refused("contacts", contacts=["ok", 3])
    refused("application_type", application_type="desktop")
    with pytest.raises(MetadataError):
        validate(["not", "an", "object"], DYNAMIC, client_id="c")  # type: ignore[arg-type]


def test_pairwise_needs_a_sector_for_several_hosts() -> None:
    refused("sector_identifier_uri", subject_type="pairwise",
            redirect_uris=[CB, "https://other.example/cb"])
    assert ok(subject_type="pairwise").subject_type == "pairwise"


# -- limits ----------------------------------------------------------------------------------
def test_list_limit_boundary() -> None:
    uris = [f"https://rp.example/cb{i}" for i in range(MAX_VALUES + 1)]
    assert len(ok(redirect_uris=uris[:MAX_VALUES]).redirect_uris) == 32
    assert "more than 32 values" in refused("redirect_uris", redirect_uris=uris)
    contacts = [f"c{i}@rp.example" for i in range(33)]
    refused("contacts", contacts=contacts)
    refused("post_logout_redirect_uris", post_logout_redirect_uris=uris)
    refused("scope", ADMIN, scope=" ".join(f"s{i}" for i in range(33)))
    assert len(ok(ADMIN, scope=" ".join(f"s{i}" for i in range(32))).scopes) == 32


def test_length_limit_boundary() -> None:
    assert len(ok(client_name="n" * MAX_LENGTH).client_name) == 2048
    assert "longer than 2048" in refused("client_name", client_name="n" * (MAX_LENGTH + 1))
    base = "https://rp.example/"
    at_limit = base + "p" * (MAX_LENGTH - len(base))
    assert ok(redirect_uris=[at_limit]).redirect_uris == (at_limit,)
    refused("redirect_uris", redirect_uris=[at_limit + "p"])
    refused("software_id", software_id="s" * 2049)


# -- URIs ------------------------------------------------------------------------------------
@pytest.mark.parametrize("uri", [
    "javascript:alert(1)", "JavaScript:alert(1)", "data:text/html,<script>", "file:///etc/passwd",
    "vbscript:msgbox", "http://rp.example/cb", "https://rp.example/cb#frag",
    "https://user:pw@rp.example/cb", "https://rp.example/c b", "/relative/cb", "https:///cb",
    "https://rp.example:99999/cb", "myapp:/cb", "com.example.app:/cb",
])
def test_bad_redirect_uris(uri: str) -> None:
    refused("redirect_uris", redirect=True, redirect_uris=[uri])


def test_good_redirect_uris() -> None:
    assert ok(redirect_uris=["http://127.0.0.1:8080/cb", "http://localhost/cb",
                             "http://[::1]:9/cb", "https://rp.example/cb?x=1"])
    native = ok(application_type="native", redirect_uris=["com.example.app:/oauth2redirect"])
    assert native.redirect_uris == ("com.example.app:/oauth2redirect",)
    assert native.extra["application_type"] == "native"
    refused("redirect_uris", redirect=True, application_type="native",
            redirect_uris=["javascript:alert(1)"])
    refused("redirect_uris", redirect=True, application_type="native", redirect_uris=["app:/cb"])


@pytest.mark.parametrize("field", [
    "jwks_uri", "sector_identifier_uri", "logo_uri", "policy_uri", "tos_uri", "client_uri",
    "initiate_login_uri", "frontchannel_logout_uri", "backchannel_logout_uri",
])
def test_other_uris_are_https(field: str) -> None:
    for uri in ("javascript:alert(1)", "data:,x", "http://rp.example/x", "http://127.0.0.1/x",
                "https://rp.example/x#f", "com.example.app:/x", "https://u@rp.example/x"):
        refused(field, **{field: uri})
    assert ok(**{field: "https://rp.example/x"})
    assert ok(DEV, **{field: "http://127.0.0.1:8000/x"})  # dev issuer: loopback http
    refused(field, DEV, **{field: "http://rp.example/x"})


def test_post_logout_redirect_uris() -> None:
    for uri in ("javascript:alert(1)", "data:text/html,x", "http://rp.example/bye",
                "https://rp.example/bye#x"):
        refused("post_logout_redirect_uris", post_logout_redirect_uris=[uri])
    assert ok(post_logout_redirect_uris=["https://rp.example/bye"])


def test_frontchannel_logout_uri_cannot_break_a_csp() -> None:
    for uri in ("https://rp.example/x;script-src *", "https://rp.example/x,y",
                "https://rp.example/'unsafe-inline'", "https://rp.example/x y"):
        refused("frontchannel_logout_uri", frontchannel_logout_uri=uri)


def test_registration_parse_draws_an_id() -> None:
    first = parse_metadata({"redirect_uris": [CB]}, DYNAMIC)
    second = parse_metadata({"redirect_uris": [CB]}, DYNAMIC)
    assert first.client_id != second.client_id
