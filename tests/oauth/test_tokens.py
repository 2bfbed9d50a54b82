"""Minting access tokens: a token the cache cannot store is drawn again, never handed out."""

from __future__ import annotations

import asyncio

import pytest
from tests.oauth.memory import Tokens, World

from oxswarm.errors import CacheUnavailable
from oxswarm.oauth.models import AccessTokenRecord, ClientMetadata
from oxswarm.oauth.tokens import SAVE_ATTEMPTS

CLIENT = ClientMetadata(client_id="svc", client_secret="s", grant_types=("client_credentials",),
                        scopes=("read",))


class RefusingTokens(Tokens):
    """Refuses the first ``refuse`` saves as a cache shard that is down would."""

    def __init__(self, refuse: int) -> None:
        super().__init__()
        self.refuse = refuse
        self.refused: list[str] = []

    async def save(self, token: str, record: AccessTokenRecord) -> None:
        if self.refuse > 0:
            self.refuse -= 1
            self.refused.append(token)
            raise CacheUnavailable("cache at twemproxy:22121: shard down")
        await super().save(token, record)


def world_with(tokens: Tokens) -> World:
    world = World()
    world.factory.tokens = tokens
    return world


def test_a_refused_save_draws_a_new_token_that_is_stored() -> None:
    tokens = RefusingTokens(refuse=SAVE_ATTEMPTS - 1)
    world = world_with(tokens)
    token, _ = asyncio.run(world.factory.access_token(CLIENT, grant_id=None, scope=["read"],
                                                      sub=None))  # fmt: skip
    assert list(tokens.data) == [token]  # what the client gets is what was stored
    assert token not in tokens.refused and len(set(tokens.refused)) == SAVE_ATTEMPTS - 1
    assert tokens.data[token].grant_id  # a grant of its own, drawn with the token


def test_when_every_attempt_is_refused_the_error_reaches_the_caller() -> None:
    tokens = RefusingTokens(refuse=SAVE_ATTEMPTS)
    world = world_with(tokens)
    with pytest.raises(CacheUnavailable):
        asyncio.run(world.factory.access_token(CLIENT, grant_id="g-1", scope=["read"], sub=None))
    assert tokens.data == {}
    assert len(set(tokens.refused)) == SAVE_ATTEMPTS
