"""The provider's typed policy: issuer, lifetimes, registration rules, pairwise secrets.

Built once at start by the service (from the config store) and passed to the protocol code.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ProviderConfig:
    """Issuer, lifetimes (seconds) and policies; secrets print as ``**********``."""

    issuer: str
    code_lifetime: int = 60
    access_token_lifetime: int = 3600
    id_token_lifetime: int = 3600
    refresh_token_lifetime: int = 86400 * 14
    session_lifetime: int = 86400
    client_cache_seconds: float = 5.0
    registration_enabled: bool = True
    registration_token_required: bool = False  # RFC 7591 3: an initial access token
    registration_token_hash: str | None = None  # SHA-256 hex of the old single token
    registration_rate_limit: int = 20  # registration requests per client address ...
    registration_rate_window: int = 600  # ... in this many seconds
    default_signing_alg: str = "RS256"
    pairwise_key: str = ""
    pairwise_salt: str = ""
    session_secret: str = ""

    def __repr__(self) -> str:
        return f"ProviderConfig(issuer={self.issuer!r}, secrets=**********)"

    @property
    def base(self) -> str:
        """The REST base URL of every endpoint (Gluu's path)."""
        return f"{self.issuer.rstrip('/')}/oxauth/restv1"
