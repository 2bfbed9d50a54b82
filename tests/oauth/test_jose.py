from __future__ import annotations

from oxswarm.oauth.jose import half_hash


def test_c_hash_of_oidc_core_example() -> None:
    # OpenID Connect Core 1.0 appendix A.4 (code id_token): c_hash of the example code
    code = "Qcb0Orv1zh30vL1MPRsbm-diHiMwcLyZvn1arpZv-Jxf_11jnpEX3Tgfvk"
    assert half_hash(code, "RS256") == "LDktKdoQak3Pk0cnXxCltA"


def test_hash_length_follows_the_algorithm() -> None:
    assert len(half_hash("x", "RS256")) == 22
    assert len(half_hash("x", "ES384")) == 32
    assert len(half_hash("x", "PS512")) == 43
