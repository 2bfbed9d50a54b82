"""The cache's password on the client side, and its rotation without downtime.

Redis (ACL ``default`` user) and Twemproxy (``redis_auth``) require a password: config-init's
secret ``redis_pw``. Twemproxy accepts exactly one password and sends single-argument
``AUTH``, so a rotation (``docs/cache.md`` "Rotating the password") has a window in which
some proxies want the old password and some the new one. A client therefore holds the
*candidates* (current first, then the next one while a rotation runs) and, when a proxy
refuses its AUTH, moves to the next candidate and tries again at once.

redis-py asks :class:`Passwords` (a ``CredentialProvider``) for the credentials each time
it opens a connection; already authenticated connections are not affected.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence

from redis.credentials import CredentialProvider

Source = Callable[[], Sequence[str]]


class Passwords(CredentialProvider):
    """The password to send on a new connection, from a list of candidates.

    ``source`` returns the candidates (read again on every new connection, so it may
    follow the config store); :meth:`refused` moves to the next one. Thread-safe.
    """

    def __init__(self, source: Source) -> None:
        self._source = source
        self._index = 0
        self._lock = threading.Lock()

    @classmethod
    def fixed(cls, *passwords: str) -> Passwords:
        values = tuple(p for p in passwords if p)
        return cls(lambda: values)

    def candidates(self) -> int:
        return len(self._source())

    def current(self) -> str | None:
        values = self._source()
        if not values:
            return None
        with self._lock:
            return values[self._index % len(values)]

    def refused(self) -> None:
        """The proxy refused the password just sent: the next candidate goes next time."""
        with self._lock:
            self._index += 1

    def get_credentials(self) -> tuple[str]:
        password = self.current()
        return (password,) if password is not None else ()  # type: ignore[return-value]

    async def get_credentials_async(self) -> tuple[str]:
        return self.get_credentials()
