"""oxAuth's typed policy from the config store: defaults, values, malformed values named."""

from __future__ import annotations

import pytest

from oxswarm.config import keys as K
from oxswarm.errors import InvalidInput
from oxswarm.local.stack import Stack
from oxswarm.oxauth.addressing import LEGACY_TRUSTED
from oxswarm.oxauth.policy import OxAuthPolicy, read_policy
from oxswarm.oxauth.web.lockout import LockoutPolicy


def test_absent_values_take_the_defaults() -> None:
    assert read_policy({}.get) == OxAuthPolicy()
    assert read_policy({}.get).registration == "token"
    assert read_policy({}.get).lockout == LockoutPolicy(5, 20, 900)


def test_values() -> None:
    values = {
        K.OXAUTH_REGISTRATION: "token",
        K.OXAUTH_LOCKOUT_USER_FAILURES: "3",
        K.OXAUTH_LOCKOUT_ADDRESS_FAILURES: " 50 ",
        K.OXAUTH_LOCKOUT_WINDOW: "60",
        K.OXAUTH_LOCKOUT_ADDRESS_DELAY_MS: "0",
        K.OXAUTH_TRUSTED_PROXIES: "10.216.0.0/16, 10.213.7.2",
        K.OXAUTH_FETCH_ALLOW: '["10.213.0.0/16"]',
        K.OXAUTH_FETCH_DENY: "10.216.0.0/16",
    }
    policy = read_policy(values.get)
    assert policy.registration == "token"
    assert policy.lockout == LockoutPolicy(3, 50, 60, 0)
    assert [str(n) for n in policy.trusted_proxies] == ["10.216.0.0/16", "10.213.7.2/32"]
    assert [str(n) for n in policy.fetch_allow] == ["10.213.0.0/16"]
    assert [str(n) for n in policy.fetch_deny] == ["10.216.0.0/16"]


def test_older_trust_forwarded_for_trusts_loopback_and_private_proxies() -> None:
    legacy = read_policy({K.OXAUTH_TRUST_FORWARDED_FOR: "True"}.get)
    assert legacy.trusted_proxies == LEGACY_TRUSTED
    assert read_policy({K.OXAUTH_TRUST_FORWARDED_FOR: "false"}.get).trusted_proxies == ()
    listed = {K.OXAUTH_TRUST_FORWARDED_FOR: "true", K.OXAUTH_TRUSTED_PROXIES: "10.0.0.1"}
    assert [str(n) for n in read_policy(listed.get).trusted_proxies] == ["10.0.0.1/32"]


@pytest.mark.parametrize(
    ("name", "value"),
    [
        (K.OXAUTH_REGISTRATION, "restricted"),
        (K.OXAUTH_LOCKOUT_USER_FAILURES, "five"),
        (K.OXAUTH_LOCKOUT_ADDRESS_FAILURES, "0"),
        (K.OXAUTH_LOCKOUT_WINDOW, "-1"),
        (K.OXAUTH_TRUST_FORWARDED_FOR, "maybe"),
        (K.OXAUTH_LOCKOUT_ADDRESS_DELAY_MS, "-5"),
        (K.OXAUTH_TRUSTED_PROXIES, "10.0.0.0/33"),
        (K.OXAUTH_FETCH_ALLOW, "lab"),
        (K.OXAUTH_FETCH_DENY, '["10.0.0.0/8", 3]'),
        (K.OXAUTH_REGISTRATION_RATE_LIMIT, "0"),
        (K.OXAUTH_REGISTRATION_RATE_WINDOW, "ten minutes"),
    ],
)
def test_malformed_value_is_named(name: str, value: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        read_policy({name: value}.get)
    assert caught.value.field == name
    assert name in str(caught.value)


@pytest.mark.integration
def test_config_init_writes_the_defaults_to_the_store(stack: Stack) -> None:
    manager = stack.manager()
    try:
        assert manager.get(K.OXAUTH_LOCKOUT_USER_FAILURES) == "5"
        assert manager.get(K.OXAUTH_TRUST_FORWARDED_FOR) == "false"
        # config-init writes "token"; these tests' stack opens it, as ``dev up`` does
        assert read_policy(manager.get).registration == "open"
        assert manager.get(K.OXAUTH_REGISTRATION_RATE_WINDOW) == "600"
    finally:
        manager.store.close()
