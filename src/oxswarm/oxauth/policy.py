"""oxAuth's policy settings, typed, from the config store (values config-init writes).

* ``oxauth_registration``: ``token`` (default: an initial access token is required,
  RFC 7591 3; ``oxswarm clients registration-token`` issues them), ``open`` or ``off``:
  dynamic client registration. The old single secret ``oxauth_registration_token``,
  when set, is accepted as a token too (compatibility).
* ``oxauth_registration_rate_limit``: int >= 1, default 20: registration requests per
  client address within a window; more answer 429.
* ``oxauth_registration_rate_window``: seconds >= 1, default 600: that window.
* ``oxauth_lockout_user_failures``: int >= 1, default 5: failed sign-ins per user within
  a window before that user's sign-in is refused.
* ``oxauth_lockout_address_failures``: int >= 1, default 20: failures per client address
  after which attempts from it are slowed down (never refused).
* ``oxauth_lockout_address_delay_ms``: int >= 0, default 3000: the longest such delay.
* ``oxauth_lockout_window``: seconds >= 1, default 900: the window (it starts at the first
  failure).
* ``oxauth_trusted_proxies``: CIDRs, default none: proxies whose ``X-Forwarded-For`` is
  believed (:mod:`oxswarm.oxauth.addressing`).
* ``oxauth_trust_forwarded_for``: bool, default false: the older switch; true with no
  ``oxauth_trusted_proxies`` trusts proxies on loopback and the private networks.
* ``oxauth_fetch_allow``: CIDRs, default none: private networks server-side fetches may
  reach anyway (a lab) (:mod:`oxswarm.oxauth.adapters.outbound`).
* ``oxauth_fetch_deny``: CIDRs, default none: the cluster's own networks, never fetched
  from (the issuer's addresses are added by each process).
* ``oxauth_fetch_http``: CIDRs, default none: hosts server-side fetches may reach over
  plain http (an upstream provider on loopback or a partner's lab without TLS); such an
  address must still be allowed by the rules above (loopback and private networks only
  through ``oxauth_fetch_allow``). In dev (``--dev``) http is allowed everywhere.
* ``oxauth_fetch_ca``: PEM certificates, default none: trusted by server-side fetches
  besides the public CAs (a partner's private CA); at most 64 KiB and 20 certificates,
  each one parsed (:func:`fetch_ca`).
* ``oxauth_session_lifetime``: seconds, 10 to 31 days, default 86400: the longest life of a
  browser (SSO) session from its sign-in; a session older than it is over, also one that
  began before the value was lowered.
* ``oxauth_default_acr``: one of :data:`oxswarm.oauth.oidc.core.acr.SUPPORTED`, default
  ``simple_password_auth``: the method (and ID token ``acr``) of a sign-in whose request
  asks for no supported ``acr_values`` and whose client has no supported
  ``default_acr_values``.

A value that is absent takes its default (a store initialised by an older config-init);
a value that is present but malformed is an :class:`~oxswarm.errors.InvalidInput` naming
it, at start, never a silent default. The lockout applies to the login form and the
password grant alike.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final, Literal, cast

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from oxswarm.config import keys as K
from oxswarm.errors import InvalidInput
from oxswarm.oauth.oidc.core import acr
from oxswarm.oauth.tokens import token_hash
from oxswarm.oxauth.adapters.outbound import FetchRules
from oxswarm.oxauth.addressing import LEGACY_TRUSTED, Network, parse_networks
from oxswarm.oxauth.web.lockout import LockoutPolicy

# The old single initial access token (a secret), still accepted in ``token`` mode.
REGISTRATION_TOKEN: Final = "oxauth_registration_token"
# PEM certificates server-side fetches trust besides the public CAs; absent: none
FETCH_CA: Final = "oxauth_fetch_ca"
# CIDRs server-side fetches may reach over plain http; absent: none
FETCH_HTTP: Final = "oxauth_fetch_http"

RegistrationMode = Literal["open", "token", "off"]
REGISTRATION_MODES: Final = ("open", "token", "off")
_TRUE: Final = ("true", "yes", "1", "on")
_FALSE: Final = ("false", "no", "0", "off")


@dataclass(frozen=True, slots=True)
class RegistrationLimit:
    """At most ``requests`` registration requests per client address in ``window`` s."""

    requests: int = 20
    window: int = 600


@dataclass(frozen=True, slots=True)
class OxAuthPolicy:
    registration: RegistrationMode = "token"
    lockout: LockoutPolicy = field(default_factory=LockoutPolicy)
    trusted_proxies: tuple[Network, ...] = ()
    fetch_allow: tuple[Network, ...] = ()
    fetch_deny: tuple[Network, ...] = ()
    fetch_ca: str = ""
    fetch_http: tuple[Network, ...] = ()
    registration_limit: RegistrationLimit = field(default_factory=RegistrationLimit)
    session_lifetime: int = 86400
    default_acr: str = acr.PASSWORD


    def fetch_rules(self, own: tuple[Network, ...] = (), *, dev: bool = False,
                    plain_http: bool = False) -> FetchRules:
        """The rules of server-side fetches under this policy (``own``: the process's own
        addresses, denied with ``oxauth_fetch_deny``)."""
        return FetchRules(allow=self.fetch_allow, deny=self.fetch_deny + own, dev=dev,
                          plain_http=plain_http, http_allow=self.fetch_http)


SESSION_LIFETIME_MAX: Final = 31 * 86400
FETCH_CA_MAX_BYTES: Final = 64 * 1024
FETCH_CA_MAX_CERTS: Final = 20


def _int(get: Callable[[str], str | None], name: str, default: int, minimum: int = 1,
         maximum: int | None = None) -> int:
    raw = get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw.strip())
    except ValueError:
        raise InvalidInput(f"{name}: {raw!r} is not an integer", field=name) from None
    if value < minimum:
        raise InvalidInput(f"{name}: {value} must be at least {minimum}", field=name)
    if maximum is not None and value > maximum:
        raise InvalidInput(f"{name}: {value} must be at most {maximum}", field=name)
    return value


def default_acr(value: str | None, name: str = K.OXAUTH_DEFAULT_ACR) -> str:
    chosen = (value or acr.PASSWORD).strip()
    if chosen not in acr.SUPPORTED:
        raise InvalidInput(
            f"{name}: {chosen[:64]!r} is not a supported acr ({', '.join(acr.SUPPORTED)})",
            field=name)
    return chosen


def fetch_ca(value: str | None, name: str = FETCH_CA) -> str:
    """``oxauth_fetch_ca``: the PEM certificates re-encoded (``""`` when none), each parsed;
    an :class:`InvalidInput` naming the key otherwise."""
    text = (value or "").strip()
    if not text:
        return ""
    if len(text) > FETCH_CA_MAX_BYTES:
        raise InvalidInput(f"{name}: more than {FETCH_CA_MAX_BYTES} bytes", field=name)
    if "-----BEGIN CERTIFICATE-----" not in text:
        raise InvalidInput(f"{name}: not PEM certificates (-----BEGIN CERTIFICATE-----)",
                           field=name)
    try:
        certificates = x509.load_pem_x509_certificates(text.encode())
    except ValueError as exc:
        raise InvalidInput(f"{name}: a certificate does not parse ({exc})", field=name) from None
    if len(certificates) > FETCH_CA_MAX_CERTS:
        raise InvalidInput(f"{name}: more than {FETCH_CA_MAX_CERTS} certificates", field=name)
    return "".join(c.public_bytes(serialization.Encoding.PEM).decode() for c in certificates)


def _bool(get: Callable[[str], str | None], name: str, default: bool) -> bool:
    raw = get(name)
    if raw is None or raw.strip() == "":
        return default
    text = raw.strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise InvalidInput(f"{name}: {raw!r} is not true or false", field=name)


def registration_mode(value: str | None, name: str = K.OXAUTH_REGISTRATION) -> RegistrationMode:
    mode = (value or "token").strip()
    if mode not in REGISTRATION_MODES:
        raise InvalidInput(f"{name}: {mode!r} is not open, token or off", field=name)
    return cast(RegistrationMode, mode)


def fixed_mode(value: str | None) -> RegistrationMode | None:
    """``--registration`` of ``oxswarm run oxauth``: when given, it wins over the store."""
    return registration_mode(value, "registration") if value else None


def registration_access(
    stored: RegistrationMode,
    fixed: RegistrationMode | None,
    get_secret: Callable[[str], str | None],
) -> tuple[RegistrationMode, str | None]:
    """The registration mode in force and, in ``token`` mode, the SHA-256 of the old
    single initial access token (the secret ``oxauth_registration_token``) when set."""
    mode = fixed or stored
    if mode != "token":
        return mode, None
    token = get_secret(REGISTRATION_TOKEN)
    return mode, token_hash(token) if token else None


def read_policy(get: Callable[[str], str | None]) -> OxAuthPolicy:
    """The policy from ``get`` (a config value by name, e.g. ``ConfigManager.get``)."""
    defaults = LockoutPolicy()
    limit = RegistrationLimit()
    return OxAuthPolicy(
        registration=registration_mode(get(K.OXAUTH_REGISTRATION)),
        lockout=LockoutPolicy(
            max_user_failures=_int(get, K.OXAUTH_LOCKOUT_USER_FAILURES, defaults.max_user_failures),
            max_address_failures=_int(
                get, K.OXAUTH_LOCKOUT_ADDRESS_FAILURES, defaults.max_address_failures
            ),
            window=_int(get, K.OXAUTH_LOCKOUT_WINDOW, defaults.window),
            address_delay_ms=_int(
                get, K.OXAUTH_LOCKOUT_ADDRESS_DELAY_MS, defaults.address_delay_ms, minimum=0
            ),
        ),
        trusted_proxies=trusted_proxies(get),
        fetch_allow=parse_networks(get(K.OXAUTH_FETCH_ALLOW), K.OXAUTH_FETCH_ALLOW),
        fetch_deny=parse_networks(get(K.OXAUTH_FETCH_DENY), K.OXAUTH_FETCH_DENY),
        fetch_ca=fetch_ca(get(FETCH_CA)),
        fetch_http=parse_networks(get(FETCH_HTTP), FETCH_HTTP),
        registration_limit=RegistrationLimit(
            requests=_int(get, K.OXAUTH_REGISTRATION_RATE_LIMIT, limit.requests),
            window=_int(get, K.OXAUTH_REGISTRATION_RATE_WINDOW, limit.window),
        ),
        session_lifetime=_int(get, K.OXAUTH_SESSION_LIFETIME, 86400, minimum=10,
                              maximum=SESSION_LIFETIME_MAX),
        default_acr=default_acr(get(K.OXAUTH_DEFAULT_ACR)),
    )


def trusted_proxies(get: Callable[[str], str | None]) -> tuple[Network, ...]:
    """``oxauth_trusted_proxies``; when absent, the older ``oxauth_trust_forwarded_for``
    (true: loopback and the private networks; false: none)."""
    listed = parse_networks(get(K.OXAUTH_TRUSTED_PROXIES), K.OXAUTH_TRUSTED_PROXIES)
    legacy = _bool(get, K.OXAUTH_TRUST_FORWARDED_FOR, False)
    if listed:
        return listed
    return LEGACY_TRUSTED if legacy else ()
