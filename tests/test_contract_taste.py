"""The channel's taste over every platform, through the real adapters (see test_contract.py):
saves change the channel's picks, `settings taste off` restores trending, `/papers like`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bot.ingest import ingest_files
from bot.sources import sample_files
from tests.test_contract import CHAT, EVERY, harness_for
from tests.test_taste import LATE, NVSPEECH, SEPARATION

TADICODEC = "TaDiCodec"  # a speech tokenizer: the speech papers' next of kin in the sample
COCHLEAR = "Representing Speech Through Autoregressive Prediction"


async def _with_the_whole_sample(h: Any) -> None:
    h.now = LATE
    ingest_files(h.storage, sample_files(), LATE)


async def _two_members_save_speech_papers(h: Any) -> None:
    assert "Saved" in await h.command(f"save {NVSPEECH}", "111")
    assert "Saved" in await h.command(f"save {SEPARATION}", "222")


@pytest.mark.parametrize("platform", EVERY)
async def test_saves_change_today_and_taste_off_restores_trending(
    platform: str, tmp_path: Path
) -> None:
    async with harness_for(platform, tmp_path) as h:
        await _with_the_whole_sample(h)
        assert "daily digest" in await h.command("subscribe")
        trending = await h.command("today")
        assert TADICODEC not in trending and COCHLEAR not in trending
        await _two_members_save_speech_papers(h)
        tasted = await h.command("today")
        assert TADICODEC in tasted and COCHLEAR in tasted
        assert "taste" in await h.command("settings taste off")
        assert await h.command("today") == trending
        assert "taste" in await h.command("settings taste on")
        assert TADICODEC in await h.command("today")


@pytest.mark.parametrize("platform", CHAT)
async def test_the_posted_digest_says_which_save_each_pick_is_like(
    platform: str, tmp_path: Path
) -> None:
    async with harness_for(platform, tmp_path) as h:
        await _with_the_whole_sample(h)
        await _two_members_save_speech_papers(h)
        outcome = await h.post_digest()
        assert outcome.status == "posted"
        texts = [text for _, text in h.channel_messages()[1:]]
        speech = [text for text in texts if TADICODEC in text or COCHLEAR in text]
        assert len(speech) == 2
        assert all("like “" in text and "saved by one of you" in text for text in speech)


@pytest.mark.parametrize("platform", EVERY)
async def test_like_lists_the_closest_papers_with_the_reason(platform: str, tmp_path: Path) -> None:
    async with harness_for(platform, tmp_path) as h:
        await _with_the_whole_sample(h)
        text = await h.command(f"like {NVSPEECH}")
        assert "Papers like" in text and "NVSpeech" in text
        assert "alike in:" in text
        assert TADICODEC in text or COCHLEAR in text
        assert "2401.99999" in await h.command("like 2401.99999")
