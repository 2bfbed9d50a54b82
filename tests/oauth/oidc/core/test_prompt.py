"""prompt / max_age / id_token_hint decisions (OpenID Connect Core 3.1.2.1, 3.1.2.6)."""

from __future__ import annotations

import pytest

from oxswarm.oauth.models import ClientMetadata
from oxswarm.oauth.oidc.core.authorization import AuthorizationRedirectError, validate
from oxswarm.oauth.oidc.core.prompt import (
    CONSENT,
    ISSUE,
    LOGIN,
    Situation,
    next_step,
    remembered_consent_matters,
)

CLIENT = ClientMetadata(client_id="rp", redirect_uris=("https://rp.example/cb",))


def req(**kw: str):  # type: ignore[no-untyped-def]
    p = {
        "client_id": "rp",
        "redirect_uri": "https://rp.example/cb",
        "response_type": "code",
        "scope": "openid",
    }
    p.update(kw)
    return validate(p, CLIENT)


def test_no_session_asks_for_login() -> None:
    assert next_step(req(), Situation(now=100)) == LOGIN


def test_prompt_none_without_session() -> None:
    with pytest.raises(AuthorizationRedirectError) as info:
        next_step(req(prompt="none"), Situation(now=100))
    assert info.value.error == "login_required"


def test_prompt_none_without_consent() -> None:
    with pytest.raises(AuthorizationRedirectError) as info:
        next_step(req(prompt="none"), Situation(now=100, auth_time=90, session_sub="u"))
    assert info.value.error == "consent_required"


def test_prompt_none_with_everything() -> None:
    s = Situation(now=100, auth_time=90, session_sub="u", consented=True)
    assert next_step(req(prompt="none"), s) == ISSUE


def test_prompt_login_until_fresh() -> None:
    s = Situation(now=100, auth_time=90, session_sub="u", consented=True)
    assert next_step(req(prompt="login"), s) == LOGIN
    fresh = Situation(now=100, auth_time=100, session_sub="u", consented=True, fresh_login=True)
    assert next_step(req(prompt="login"), fresh) == ISSUE


def test_max_age() -> None:
    s = Situation(now=100, auth_time=50, session_sub="u", consented=True)
    assert next_step(req(max_age="60"), s) == ISSUE
    assert next_step(req(max_age="10"), s) == LOGIN
    with pytest.raises(AuthorizationRedirectError) as info:
        next_step(req(max_age="10", prompt="none"), s)
    assert info.value.error == "login_required"


def test_prompt_consent() -> None:
    s = Situation(now=100, auth_time=90, session_sub="u", consented=True)
    assert next_step(req(prompt="consent"), s) == CONSENT
    s2 = Situation(now=100, auth_time=90, session_sub="u", consented=True, fresh_consent=True)
    assert next_step(req(prompt="consent"), s2) == ISSUE


def test_hint_for_another_user() -> None:
    s = Situation(now=100, auth_time=90, session_sub="u", consented=True, hint_sub="v")
    assert next_step(req(), s) == LOGIN
    with pytest.raises(AuthorizationRedirectError) as info:
        next_step(req(prompt="none"), s)
    assert info.value.error == "login_required"


def test_an_essential_acr_the_session_did_not_satisfy_asks_for_login() -> None:
    import json

    wanted = json.dumps({"id_token": {"acr": {"essential": True,
                                              "values": ["passport_social"]}}})
    password = Situation(now=100, auth_time=90, session_sub="u", consented=True,
                         session_acr="simple_password_auth")
    federated = Situation(now=100, auth_time=90, session_sub="u", consented=True,
                          session_acr="passport_social")
    assert next_step(req(claims=wanted), password) == LOGIN
    assert next_step(req(claims=wanted), federated) == ISSUE
    with pytest.raises(AuthorizationRedirectError) as caught:
        next_step(req(claims=wanted, prompt="none"), password)
    assert caught.value.cause.error == "login_required"
    assert next_step(req(), password) == ISSUE  # acr_values alone stay voluntary


@pytest.mark.parametrize("consented", [True, False])
def test_a_remembered_consent_is_looked_up_only_when_it_can_change_the_step(
    consented: bool,
) -> None:
    """Where :func:`remembered_consent_matters` says no, the step is the same whatever the
    remembered consent (the web flow then skips the directory read)."""
    signed_in = {"now": 100, "auth_time": 90, "session_sub": "u"}
    cases = [(req(prompt="consent"), False), (req(), True), (req(prompt="login"), False)]
    for request, fresh_consent in cases:
        matters = remembered_consent_matters(request, fresh_consent)
        steps = {next_step(request, Situation(**signed_in, fresh_login=True,  # type: ignore[arg-type]
                                              consented=c, fresh_consent=fresh_consent))
                 for c in (consented, not consented)}
        assert (len(steps) == 2) == matters
