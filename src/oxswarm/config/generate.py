"""config-init's ``generate``: every configuration value and secret of a new cluster.

Pure: takes validated :class:`~oxswarm.config.params.Params`, returns the values; the
caller (ConfigManager) stores them. The names are those of :mod:`oxswarm.config.keys`;
values in :data:`~oxswarm.config.keys.SECRET_NAMES` go to ``secrets`` (encrypted at rest),
the rest to ``config``. Structured values are JSON text.

The cluster CA may be given (``ca``): ``oxswarm up`` makes it on the operator's machine
before the store starts (the store's own certificates chain to it), and config-init
issues every other certificate from that one CA instead of making a second.

Compared with Gluu 4.0's config-init: no 3DES "encoded" secrets (the store encrypts
them), no per-client JWKS for SCIM/Passport, and one JWKS for oxAuth with an ``exp`` per
key so that key rotation can add and retire keys one at a time.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final

from oxswarm.config import keys
from oxswarm.config.params import Params
from oxswarm.crypto import jwks, pki, rand

LDAP_BASE_DN: Final = "o=gluu"
LDAP_BIND_DN: Final = "cn=directory manager,o=gluu"
LDAP_PORT: Final = "1636"
# Names every directory server's certificate answers to, besides the public hostname.
LDAP_CERT_NAMES: Final = ("localhost", "ldap", "ldap.server")
CSYNC2_CERT_NAME: Final = "csync2"
CSYNC2_KEY_LENGTH: Final = 64

# Gluu's client id prefixes: the number names the kind of client.
CLIENT_ID_PREFIXES: Final[Mapping[str, str]] = {
    keys.OXAUTH_CLIENT_ID: "1001",
    keys.IDP_CLIENT_ID: "1101",
    keys.SCIM_RS_CLIENT_ID: "1201",
    keys.SCIM_RP_CLIENT_ID: "1202",
    keys.OXTRUST_API_RS_CLIENT_ID: "1401",
    keys.PASSPORT_RS_CLIENT_ID: "1501",
    keys.PASSPORT_RP_CLIENT_ID: "1502",
}


@dataclass(frozen=True)
class Generated:
    """Plain configuration values and secrets, by name; all values are text."""

    config: dict[str, str]
    secrets: dict[str, str]

    def __repr__(self) -> str:  # never print the secrets
        return f"Generated(config={sorted(self.config)}, secrets={sorted(self.secrets)})"


def generate(params: Params, *, now: datetime | None = None,
             ca: pki.CertAndKey | None = None) -> Generated:
    """Every value of :mod:`oxswarm.config.keys` for a cluster described by ``params``
    (certificates from ``ca`` when given, else from a new CA)."""
    if now is not None and now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    now = datetime.now(UTC) if now is None else now.astimezone(UTC)
    values: dict[str, str] = {}
    values.update(_identity(params))
    values.update(_clients())
    values.update(_pki(params, now, ca))
    values.update(_oxauth_keys(now))
    values.update(_oxauth_policy())
    values.update(
        {
            keys.ADMIN_PW: params.admin_pw.get_secret_value(),
            keys.LDAP_ADMIN_PW: rand.password(24),
            keys.PAIRWISE_KEY: rand.token(32),
            keys.PAIRWISE_SALT: rand.token(32),
            keys.SESSION_SECRET: rand.token(32),
            keys.CSYNC2_KEY: rand.alnum(CSYNC2_KEY_LENGTH),
            keys.REDIS_PW: rand.token(24),
        }
    )
    config = {name: value for name, value in values.items() if name not in keys.SECRET_NAMES}
    secrets = {name: value for name, value in values.items() if name in keys.SECRET_NAMES}
    return Generated(config=config, secrets=secrets)


def _oxauth_policy() -> dict[str, str]:
    """oxAuth's policy defaults (the same as :mod:`oxswarm.oxauth.policy`'s): a cluster
    registers clients only with an initial access token (``oxswarm dev up`` opens it)."""
    return {
        keys.OXAUTH_REGISTRATION: "token",
        keys.OXAUTH_REGISTRATION_RATE_LIMIT: "20",
        keys.OXAUTH_REGISTRATION_RATE_WINDOW: "600",
        keys.OXAUTH_LOCKOUT_USER_FAILURES: "5",
        keys.OXAUTH_LOCKOUT_ADDRESS_FAILURES: "20",
        keys.OXAUTH_LOCKOUT_WINDOW: "900",
        keys.OXAUTH_TRUST_FORWARDED_FOR: "false",
        keys.OXAUTH_LOCKOUT_ADDRESS_DELAY_MS: "3000",
        keys.OXAUTH_TRUSTED_PROXIES: "[]",  # none yet: the deployment writes the cluster's
        keys.OXAUTH_FETCH_ALLOW: "[]",
        keys.OXAUTH_FETCH_DENY: "[]",  # the same
        keys.OXAUTH_SESSION_LIFETIME: "86400",
        keys.OXAUTH_DEFAULT_ACR: "simple_password_auth",
    }


def _identity(params: Params) -> dict[str, str]:
    return {
        keys.HOSTNAME: params.hostname,
        keys.ORG_NAME: params.org_name,
        keys.COUNTRY_CODE: params.country_code,
        keys.STATE: params.state,
        keys.CITY: params.city,
        keys.ADMIN_EMAIL: params.admin_email,
        keys.ADMIN_INUM: rand.inum(),
        keys.ORG_INUM: rand.inum(),
        keys.LDAP_BASE_DN: LDAP_BASE_DN,
        keys.LDAP_BIND_DN: LDAP_BIND_DN,
        keys.LDAP_PORT: LDAP_PORT,
        keys.LDAP_PEERS: "[]",
        keys.CACHE_SHARDS: "[]",
    }


def _clients() -> dict[str, str]:
    values = {}
    for _name, id_key, secret_key in keys.OWN_CLIENTS:
        values[id_key] = rand.client_id(CLIENT_ID_PREFIXES[id_key])
        values[secret_key] = rand.token(32)
    return values


def _pki(params: Params, now: datetime, ca: pki.CertAndKey | None) -> dict[str, str]:
    if ca is None:
        ca = pki.create_ca(params.org_name, country_code=params.country_code, now=now)
    https = pki.issue_server_cert(ca.cert_pem, ca.key_pem, [params.hostname], now=now)
    ldap = pki.issue_server_cert(
        ca.cert_pem, ca.key_pem, [params.hostname, *LDAP_CERT_NAMES], now=now, client_auth=True
    )
    # csync2 peers compare the one shared certificate (GnuTLS); RSA for compatibility.
    csync2 = pki.issue_server_cert(
        ca.cert_pem, ca.key_pem, [CSYNC2_CERT_NAME], now=now, key_type="rsa", client_auth=True
    )
    signing = pki.self_signed_cert(params.hostname, now=now)
    encryption = pki.self_signed_cert(params.hostname, now=now)
    return {
        keys.CA_CERT: ca.cert_pem,
        keys.CA_KEY: ca.key_pem,
        keys.SSL_CERT: https.cert_pem,
        keys.SSL_KEY: https.key_pem,
        keys.LDAP_SSL_CERT: ldap.cert_pem,
        keys.LDAP_SSL_KEY: ldap.key_pem,
        keys.CSYNC2_CERT: csync2.cert_pem,
        keys.CSYNC2_CERT_KEY: csync2.key_pem,
        keys.IDP_SIGNING_CERT: signing.cert_pem,
        keys.IDP_SIGNING_KEY: signing.key_pem,
        keys.IDP_ENCRYPTION_CERT: encryption.cert_pem,
        keys.IDP_ENCRYPTION_KEY: encryption.key_pem,
    }


def _oxauth_keys(now: datetime) -> dict[str, str]:
    private = jwks.generate_jwks(now)
    return {
        keys.OXAUTH_JWKS: json.dumps(private),
        keys.OXAUTH_JWKS_PUBLIC: json.dumps(jwks.public_jwks(private)),
        keys.OXAUTH_SIG_ALGS: json.dumps(list(jwks.SIG_ALGS)),
        keys.OXAUTH_ENC_ALGS: json.dumps(list(jwks.ENC_ALGS)),
        keys.OXAUTH_KEY_ROTATED_AT: now.isoformat(timespec="seconds").replace("+00:00", "Z"),
    }
