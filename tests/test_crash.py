"""Crash safety end to end: the real service, SIGKILLed mid-digest and restarted."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks.crash_rounds import SCENARIOS, crash_rounds

pytestmark = pytest.mark.slow  # real processes and real timers: make test-quick skips them


async def test_sigkill_mid_digest_then_restart_delivers_each_paper_exactly_once(
    tmp_path: Path,
) -> None:
    # One round of each: the daily digest, a /papers digest before the posting time, an extra
    # digest the same day, and each again with 250 messages from people before the restart.
    results = await crash_rounds(rounds=len(SCENARIOS), workdir=tmp_path, count=3, seed=7)
    assert sum(result.interrupted for result, _ in results) >= 1  # kills hit mid-digest
    assert [result.scenario for result, _ in results] == list(SCENARIOS)
    for result, picked in results:
        assert result.finished and result.picked == 3
        assert result.missing(picked) == []
        assert result.duplicates == 0
        assert set(result.delivered) == set(picked)
        assert result.headers == 1
