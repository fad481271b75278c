"""Exactly once after a crash, end to end: the real Slack and Discord adapters against the local
fakes. The bot is "killed" with a message in flight (the fake took the request and never
answered; with `accept` it showed the message first, as when the platform got it), then a new
service starts on the same database, as `papers-bot run` does after kill -9."""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import AsyncIterator, Coroutine
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from adapters.discord.adapter import DiscordAdapter
from adapters.slack.app import SlackAdapter
from bot.commands import CommandContext
from bot.config import Settings
from bot.core import PapersBot
from bot.models import DigestKind, Subscription
from bot.ports import ChatAdapter
from bot.service import Service
from bot.storage import open_storage
from tests.conftest import make_paper
from tests.discord_harness import DiscordHarness, discord_harness, harness_settings
from tests.discord_payloads import APP_ID
from tests.slack_fake import BOT_USER
from tests.slack_harness import CHANNEL, SlackHarness, free_port, slack_harness

WAIT = 10.0
PAPERS = [make_paper(f"2508.0000{n}", upvotes=100 - 10 * n) for n in range(1, 9)]
IN_FLIGHT = {"header": 0, "paper": 2}  # posts answered before the one in flight


@dataclass
class Tally:
    """What a channel shows from the bot: headers, and each paper's messages."""

    headers: int
    papers: Counter[str]

    def exactly_once(self, picks: list[str]) -> bool:
        """Every pick shown once, nothing else shown."""
        return self.papers == Counter(picks)


async def crash(work: Coroutine[Any, Any, object], held: asyncio.Event) -> None:
    """Run `work` until the fake holds one of its requests, and kill it right there."""
    task = asyncio.ensure_future(work)
    await asyncio.wait_for(held.wait(), WAIT)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


async def run_service(settings: Settings, make_adapter: Any, clock: Any) -> None:
    """Start the service on the database (it finishes what was interrupted), let the jobs
    started at start-up finish, stop it."""
    settings = settings.model_copy(update={"health_port": None, "papers_bot_sources": ()})
    store = open_storage(settings.papers_bot_db)
    bot = PapersBot(store, settings, clock=clock)
    adapter: ChatAdapter = make_adapter(bot)
    service = Service(bot, store, [adapter], settings, clock)
    await service.start()
    await asyncio.sleep(0)
    await service.idle(timeout=WAIT)
    await service.stop()


def picks_of(slack_or_discord: SlackHarness | DiscordHarness, kind: str = "daily") -> list[str]:
    """The papers a channel's digest claimed today."""
    harness = slack_or_discord
    claim = harness.storage.ledger.get_digest(harness.channel, harness.now.date(), kind)
    assert claim is not None
    return [pid for pid, _ in claim.picks]


# -- Slack ------------------------------------------------------------------------------------


@pytest.fixture
async def slack(tmp_path: Path) -> AsyncIterator[SlackHarness]:
    async with slack_harness(tmp_path) as running:
        running.seed(PAPERS)
        yield running


def subscribe(harness: SlackHarness | DiscordHarness, **settings: Any) -> None:
    values: dict[str, Any] = {"count": 3, "weekdays": tuple(range(7)), "post_time": "09:00"}
    harness.bot.subscriptions.save(Subscription(harness.channel, **(values | settings)))


async def restart_slack(slack: SlackHarness) -> None:
    def adapter(bot: PapersBot) -> SlackAdapter:
        settings = slack.adapter.settings.model_copy(update={"slack_http_port": free_port()})
        return SlackAdapter(bot, settings, post_interval=0)

    await run_service(slack.bot.settings, adapter, slack.clock)


def slack_tally(slack: SlackHarness) -> Tally:
    tally = Tally(0, Counter())
    for message in slack.fake.channel_messages(CHANNEL):
        key = ((message.metadata or {}).get("event_payload") or {}).get("paper_id", "")
        if message.user != BOT_USER:
            continue
        if key.startswith("header:"):
            tally.headers += 1
        else:
            tally.papers[key] += 1
    return tally


def digest_now(slack: SlackHarness) -> Coroutine[Any, Any, object]:
    """`/papers digest` in the channel, through the core, posting with the Slack adapter."""
    return slack.bot.answer_text("digest", CommandContext(slack.channel, "U1", slack.adapter))


@pytest.mark.parametrize("in_flight", IN_FLIGHT)
async def test_slack_a_message_in_flight_is_found_after_250_others(
    slack: SlackHarness, in_flight: str
) -> None:
    subscribe(slack)
    slack.fake.stall("chat.postMessage", after=IN_FLIGHT[in_flight])
    await crash(slack.post_digest(), slack.fake.held)
    slack.now += timedelta(hours=3)
    slack.fake.chatter(CHANNEL, 250)
    await restart_slack(slack)
    tally = slack_tally(slack)
    assert tally.headers == 1
    assert tally.exactly_once(picks_of(slack))


async def test_slack_an_interrupted_papers_digest_before_posting_time_is_finished_at_start(
    slack: SlackHarness,
) -> None:
    subscribe(slack, post_time="17:00")
    slack.fake.stall("chat.postMessage", after=2, accept=False)  # never reached Slack
    await crash(digest_now(slack), slack.fake.held)
    slack.now += timedelta(minutes=10)
    await restart_slack(slack)
    tally = slack_tally(slack)
    assert tally.headers == 1
    assert tally.exactly_once(picks_of(slack))  # the paper in flight too


async def test_slack_a_retried_papers_digest_finishes_the_interrupted_one(
    slack: SlackHarness,
) -> None:
    subscribe(slack, post_time="17:00")
    slack.fake.stall("chat.postMessage", after=2)
    await crash(digest_now(slack), slack.fake.held)
    answer = await slack.command("digest")
    assert answer == f"Posted 1 paper to slack:T0TEAM/{CHANNEL}."
    tally = slack_tally(slack)
    assert tally.headers == 1
    assert tally.exactly_once(picks_of(slack))
    assert await slack.command("digest") == f"Posted 3 papers to slack:T0TEAM/{CHANNEL}."


async def test_slack_an_interrupted_extra_digest_is_finished_at_start(
    slack: SlackHarness,
) -> None:
    subscribe(slack)
    await slack.post_digest()
    slack.now += timedelta(hours=1)
    slack.fake.stall("chat.postMessage", after=1)
    extra = DigestKind.EXTRA.key(f"{slack.now:%H%M%S}")
    await crash(digest_now(slack), slack.fake.held)
    slack.now += timedelta(minutes=10)
    await restart_slack(slack)
    tally = slack_tally(slack)
    assert tally.headers == 2  # the day's digest and the extra one
    assert tally.exactly_once(picks_of(slack) + picks_of(slack, extra))


@pytest.mark.parametrize("reached", [False, True], ids=["lost-in-flight", "reached-slack"])
async def test_slack_a_digest_too_old_to_finish_is_abandoned_and_loses_no_paper(
    slack: SlackHarness, caplog: pytest.LogCaptureFixture, reached: bool
) -> None:
    subscribe(slack)
    slack.fake.stall("chat.postMessage", after=2, accept=reached)
    await crash(slack.post_digest(), slack.fake.held)
    first_day, first_picks = slack.now.date(), picks_of(slack)
    in_flight = first_picks[1]
    slack.now += timedelta(days=2)  # back two days later, when today's digest is due
    with caplog.at_level(logging.WARNING):
        await restart_slack(slack)
    tally = slack_tally(slack)
    assert tally.papers[in_flight] == 1  # posted once: found, or released and picked again
    assert in_flight in picks_of(slack) or reached
    assert max(tally.papers.values()) == 1
    old = slack.storage.ledger.get_digest(slack.channel, first_day)
    assert old is not None and old.status == "abandoned"
    assert "abandoned (claimed 48 h ago, too late to post)" in caplog.text


# -- Discord ----------------------------------------------------------------------------------


@pytest.fixture
async def discord(tmp_path: Path) -> AsyncIterator[DiscordHarness]:
    async with discord_harness(tmp_path) as running:
        running.seed(PAPERS)
        yield running


async def restart_discord(harness: DiscordHarness, tmp_path: Path) -> None:
    await harness.adapter.stop()  # the killed process's connection is gone
    settings, discord_settings = harness_settings(tmp_path, harness.fake)

    def adapter(bot: PapersBot) -> DiscordAdapter:
        return DiscordAdapter(bot, discord_settings, connect_timeout=WAIT)

    await run_service(settings, adapter, harness.clock)


def discord_tally(harness: DiscordHarness) -> Tally:
    tally = Tally(0, Counter())
    for message in harness.fake.posted():
        if message["author"]["id"] != APP_ID:
            continue
        footers = [(e.get("footer") or {}).get("text", "") for e in message["embeds"]]
        if message["content"].startswith("📚") or any(f.startswith("header:") for f in footers):
            tally.headers += 1
        for footer in footers:
            if not footer.startswith("header:"):
                tally.papers[footer.rsplit(" · ", 1)[-1]] += 1
    return tally


@pytest.mark.parametrize("in_flight", IN_FLIGHT)
async def test_discord_a_message_in_flight_is_found_after_60_others_past_the_nonce_window(
    discord: DiscordHarness, tmp_path: Path, in_flight: str
) -> None:
    subscribe(discord)
    discord.fake.stall_posts(after=IN_FLIGHT[in_flight])
    await crash(discord.post_digest(), discord.fake.held)
    discord.now += timedelta(hours=3)
    discord.fake.forget_nonces()
    discord.fake.chatter(60)
    await restart_discord(discord, tmp_path)
    tally = discord_tally(discord)
    assert tally.headers == 1
    assert tally.exactly_once(picks_of(discord))


async def test_discord_an_interrupted_papers_digest_is_finished_at_start(
    discord: DiscordHarness, tmp_path: Path
) -> None:
    subscribe(discord, post_time="17:00")
    discord.fake.stall_posts(after=1)
    ctx = CommandContext(discord.channel, "111", discord.adapter)
    await crash(discord.bot.answer_text("digest", ctx), discord.fake.held)
    discord.now += timedelta(minutes=10)
    discord.fake.forget_nonces()
    await restart_discord(discord, tmp_path)
    tally = discord_tally(discord)
    assert tally.headers == 1
    assert tally.exactly_once(picks_of(discord))
