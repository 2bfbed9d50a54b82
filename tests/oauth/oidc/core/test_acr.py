"""acr (OpenID Connect Core 5.5.1.1): which essential requests can be met."""

from __future__ import annotations

from oxswarm.oauth.oidc.core import acr


def test_no_claims_request() -> None:
    assert acr.essential_acr_values(None) is None
    assert acr.can_satisfy(None)
    assert acr.can_satisfy({"userinfo": {"email": None}})


def test_voluntary_acr_is_always_satisfiable() -> None:
    assert acr.can_satisfy({"id_token": {"acr": {"values": ["urn:mace:incommon:iap:silver"]}}})


def test_essential_values() -> None:
    unmet = {"id_token": {"acr": {"essential": True, "values": ["otp", "u2f"]}}}
    assert acr.essential_acr_values(unmet) == ("otp", "u2f")
    assert not acr.can_satisfy(unmet)
    met = {"id_token": {"acr": {"essential": True, "values": ["otp", acr.PASSWORD]}}}
    assert acr.can_satisfy(met)
    single = {"id_token": {"acr": {"essential": True, "value": acr.PASSWORD}}}
    assert acr.essential_acr_values(single) == (acr.PASSWORD,) and acr.can_satisfy(single)
