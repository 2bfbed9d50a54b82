"""The cluster's outgoing mail server (Gluu's SMTP configuration), in the config store.

Plain values ``smtp_host``, ``smtp_port``, ``smtp_tls`` (``none``, ``starttls`` or ``tls``:
RFC 3207 STARTTLS on a plain connection, or implicit TLS, RFC 8314), ``smtp_from`` (the
sender address) and ``smtp_user``; the password is the secret ``smtp_password``
(encrypted with the master key like every secret, never shown: the admin UI's field is
always empty and the configuration view masks it). Optional: config-init writes none of
them; :func:`read_smtp` is None while no host is set.

:func:`check` is the one validator: it returns the values to store or the errors by
field, each message starting with the field's name.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Final

HOST: Final = "smtp_host"
PORT: Final = "smtp_port"
TLS: Final = "smtp_tls"
FROM: Final = "smtp_from"
USER: Final = "smtp_user"
PASSWORD: Final = "smtp_password"  # a secret
CONFIG_NAMES: Final = (HOST, PORT, TLS, FROM, USER)
TLS_MODES: Final = ("starttls", "tls", "none")
DEFAULT_PORTS: Final = {"starttls": 587, "tls": 465, "none": 25}
_LABEL: Final = r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)"
_HOSTNAME: Final = re.compile(rf"^{_LABEL}(?:\.{_LABEL})*\.?$")
_IPV6: Final = re.compile(r"^\[[0-9A-Fa-f:.]+\]$")
_ADDRESS: Final = re.compile(r"^[^\s@<>\"(),;:]{1,64}@" + rf"{_LABEL}(?:\.{_LABEL})+$")


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    tls: str
    sender: str
    user: str = ""
    password: str = field(default="", repr=False)


def check(form: Mapping[str, str]) -> tuple[dict[str, str], dict[str, str]]:
    """``(values, errors)`` from a form of the names above (all text, stripped)."""
    values = {name: form.get(name, "").strip() for name in CONFIG_NAMES}
    errors: dict[str, str] = {}
    host = values[HOST]
    if not host:
        errors[HOST] = f"{HOST}: required (a host name or address)"
    elif len(host) > 253 or not (_HOSTNAME.match(host) or _IPV6.match(host)):
        errors[HOST] = f"{HOST}: {host[:60]!r} is not a host name or address"
    tls = values[TLS] or "starttls"
    values[TLS] = tls
    if tls not in TLS_MODES:
        errors[TLS] = f"{TLS}: {tls[:20]!r} is not one of {', '.join(TLS_MODES)}"
    port = values[PORT] or str(DEFAULT_PORTS.get(tls, 587))
    values[PORT] = port
    if not port.isdigit() or not 0 < int(port) < 65536:
        errors[PORT] = f"{PORT}: {port[:20]!r} is not a port (1 to 65535)"
    if not _ADDRESS.match(values[FROM]):
        errors[FROM] = f"{FROM}: {values[FROM][:80]!r} is not an email address"
    user = values[USER]
    if len(user) > 256 or any(ord(c) < 32 for c in user):
        errors[USER] = f"{USER}: at most 256 printable characters"
    password = form.get(PASSWORD, "")
    if len(password) > 1024 or any(ord(c) < 32 for c in password):
        errors[PASSWORD] = f"{PASSWORD}: at most 1024 printable characters"
    return values, errors


def read_smtp(get: Callable[[str], str | None],
              get_secret: Callable[[str], str | None]) -> SmtpSettings | None:
    """The stored settings, or None while no host is set."""
    host = get(HOST)
    if not host:
        return None
    tls = get(TLS) or "starttls"
    port = get(PORT) or str(DEFAULT_PORTS.get(tls, 587))
    return SmtpSettings(host=host, port=int(port) if port.isdigit() else 0, tls=tls,
                        sender=get(FROM) or "", user=get(USER) or "",
                        password=get_secret(PASSWORD) or "")
