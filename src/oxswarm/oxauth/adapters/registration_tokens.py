""":class:`~oxswarm.oauth.rfc7591.InitialAccessTokens` over the directory (the LDAP calls
of :class:`~oxswarm.directory.registration_tokens.RegistrationTokenRepository` run in a
worker thread)."""

from __future__ import annotations

import asyncio

from oxswarm.directory.registration_tokens import RegistrationTokenRepository


class DirectoryInitialTokens:
    def __init__(self, repo: RegistrationTokenRepository) -> None:
        self._repo = repo

    async def valid(self, token_sha256: str) -> bool:
        return await asyncio.to_thread(self._repo.state, token_sha256) is not None

    async def use(self, token_sha256: str) -> bool:
        return await asyncio.to_thread(self._repo.use, token_sha256)
