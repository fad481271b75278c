"""Crash safety end to end: the real service, SIGKILLed mid-digest and restarted."""

from __future__ import annotations

from pathlib import Path

from benchmarks.crash_rounds import crash_rounds


async def test_sigkill_mid_digest_then_restart_delivers_each_paper_exactly_once(
    tmp_path: Path,
) -> None:
    results = await crash_rounds(rounds=2, workdir=tmp_path, count=4, kills=2, seed=7)
    assert sum(result.interrupted for result, _ in results) >= 1  # kills hit mid-digest
    for result, picked in results:
        assert result.picked == 4
        assert result.missing(picked) == []
        assert result.duplicates == 0
        assert set(result.delivered) == set(picked)
        assert result.headers == 1
