from __future__ import annotations

import pytest

from oxswarm.oauth import rfc7636
from oxswarm.oauth.rfc6749.errors import InvalidGrant, InvalidRequest

VERIFIER = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"  # RFC 7636 appendix B
CHALLENGE = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"


def test_appendix_b_vector() -> None:
    assert rfc7636.s256(VERIFIER) == CHALLENGE
    rfc7636.verify(CHALLENGE, "S256", VERIFIER)


@pytest.mark.parametrize("verifier", [None, "", "short", VERIFIER[:-1] + "A", "x" * 129])
def test_wrong_or_missing_verifier_is_invalid_grant(verifier: str | None) -> None:
    with pytest.raises(InvalidGrant):
        rfc7636.verify(CHALLENGE, "S256", verifier)


def test_verifier_without_challenge() -> None:
    rfc7636.verify(None, None, None)
    with pytest.raises(InvalidGrant):
        rfc7636.verify(None, None, VERIFIER)


def test_authorization_request_parameters() -> None:
    assert rfc7636.check_challenge(CHALLENGE, "S256", required=True) == (CHALLENGE, "S256")
    assert rfc7636.check_challenge(None, None, required=False) == (None, None)
    for args in [(None, None), (CHALLENGE, "plain"), (CHALLENGE, None), ("bad!", "S256")]:
        with pytest.raises(InvalidRequest):
            rfc7636.check_challenge(*args, required=True)
