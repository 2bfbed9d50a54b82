"""What the cache's replies mean: a shard Twemproxy cannot reach, a refused password.

Twemproxy answers ``-ERR <strerror(errno)>`` when it cannot reach a shard (twemproxy
``nc_request.c``); the clients (:mod:`oxswarm.cache.client`, :mod:`oxswarm.cache.aio`)
retry those, and nothing else.
"""

from __future__ import annotations

import errno
import os
from typing import Any

import redis

from oxswarm.errors import CacheUnavailable

# Twemproxy answers "-ERR <strerror(errno)>" when it cannot reach a shard.
SHARD_DOWN = tuple(
    os.strerror(code)
    for code in (
        errno.ECONNREFUSED,
        errno.ETIMEDOUT,
        errno.ECONNRESET,
        errno.ECONNABORTED,
        errno.EPIPE,
        errno.ENOTCONN,
        errno.EHOSTUNREACH,
        errno.EHOSTDOWN,
        errno.ENETUNREACH,
    )
)


def refused_auth(address: str, exc: redis.AuthenticationError) -> CacheUnavailable:
    """The error for a refused AUTH: names the problem and the server's words, no secret."""
    return CacheUnavailable(f"cache at {address} refused authentication: {exc}")


def shard_down(exc: redis.ResponseError) -> bool:
    text = str(exc)
    return any(reason in text for reason in SHARD_DOWN)


def checked(answers: list[Any], address: str) -> list[Any]:
    """Replies read in order, an error reply in its place: a refused AUTH is raised for the
    caller's rotation handling, an error other than a down shard ends the operation."""
    for answer in answers:
        if isinstance(answer, redis.AuthenticationError):
            raise answer
        if isinstance(answer, redis.ResponseError) and not shard_down(answer):
            raise CacheUnavailable(f"cache at {address} refused: {answer}")
        if isinstance(answer, Exception) and not isinstance(answer, redis.ResponseError):
            raise CacheUnavailable(f"cache at {address}: {answer}")
    return answers
