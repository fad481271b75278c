"""Saves pushed to a Zotero group library: once each, 50 items per request at most, retries
that never duplicate, failures that wait and are told. Against tests/zotero_fake.py."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot import health
from bot.commands import CommandContext
from bot.config import load_settings
from bot.core import PapersBot
from bot.models import Channel
from bot.storage import Storage, open_storage
from bot.zotero import ZoteroPusher, zotero_item
from tests.conftest import FixedClock, RecordingPoster, make_paper
from tests.zotero_fake import GROUP, KEY, ZoteroFake

CHANNEL = Channel("fake", "W1", "C1")


@dataclass
class Team:
    """A bot whose channel pushes its saves to the fake Zotero, and the pusher the service runs."""

    bot: PapersBot
    storage: Storage
    pusher: ZoteroPusher
    zotero: ZoteroFake
    clock: FixedClock

    async def say(self, text: str, user: str = "U1") -> str:
        reply = await self.bot.answer_text(text, CommandContext(CHANNEL, user))
        return str(getattr(reply, "text", reply))

    def later(self, **delta: float) -> None:
        self.clock.now += timedelta(**delta)


@pytest.fixture
async def team(tmp_path: Path, clock: FixedClock) -> AsyncIterator[Team]:
    async with ZoteroFake() as zotero:
        settings = load_settings(
            papers_bot_db=tmp_path / "z.db",
            zotero_api_key=KEY,
            zotero_api_url=zotero.url,
            http_timeout=5.0,
            _env_file=None,
        )
        with open_storage(settings.papers_bot_db) as storage:
            papers = [make_paper(f"2508.{n:05d}", f"Paper number {n}") for n in range(1, 121)]
            storage.papers.upsert(papers, clock())
            bot = PapersBot(storage, settings, clock)
            yield Team(bot, storage, ZoteroPusher(storage, settings, clock), zotero, clock)


def test_a_paper_becomes_a_preprint_item() -> None:
    paper = make_paper(
        "2401.01234",
        "RL for LLMs",
        abstract="An abstract.",
        authors=("Ada King Lovelace", "Plato"),
        published=date(2024, 1, 2),
        categories=("cs.LG",),
    )
    assert zotero_item(paper) == {
        "itemType": "preprint",
        "title": "RL for LLMs",
        "creators": [
            {"creatorType": "author", "firstName": "Ada King", "lastName": "Lovelace"},
            {"creatorType": "author", "name": "Plato"},
        ],
        "abstractNote": "An abstract.",
        "date": "2024-01-02",
        "url": "https://arxiv.org/abs/2401.01234",
        "tags": [{"tag": "cs.LG"}],
        "repository": "arXiv",
        "archiveID": "arXiv:2401.01234",
        "DOI": "10.48550/arXiv.2401.01234",
        "extra": "arXiv:2401.01234",
    }


async def test_every_save_is_pushed_once_in_requests_of_at_most_50(team: Team) -> None:
    assert "group 4711" in await team.say(f"settings zotero {GROUP}")
    for n in range(1, 121):
        await team.say(f"save 2508.{n:05d}")
    await team.say("save 2508.00001", user="U2")  # a second member saves the same paper
    report = await team.pusher.push_due()
    assert report.pushed == 120 and report.failed == 0
    assert [w.items for w in team.zotero.writes] == [50, 50, 20]
    assert len({w.token for w in team.zotero.writes}) == 3
    created = team.zotero.created()
    assert sorted(item["archiveID"] for item in created) == [
        f"arXiv:2508.{n:05d}" for n in range(1, 121)
    ]
    assert created[0]["DOI"] == "10.48550/arXiv.2508.00001"
    await team.say("save 2508.00002", user="U3")
    assert (await team.pusher.push_due()).requests == 0  # already in Zotero: never again
    assert team.storage.zotero.counts() == {"pushed": 120, "pending": 0, "failing": 0}


async def test_a_write_whose_answer_was_lost_is_resent_with_its_token_and_not_duplicated(
    team: Team,
) -> None:
    await team.say(f"settings zotero {GROUP}")
    for n in range(1, 4):
        await team.say(f"save 2508.{n:05d}")
    team.zotero.lose_next_answers = 1  # Zotero writes the items, the answer never arrives
    assert (await team.pusher.push_due()).failed == 3
    assert len(team.zotero.created()) == 3
    assert (await team.pusher.push_due()).requests == 0  # waits before trying again
    team.later(minutes=2)
    assert (await team.pusher.push_due()).pushed == 3
    first, second = team.zotero.writes
    assert first.token == second.token and second.status == 412
    assert len(team.zotero.created()) == 3  # once each
    assert team.storage.zotero.counts()["pushed"] == 3


async def test_a_failing_zotero_is_retried_with_backoff_logged_and_shown_on_healthz(
    team: Team, caplog: pytest.LogCaptureFixture
) -> None:
    await team.say(f"settings zotero {GROUP}")
    await team.say("save 2508.00001")
    team.zotero.answer_next = [(503, {"Retry-After": "300"}), (503, {})]
    with caplog.at_level(logging.ERROR, logger="bot.zotero"):
        await team.pusher.push_due()
    assert "not pushed to group 4711: HTTP 503" in caplog.text
    report = health.snapshot(team.storage, team.clock())
    assert report["status"] == "degraded" and report["zotero"]["failing"] == 1
    team.later(minutes=2)
    assert (await team.pusher.push_due()).requests == 0  # Retry-After: 300 s is honoured
    team.later(minutes=4)
    await team.pusher.push_due()  # the second 503: the wait doubles
    team.later(minutes=1)
    assert (await team.pusher.push_due()).requests == 0
    team.later(minutes=2)
    assert (await team.pusher.push_due()).pushed == 1
    tokens = {w.token for w in team.zotero.writes}
    assert len(tokens) == 1 and len(team.zotero.created()) == 1
    assert health.snapshot(team.storage, team.clock())["status"] == "ok"


async def test_a_key_without_write_access_says_what_to_fix(
    team: Team, caplog: pytest.LogCaptureFixture
) -> None:
    await team.say("settings zotero 999")  # a group the key cannot write to
    await team.say("save 2508.00001")
    with caplog.at_level(logging.ERROR, logger="bot.zotero"):
        await team.pusher.push_due()
    assert "there is no Zotero group 999" in caplog.text
    assert team.storage.zotero.counts() == {"pushed": 0, "pending": 1, "failing": 1}


async def test_unsave_never_deletes_from_zotero(team: Team) -> None:
    await team.say(f"settings zotero {GROUP}")
    await team.say("save 2508.00001")
    await team.pusher.push_due()
    assert "Removed" in await team.say("unsave 2508.00001")
    await team.pusher.push_due()
    assert len(team.zotero.created()) == 1 and team.zotero.other_requests == []


async def test_a_bookmark_reaction_is_pushed_too(team: Team) -> None:
    await team.say(f"settings zotero {GROUP}")
    poster = RecordingPoster()
    outcome = await team.bot.post_digest(poster, CHANNEL)
    assert outcome.digest is not None and outcome.posted
    assert await team.bot.handle_reaction(outcome.posted[0], "U1", "bookmark", True) is not None
    await team.pusher.push_due()
    title = outcome.digest.items[0].paper.title
    assert [item["title"] for item in team.zotero.created()] == [title]


async def test_channels_without_a_group_push_nothing_and_the_setting_explains(team: Team) -> None:
    assert "No Zotero group" in await team.say("settings zotero")
    await team.say("save 2508.00001")
    assert (await team.pusher.push_due()).requests == 0
    assert "group's number" in await team.say("settings zotero zk_thisLooksLikeAKey")
    await team.say(f"settings zotero {GROUP}")
    assert "no longer added" in await team.say("settings zotero off")


async def test_without_an_api_key_zotero_is_not_offered(bot: PapersBot, storage: Storage) -> None:
    reply: Any = await bot.answer_text(f"settings zotero {GROUP}", CommandContext(CHANNEL, "U1"))
    assert "ZOTERO_API_KEY" in reply.text and reply.error
    assert storage.zotero.library(CHANNEL) is None
