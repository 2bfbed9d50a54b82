"""config-init's generate(): every name of keys.py, in the right half, with sound values."""

from __future__ import annotations

import ipaddress
import json
import re
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509
from cryptography.x509.oid import NameOID
from cryptography.x509.verification import PolicyBuilder, Store
from joserfc import jwt
from joserfc.jwk import KeySet

from oxswarm.config import keys
from oxswarm.config.generate import Generated, generate
from oxswarm.config.params import Params
from oxswarm.crypto import jwks, pki

NOW = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)
PARAMS = Params.from_mapping(
    {
        "hostname": "id.example.org",
        "country_code": "FR",
        "state": "Ile-de-France",
        "city": "Paris",
        "admin_email": "admin@example.org",
        "org_name": "Acme",
        "admin_pw": "S3cret!pw",
    }
)


@pytest.fixture(scope="module")
def generated() -> Generated:
    return generate(PARAMS, now=NOW)


@pytest.fixture(scope="module")
def values(generated: Generated) -> dict[str, str]:
    return {**generated.config, **generated.secrets}


def _module_names() -> set[str]:
    """Every name constant of keys.py (lower-case string values of upper-case names)."""
    return {
        value
        for name, value in vars(keys).items()
        if name.isupper() and isinstance(value, str) and value.islower()
    }


def test_keys_module_partitions_names() -> None:
    assert _module_names() == keys.ALL_NAMES
    assert not keys.CONFIG_NAMES & keys.SECRET_NAMES


def test_every_key_generated_in_its_half(generated: Generated) -> None:
    assert set(generated.config) == keys.CONFIG_NAMES
    assert set(generated.secrets) == keys.SECRET_NAMES
    for value in [*generated.config.values(), *generated.secrets.values()]:
        assert isinstance(value, str) and value


def test_identity(generated: Generated) -> None:
    config = generated.config
    assert config[keys.HOSTNAME] == "id.example.org"
    assert config[keys.COUNTRY_CODE] == "FR"
    assert (config[keys.STATE], config[keys.CITY]) == ("Ile-de-France", "Paris")
    assert (config[keys.ORG_NAME], config[keys.ADMIN_EMAIL]) == ("Acme", "admin@example.org")
    assert config[keys.LDAP_BASE_DN] == "o=gluu"
    assert config[keys.LDAP_BIND_DN] == "cn=directory manager,o=gluu"
    assert config[keys.LDAP_PORT] == "1636"
    assert json.loads(config[keys.LDAP_PEERS]) == []
    assert uuid.UUID(config[keys.ADMIN_INUM]) != uuid.UUID(config[keys.ORG_INUM])


def test_passwords_and_tokens(generated: Generated) -> None:
    secrets = generated.secrets
    assert secrets[keys.ADMIN_PW] == "S3cret!pw"
    ldap_pw = secrets[keys.LDAP_ADMIN_PW]
    assert len(ldap_pw) >= 16 and ldap_pw != secrets[keys.ADMIN_PW]
    assert re.fullmatch(r"[A-Za-z0-9]{64}", secrets[keys.CSYNC2_KEY])
    for name in (keys.PAIRWISE_KEY, keys.PAIRWISE_SALT, keys.SESSION_SECRET):
        assert len(secrets[name]) >= 32
    assert secrets[keys.PAIRWISE_KEY] != secrets[keys.PAIRWISE_SALT]


def test_own_clients(generated: Generated) -> None:
    ids = [generated.config[id_key] for _, id_key, _ in keys.OWN_CLIENTS]
    client_secrets = [generated.secrets[secret_key] for _, _, secret_key in keys.OWN_CLIENTS]
    assert len(set(ids)) == len(ids) and len(set(client_secrets)) == len(client_secrets)
    assert generated.config[keys.OXAUTH_CLIENT_ID].startswith("1001.")
    for client_id in ids:
        prefix, _, rest = client_id.partition(".")
        assert prefix.isdigit() and uuid.UUID(rest)
    assert all(len(secret) >= 32 for secret in client_secrets)


def _verify(values: dict[str, str], cert_name: str, host: str) -> x509.Certificate:
    store = Store([pki.load_cert(values[keys.CA_CERT])])
    verifier = PolicyBuilder().store(store).time(NOW).build_server_verifier(x509.DNSName(host))
    cert = pki.load_cert(values[cert_name])
    verifier.verify(cert, [])
    return cert


def test_ca(values: dict[str, str]) -> None:
    ca = pki.load_cert(values[keys.CA_CERT])
    assert ca.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "Acme CA"
    assert ca.subject.get_attributes_for_oid(NameOID.COUNTRY_NAME)[0].value == "FR"
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert ca.not_valid_after_utc >= NOW + timedelta(days=3649)
    assert pki.key_matches_cert(values[keys.CA_CERT], values[keys.CA_KEY])


@pytest.mark.parametrize(
    ("cert_name", "key_name", "hosts"),
    [
        (keys.SSL_CERT, keys.SSL_KEY, ["id.example.org"]),
        (
            keys.LDAP_SSL_CERT,
            keys.LDAP_SSL_KEY,
            ["id.example.org", "localhost", "ldap", "ldap.server"],
        ),
        (keys.CSYNC2_CERT, keys.CSYNC2_CERT_KEY, ["csync2"]),
    ],
)
def test_issued_certs_chain_to_ca(
    values: dict[str, str], cert_name: str, key_name: str, hosts: list[str]
) -> None:
    for host in hosts:
        cert = _verify(values, cert_name, host)
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == hosts
    assert cert.not_valid_before_utc <= NOW < cert.not_valid_after_utc
    assert pki.key_matches_cert(values[cert_name], values[key_name])


def test_ldap_cert_for_more_names(values: dict[str, str]) -> None:
    names = ["ldap.n1", "ldap.n2", "10.203.0.1"]
    node = pki.issue_server_cert(values[keys.CA_CERT], values[keys.CA_KEY], names, now=NOW)
    cert = pki.load_cert(node.cert_pem)
    cert.verify_directly_issued_by(pki.load_cert(values[keys.CA_CERT]))
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.IPAddress) == [ipaddress.ip_address("10.203.0.1")]


@pytest.mark.parametrize(
    ("cert_name", "key_name"),
    [
        (keys.IDP_SIGNING_CERT, keys.IDP_SIGNING_KEY),
        (keys.IDP_ENCRYPTION_CERT, keys.IDP_ENCRYPTION_KEY),
    ],
)
def test_saml_certs(values: dict[str, str], cert_name: str, key_name: str) -> None:
    cert = pki.load_cert(values[cert_name])
    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "id.example.org"
    cert.verify_directly_issued_by(cert)
    assert pki.key_matches_cert(values[cert_name], values[key_name])


def test_saml_signing_and_encryption_keys_differ(values: dict[str, str]) -> None:
    assert values[keys.IDP_SIGNING_KEY] != values[keys.IDP_ENCRYPTION_KEY]


def test_oxauth_keys(generated: Generated) -> None:
    private = json.loads(generated.secrets[keys.OXAUTH_JWKS])
    public = json.loads(generated.config[keys.OXAUTH_JWKS_PUBLIC])
    assert public == jwks.public_jwks(private)
    assert json.loads(generated.config[keys.OXAUTH_SIG_ALGS]) == list(jwks.SIG_ALGS)
    assert json.loads(generated.config[keys.OXAUTH_ENC_ALGS]) == list(jwks.ENC_ALGS)
    algs = {key["alg"] for key in private["keys"]}
    assert algs == set(jwks.SIG_ALGS) | set(jwks.ENC_ALGS)
    rotated = datetime.fromisoformat(generated.config[keys.OXAUTH_KEY_ROTATED_AT])
    assert rotated == NOW and rotated.utcoffset() == timedelta(0)
    assert generated.config[keys.OXAUTH_KEY_ROTATED_AT].endswith("Z")
    assert {key["exp"] for key in private["keys"]} == {int(NOW.timestamp()) + 48 * 3600}
    for key in public["keys"]:
        assert "d" not in key


def test_jwt_signed_with_stored_jwks_verifies_with_public(generated: Generated) -> None:
    private = KeySet.import_key_set(json.loads(generated.secrets[keys.OXAUTH_JWKS]))
    public = KeySet.import_key_set(json.loads(generated.config[keys.OXAUTH_JWKS_PUBLIC]))
    token = jwt.encode({"alg": "RS256"}, {"sub": "admin"}, private)
    assert jwt.decode(token, public).claims == {"sub": "admin"}


def test_two_runs_give_different_secrets(generated: Generated) -> None:
    again = generate(PARAMS, now=NOW)
    for name, value in generated.secrets.items():
        if name == keys.ADMIN_PW:
            assert again.secrets[name] == value
        else:
            assert again.secrets[name] != value, name
    for name in (keys.ADMIN_INUM, keys.ORG_INUM, keys.OXAUTH_CLIENT_ID, keys.CA_CERT):
        assert again.config[name] != generated.config[name]
    assert again.config[keys.HOSTNAME] == generated.config[keys.HOSTNAME]


def test_repr_hides_secrets(generated: Generated) -> None:
    text = repr(generated)
    assert "S3cret!pw" not in text
    assert generated.secrets[keys.CA_KEY] not in text
    assert keys.CA_KEY in text


def test_default_now_is_current_time() -> None:
    before = datetime.now(UTC).replace(microsecond=0)
    generated = generate(PARAMS)
    rotated = datetime.fromisoformat(generated.config[keys.OXAUTH_KEY_ROTATED_AT])
    assert before <= rotated <= datetime.now(UTC)


def test_naive_now_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        generate(PARAMS, now=datetime(2030, 1, 1))


def test_oxauth_policy_defaults(generated: Generated) -> None:
    """A cluster registers clients only with an initial access token, 20 per address in
    10 minutes; the values are those oxAuth's policy reads."""
    from oxswarm.oxauth.policy import read_policy

    assert generated.config[keys.OXAUTH_REGISTRATION] == "token"
    policy = read_policy(generated.config.get)
    assert policy.registration == "token"
    assert (policy.registration_limit.requests, policy.registration_limit.window) == (20, 600)
