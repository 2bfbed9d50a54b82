"""The pure parts of the Authentication, Configuration (SMTP) and Sector identifier
settings: their checks, the policy's new values, the acr choice, hosted sectors."""

from __future__ import annotations

import pytest

from oxswarm.config import keys as K
from oxswarm.config import smtp
from oxswarm.directory.sectors import hosted_id, sector_uri
from oxswarm.errors import InvalidInput
from oxswarm.oauth.models import ClientMetadata
from oxswarm.oauth.oidc.core import acr
from oxswarm.oauth.oidc.core.pairwise import sector_identifier, subject_for
from oxswarm.oxauth.policy import read_policy
from oxswarm.oxtrust.ui.sectors import check as check_sector

GOOD = {"smtp_host": "mail.example.org", "smtp_port": "", "smtp_tls": "tls",
        "smtp_from": "idp@example.org", "smtp_user": "idp", "smtp_password": "s3cret"}


def test_smtp_accepts_and_defaults_the_port() -> None:
    values, errors = smtp.check(GOOD)
    assert errors == {}
    assert values == {"smtp_host": "mail.example.org", "smtp_port": "465", "smtp_tls": "tls",
                      "smtp_from": "idp@example.org", "smtp_user": "idp"}
    assert "smtp_password" not in values  # a secret: stored apart, never with the values
    assert smtp.check({**GOOD, "smtp_tls": "", "smtp_host": "[2001:db8::1]"})[0][
        "smtp_port"] == "587"


@pytest.mark.parametrize(("field", "value"), [
    ("smtp_host", ""), ("smtp_host", "mail example"), ("smtp_host", "-bad-.example"),
    ("smtp_port", "0"), ("smtp_port", "70000"), ("smtp_port", "smtp"),
    ("smtp_tls", "ssl"), ("smtp_from", "not-an-address"), ("smtp_from", "a@b"),
    ("smtp_from", "x@example.org\r\nBcc: y@example.org"), ("smtp_user", "a\nb"),
    ("smtp_password", "x" * 2000),
])
def test_smtp_refusals_name_their_field(field: str, value: str) -> None:
    _values, errors = smtp.check({**GOOD, field: value})
    assert list(errors) == [field] and errors[field].startswith(f"{field}: ")
    assert "s3cret" not in errors[field]


def test_read_smtp() -> None:
    assert smtp.read_smtp(lambda _k: None, lambda _k: None) is None
    stored = {"smtp_host": "mx.example.org", "smtp_from": "a@example.org"}
    got = smtp.read_smtp(stored.get, {"smtp_password": "pw"}.get)
    assert got is not None and (got.port, got.tls, got.password) == (587, "starttls", "pw")
    assert "pw" not in repr(got)


def test_policy_session_lifetime_and_default_acr() -> None:
    policy = read_policy(lambda _k: None)
    assert (policy.session_lifetime, policy.default_acr) == (86400, "simple_password_auth")
    got = read_policy({K.OXAUTH_SESSION_LIFETIME: "600"}.get)
    assert got.session_lifetime == 600
    for value in ("9", "2678401", "1h"):
        with pytest.raises(InvalidInput) as caught:
            read_policy({K.OXAUTH_SESSION_LIFETIME: value}.get)
        assert caught.value.field == K.OXAUTH_SESSION_LIFETIME
    with pytest.raises(InvalidInput, match="oxauth_default_acr: 'otp' is not a supported acr"):
        read_policy({K.OXAUTH_DEFAULT_ACR: "otp"}.get)


def test_acr_choice_order() -> None:
    default = acr.PASSWORD
    assert acr.chosen((), None, default) == default
    assert acr.chosen(("urn:x", acr.PASSWORD), None, "other") == acr.PASSWORD
    assert acr.chosen(("urn:x",), [acr.PASSWORD], "other") == acr.PASSWORD
    assert acr.chosen(("urn:x",), ["urn:y"], acr.PASSWORD) == acr.PASSWORD
    assert acr.chosen((), "not a list", acr.PASSWORD) == acr.PASSWORD
    # a default the sign-in's method cannot satisfy (a passport acr after a password) is
    # never claimed: the method's own acr is
    assert acr.chosen(("urn:x",), ["urn:y"], "passport_social") == acr.PASSWORD


def test_sector_form_checks() -> None:
    uris, description, errors = check_sector(
        {"redirect_uris": "https://a.example/cb\nhttps://b.example/cb https://a.example/cb",
         "description": "  portal   apps "})
    assert (uris, description, errors) == (
        ["https://a.example/cb", "https://b.example/cb"], "portal apps", {})
    for bad in ("", "javascript:alert(1)", "http://a.example/cb", "https://a.example/cb#x"):
        errors = check_sector({"redirect_uris": bad})[2]
        assert errors["redirect_uris"].startswith("redirect_uris: "), bad
    assert "description" in check_sector({"redirect_uris": "https://a.example/cb",
                                          "description": "x" * 201})[2]


def test_hosted_sector_uris_and_pairwise_subjects() -> None:
    issuer = "https://id.example.org"
    uri = sector_uri(issuer, "0123abcd0123abcd")
    assert uri == "https://id.example.org/oxauth/sectoridentifier/0123abcd0123abcd"
    assert hosted_id(issuer, uri) == "0123abcd0123abcd"
    assert hosted_id(issuer, "https://other.example/oxauth/sectoridentifier/x") is None
    assert hosted_id(issuer, uri + "/../x") is None

    def client(cid: str, sector: str | None) -> ClientMetadata:
        return ClientMetadata(client_id=cid, subject_type="pairwise",
                              sector_identifier_uri=sector,
                              redirect_uris=("https://a.example/cb",))

    one, same = client("c1", uri), client("c2", uri)
    other = client("c3", sector_uri(issuer, "ffffffffffffffff"))
    external = client("c4", "https://rp.example/sector.json")
    assert sector_identifier(external) == "rp.example"  # the host (Core 8.1)
    assert sector_identifier(one) == "id.example.org/oxauth/sectoridentifier/0123abcd0123abcd"
    subs = {c.client_id: subject_for(c, "user-1", "k", "s") for c in (one, same, other)}
    assert subs["c1"] == subs["c2"] != subs["c3"]
