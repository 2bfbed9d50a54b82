"""oxAuth's typed policy from the config store: defaults, values, malformed values named."""

from __future__ import annotations

import pytest

from oxswarm.config import keys as K
from oxswarm.errors import InvalidInput
from oxswarm.local.stack import Stack
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
        K.OXAUTH_TRUST_FORWARDED_FOR: "True",
    }
    policy = read_policy(values.get)
    assert policy.registration == "token"
    assert policy.lockout == LockoutPolicy(3, 50, 60)
    assert policy.trust_forwarded_for is True


@pytest.mark.parametrize(
    ("name", "value"),
    [
        (K.OXAUTH_REGISTRATION, "restricted"),
        (K.OXAUTH_LOCKOUT_USER_FAILURES, "five"),
        (K.OXAUTH_LOCKOUT_ADDRESS_FAILURES, "0"),
        (K.OXAUTH_LOCKOUT_WINDOW, "-1"),
        (K.OXAUTH_TRUST_FORWARDED_FOR, "maybe"),
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
