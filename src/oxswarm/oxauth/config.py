"""oxAuth's runtime configuration: the protocol's :class:`ProviderConfig` under its name."""

from __future__ import annotations

from oxswarm.oauth.config import ProviderConfig

OxAuthConfig = ProviderConfig

__all__ = ["OxAuthConfig", "ProviderConfig"]
