"""Names of every configuration value and secret that config-init generates.

This is the contract between config-init and everything that reads the store: the
directory's initial load, oxAuth, the NGINX and slapd renderers, csync2. Plain values
live under ``<prefix>/config/<name>``, secrets (encrypted) under ``<prefix>/secret/<name>``.
Structured values (JWKS, lists) are stored as JSON text.
"""

from __future__ import annotations

from typing import Final

# -- configuration (plain) --------------------------------------------------------
HOSTNAME: Final = "hostname"
ORG_NAME: Final = "org_name"
COUNTRY_CODE: Final = "country_code"
STATE: Final = "state"
CITY: Final = "city"
ADMIN_EMAIL: Final = "admin_email"
ADMIN_INUM: Final = "admin_inum"
ORG_INUM: Final = "org_inum"
LDAP_BASE_DN: Final = "ldap_base_dn"  # "o=gluu"
LDAP_BIND_DN: Final = "ldap_bind_dn"  # the directory's root DN, "cn=directory manager,o=gluu"
LDAP_PORT: Final = "ldap_port"  # "1636" (ldaps) in the cluster
LDAP_PEERS: Final = "ldap_peers"  # JSON list of ldap URLs, filled by the deployment
CACHE_SHARDS: Final = "cache_shards"  # JSON list of Twemproxy's shard names (the nodes), ditto
OXAUTH_CLIENT_ID: Final = "oxauth_client_id"  # oxTrust's own client at oxAuth
SCIM_RS_CLIENT_ID: Final = "scim_rs_client_id"
SCIM_RP_CLIENT_ID: Final = "scim_rp_client_id"
PASSPORT_RS_CLIENT_ID: Final = "passport_rs_client_id"
PASSPORT_RP_CLIENT_ID: Final = "passport_rp_client_id"
OXTRUST_API_RS_CLIENT_ID: Final = "oxtrust_api_rs_client_id"
IDP_CLIENT_ID: Final = "idp_client_id"
OXAUTH_SIG_ALGS: Final = "oxauth_sig_algs"  # JSON list
OXAUTH_ENC_ALGS: Final = "oxauth_enc_algs"  # JSON list
OXAUTH_KEY_ROTATED_AT: Final = "oxauth_key_rotated_at"  # ISO 8601 UTC
OXAUTH_JWKS_PUBLIC: Final = "oxauth_jwks_public"  # JSON JWKS, public parts only
CA_CERT: Final = "ca_cert"  # PEM of the internal CA (public: clients trust it)
SSL_CERT: Final = "ssl_cert"  # PEM, SAN = hostname
LDAP_SSL_CERT: Final = "ldap_ssl_cert"
IDP_SIGNING_CERT: Final = "idp_signing_cert"
IDP_ENCRYPTION_CERT: Final = "idp_encryption_cert"
# oxAuth policy (typed and validated by oxswarm.oxauth.policy; absent values: its defaults)
OXAUTH_REGISTRATION: Final = "oxauth_registration"  # open | token | off ("token")
OXAUTH_REGISTRATION_RATE_LIMIT: Final = "oxauth_registration_rate_limit"  # "20" per window
OXAUTH_REGISTRATION_RATE_WINDOW: Final = "oxauth_registration_rate_window"  # seconds, "600"
OXAUTH_LOCKOUT_USER_FAILURES: Final = "oxauth_lockout_user_failures"  # "5"
OXAUTH_LOCKOUT_ADDRESS_FAILURES: Final = "oxauth_lockout_address_failures"  # "20"
OXAUTH_LOCKOUT_WINDOW: Final = "oxauth_lockout_window"  # seconds, "900"
OXAUTH_TRUST_FORWARDED_FOR: Final = "oxauth_trust_forwarded_for"  # "false" (older switch)
OXAUTH_LOCKOUT_ADDRESS_DELAY_MS: Final = "oxauth_lockout_address_delay_ms"  # "3000"
OXAUTH_TRUSTED_PROXIES: Final = "oxauth_trusted_proxies"  # CIDRs, "[]" (the deployment's)
OXAUTH_FETCH_ALLOW: Final = "oxauth_fetch_allow"  # CIDRs fetches may reach anyway, "[]"
OXAUTH_FETCH_DENY: Final = "oxauth_fetch_deny"  # the cluster's own CIDRs (the deployment's)
OXAUTH_SESSION_LIFETIME: Final = "oxauth_session_lifetime"  # seconds of an SSO session, "86400"
OXAUTH_DEFAULT_ACR: Final = "oxauth_default_acr"  # if a request names none: "simple_password_auth"
# Optional values config-init does not write (absent: their module's defaults): the pages'
# branding (oxauth_brand_*: oxswarm.oxauth.branding) and SMTP (smtp_*: oxswarm.config.smtp).

# -- secrets (encrypted at rest) ----------------------------------------------------
ADMIN_PW: Final = "admin_pw"  # the admin user's password, as typed
LDAP_ADMIN_PW: Final = "ldap_admin_pw"  # the directory's root DN password
CA_KEY: Final = "ca_key"
SSL_KEY: Final = "ssl_key"
LDAP_SSL_KEY: Final = "ldap_ssl_key"
IDP_SIGNING_KEY: Final = "idp_signing_key"
IDP_ENCRYPTION_KEY: Final = "idp_encryption_key"
OXAUTH_JWKS: Final = "oxauth_jwks"  # JSON JWKS with private keys (kid, use, alg, exp)
OXAUTH_CLIENT_SECRET: Final = "oxauth_client_secret"
SCIM_RS_CLIENT_SECRET: Final = "scim_rs_client_secret"
SCIM_RP_CLIENT_SECRET: Final = "scim_rp_client_secret"
PASSPORT_RS_CLIENT_SECRET: Final = "passport_rs_client_secret"
PASSPORT_RP_CLIENT_SECRET: Final = "passport_rp_client_secret"
OXTRUST_API_RS_CLIENT_SECRET: Final = "oxtrust_api_rs_client_secret"
IDP_CLIENT_SECRET: Final = "idp_client_secret"
PAIRWISE_KEY: Final = "pairwise_calculation_key"
PAIRWISE_SALT: Final = "pairwise_calculation_salt"
SESSION_SECRET: Final = "session_secret"  # signs oxAuth's session and CSRF cookies
CSYNC2_KEY: Final = "csync2_key"  # csync2's pre-shared group key
CSYNC2_CERT: Final = "csync2_cert"  # the one TLS cert every csync2 node shares
CSYNC2_CERT_KEY: Final = "csync2_cert_key"
REDIS_PW: Final = "redis_pw"  # the cache's password (Redis ACL default user, redis_auth)
REDIS_PW_OTHER: Final = "redis_pw_other"  # accepted too, only while the cache password rotates

# oxAuth's own clients: (name, id key, secret key)
OWN_CLIENTS: Final = (
    ("oxTrust", OXAUTH_CLIENT_ID, OXAUTH_CLIENT_SECRET),
    ("SCIM RS", SCIM_RS_CLIENT_ID, SCIM_RS_CLIENT_SECRET),
    ("SCIM RP", SCIM_RP_CLIENT_ID, SCIM_RP_CLIENT_SECRET),
    ("Passport RS", PASSPORT_RS_CLIENT_ID, PASSPORT_RS_CLIENT_SECRET),
    ("Passport RP", PASSPORT_RP_CLIENT_ID, PASSPORT_RP_CLIENT_SECRET),
    ("oxTrust API RS", OXTRUST_API_RS_CLIENT_ID, OXTRUST_API_RS_CLIENT_SECRET),
    ("SAML IdP", IDP_CLIENT_ID, IDP_CLIENT_SECRET),
)

SECRET_NAMES: Final = frozenset(
    {
        ADMIN_PW, LDAP_ADMIN_PW, CA_KEY, SSL_KEY, LDAP_SSL_KEY, IDP_SIGNING_KEY,
        IDP_ENCRYPTION_KEY, OXAUTH_JWKS, OXAUTH_CLIENT_SECRET, SCIM_RS_CLIENT_SECRET,
        SCIM_RP_CLIENT_SECRET, PASSPORT_RS_CLIENT_SECRET, PASSPORT_RP_CLIENT_SECRET,
        OXTRUST_API_RS_CLIENT_SECRET, IDP_CLIENT_SECRET, PAIRWISE_KEY, PAIRWISE_SALT,
        SESSION_SECRET, CSYNC2_KEY, CSYNC2_CERT_KEY, REDIS_PW, REDIS_PW_OTHER,
    }
)

CONFIG_NAMES: Final = frozenset(
    {
        HOSTNAME, ORG_NAME, COUNTRY_CODE, STATE, CITY, ADMIN_EMAIL, ADMIN_INUM, ORG_INUM,
        LDAP_BASE_DN, LDAP_BIND_DN, LDAP_PORT, LDAP_PEERS, CACHE_SHARDS, OXAUTH_CLIENT_ID,
        SCIM_RS_CLIENT_ID, SCIM_RP_CLIENT_ID, PASSPORT_RS_CLIENT_ID, PASSPORT_RP_CLIENT_ID,
        OXTRUST_API_RS_CLIENT_ID, IDP_CLIENT_ID, OXAUTH_SIG_ALGS, OXAUTH_ENC_ALGS,
        OXAUTH_KEY_ROTATED_AT, OXAUTH_JWKS_PUBLIC, CA_CERT, SSL_CERT, LDAP_SSL_CERT,
        IDP_SIGNING_CERT, IDP_ENCRYPTION_CERT, CSYNC2_CERT, OXAUTH_REGISTRATION,
        OXAUTH_LOCKOUT_USER_FAILURES, OXAUTH_LOCKOUT_ADDRESS_FAILURES, OXAUTH_LOCKOUT_WINDOW,
        OXAUTH_TRUST_FORWARDED_FOR, OXAUTH_LOCKOUT_ADDRESS_DELAY_MS, OXAUTH_TRUSTED_PROXIES,
        OXAUTH_FETCH_ALLOW, OXAUTH_FETCH_DENY, OXAUTH_REGISTRATION_RATE_LIMIT,
        OXAUTH_REGISTRATION_RATE_WINDOW, OXAUTH_SESSION_LIFETIME, OXAUTH_DEFAULT_ACR,
    }
)
"""Every plain configuration value's name (the rest of this module's names are secrets)."""

TRANSIENT_NAMES: Final = frozenset({REDIS_PW_OTHER})
"""Secrets that exist only while something rotates (config-init does not generate them)."""

ALL_NAMES: Final = CONFIG_NAMES | SECRET_NAMES
