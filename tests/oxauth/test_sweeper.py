"""The grant sweep loop: first run after a jittered part of the interval, then every
interval; a failing sweep is logged and retried, never fatal."""

from __future__ import annotations

import asyncio

import pytest

from oxswarm.errors import DirectoryUnavailable
from oxswarm.oxauth.sweeper import sweep_forever


def test_sweeps_repeat_and_survive_a_failing_directory(caplog: pytest.LogCaptureFixture) -> None:
    calls: list[float] = []

    async def purge() -> int:
        calls.append(asyncio.get_running_loop().time())
        if len(calls) == 2:
            raise DirectoryUnavailable("no directory server answered")
        return 3

    async def run() -> None:
        task = asyncio.create_task(sweep_forever(purge, 0.05, jitter=lambda: 0.5))
        for _ in range(200):  # up to 10 s on a loaded machine
            if len(calls) >= 4:
                break
            await asyncio.sleep(0.05)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    with caplog.at_level("INFO", logger="oxswarm.oxauth.sweeper"):
        asyncio.run(run())
    assert len(calls) >= 4  # 0.025 s, then every 0.05 s, the failure included
    assert "grant sweep failed" in caplog.text
    assert "3 expired grants removed" in caplog.text
