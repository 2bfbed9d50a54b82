"""The one exception hierarchy of OxSwarm.

Third-party errors are translated into these at the edge (``raise X(...) from exc``);
the CLI maps them to exit codes: :class:`InvalidInput` -> 2, :class:`Unavailable` -> 1,
anything else derived from :class:`OxSwarmError` -> 1.
"""

from __future__ import annotations


class OxSwarmError(Exception):
    """Root of every error OxSwarm raises on purpose."""

    exit_code = 1


class InvalidInput(OxSwarmError):
    """Input from a user or client is wrong; ``field`` names what is wrong."""

    exit_code = 2

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class NotFound(OxSwarmError):
    """A key, entry or object that was asked for does not exist."""


class Conflict(OxSwarmError):
    """An object already exists, or a concurrent writer changed it first."""


class AssertionFailed(Conflict):
    """A conditional write found the entry changed since it was read (RFC 4528)."""


class Unavailable(OxSwarmError):
    """A backing service (config store, directory, cache, Docker) cannot be reached."""


class StoreUnavailable(Unavailable):
    """No endpoint of the config store answered."""


class DirectoryUnavailable(Unavailable):
    """No directory server answered."""


class CacheUnavailable(Unavailable):
    """The cache (Twemproxy / Redis) did not answer."""


class SecretError(OxSwarmError):
    """A secret cannot be decrypted: wrong master key or tampered ciphertext."""


class MasterKeyError(SecretError):
    """The master key file is missing, unreadable or malformed."""


class DirectoryError(OxSwarmError):
    """The directory refused an operation (other than not-found or conflict)."""


class DaemonError(OxSwarmError):
    """A local daemon (etcd, slapd, redis, nutcracker, nginx) failed to start or stop."""


class DeployError(OxSwarmError):
    """Rendering or reconciling a deployment failed."""
