"""Failures that are told, not looped: a channel the bot cannot post in is paused and says so;
a passing failure is tried again later and later; a subscribe that cannot post says so at once.

Each runs the real service over the real Slack adapter (HTTP mode, the local Web API fake) or
the real discord.py client (the local fake gateway)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot.models import Channel, Subscription
from bot.schedule import job_id
from bot.service import Service
from tests.conftest import make_paper
from tests.discord_harness import discord_harness
from tests.discord_payloads import CHANNEL_ID
from tests.slack_harness import CHANNEL, slack_harness
from tests.test_cli import offline_env, run

PAPERS = [make_paper(f"2508.0000{i}", upvotes=10 * i) for i in range(1, 6)]
HARNESSES = {"slack": slack_harness, "discord": discord_harness}
# What each platform answers when the bot may not post in the channel, and what the bot says.
REFUSED = {"slack": "not_in_channel", "discord": 403}
FIX = {
    "slack": "I am not in this channel: invite me with /invite @papers-bot",
    "discord": "I cannot post in this channel: give me View Channel, Send Messages and Embed Links",
}


def refuse_posts(h: Any, platform: str, refused: bool = True) -> None:
    """Make the platform refuse (or accept again) every post in the harness's channel."""
    refusals, channel = (h.fake.refusals, CHANNEL if platform == "slack" else CHANNEL_ID)
    if refused:
        refusals[channel] = REFUSED[platform]
    else:
        refusals.pop(channel, None)


@asynccontextmanager
async def service_for(platform: str, tmp_path: Path) -> AsyncIterator[tuple[Any, Service]]:
    """The service over one real adapter, its channel subscribed for a digest later today."""
    harness = HARNESSES[platform]
    async with harness(tmp_path, start=False, health_port=0, papers_bot_sources=()) as h:
        h.seed(PAPERS)
        h.storage.activity.save_subscription(Subscription(h.channel, post_time="18:00"), h.now)
        service = Service(h.bot, h.storage, [h.adapter], h.settings, h.clock)
        await service.start()
        try:
            yield h, service
        finally:
            await service.stop()


async def fire(service: Service, channel: Channel) -> None:
    """Run the channel's digest job now, as the scheduler runs it at its time."""
    job = service.scheduler.get_job(job_id("digest", channel))
    assert job is not None
    await job.func(*job.args)


async def healthz(service: Service) -> tuple[int, dict[str, Any]]:
    async with aiohttp.ClientSession() as http:
        url = f"http://127.0.0.1:{service.health_port}/healthz"
        async with http.get(url) as response:
            return response.status, await response.json()


def retry_job(service: Service, channel: Channel) -> Any:
    """The pending retry of the channel's failed digest, if any."""
    return service.scheduler.get_job(f"retry-{job_id('digest', channel)}")


def post_attempts(h: Any, platform: str) -> int:
    if platform == "slack":
        return len([c for c in h.fake.calls_to("chat.postMessage") if c.args["channel"] == CHANNEL])
    return len(h.fake.find("POST", rf"/channels/{CHANNEL_ID}/messages"))


@pytest.mark.parametrize("platform", ["slack", "discord"])
async def test_a_channel_the_bot_cannot_post_in_is_paused_told_and_resumed_by_subscribe(
    platform: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO):
        async with service_for(platform, tmp_path) as (h, service):
            refuse_posts(h, platform)
            caplog.clear()
            await fire(service, h.channel)
            # Paused, with the platform's reason and the time; nothing scheduled, no retry.
            sub = h.storage.activity.get_subscription(h.channel)
            assert sub is not None and sub.paused is not None
            assert sub.paused.said == FIX[platform] and sub.paused.since == h.now
            assert service.scheduler.get_job(job_id("digest", h.channel)) is None
            assert retry_job(service, h.channel) is None
            assert [j.id for j in service.scheduler.get_jobs() if str(h.channel) in j.id] == []
            assert post_attempts(h, platform) == 1  # the header: refused, never tried again
            told = [r for r in caplog.records if r.name == "bot.service" and r.levelno >= 30]
            assert len(told) == 1 and "paused until /papers subscribe" in told[0].getMessage()
            assert all(r.exc_info is None for r in caplog.records)  # no traceback anywhere
            # Whoever uses /papers in the channel next is told what to do.
            said = await h.command("saved")
            notice = f"{FIX[platform]}, then /papers subscribe."
            assert f"Digests here are paused since 05 Aug 09:00 UTC: {notice}" in said, said
            assert said.index("Digests here") < said.index("You have not saved")  # told first
            status, body = await healthz(service)
            assert (status, body["status"]) == (503, "degraded")
            problem = f"{h.channel} is paused ({sub.paused.reason}): {FIX[platform]}"
            assert body["problems"] == [problem]
            # Fixed (invited, permission given): subscribing again posts publicly and resumes.
            refuse_posts(h, platform, refused=False)
            said = await h.command("subscribe")
            assert "back on" in said and "paused" not in said
            assert "back on" in h.channel_messages()[-1][1]
            sub = h.storage.activity.get_subscription(h.channel)
            assert sub is not None and sub.paused is None
            assert service.scheduler.get_job(job_id("digest", h.channel)) is not None
            status, body = await healthz(service)
            assert (status, body["status"], body["problems"]) == (200, "ok", [])
            assert "paused" not in (await h.command("saved"))


async def test_status_lists_a_paused_channel(tmp_path: Path) -> None:
    async with service_for("slack", tmp_path) as (h, service):
        refuse_posts(h, "slack")
        await fire(service, h.channel)
        db = h.settings.papers_bot_db
    code, out, _ = await run(tmp_path, "--db", str(db), "status", env=offline_env(tmp_path))
    assert code == 1  # as /healthz answers 503: a monitor running status sees it
    assert "Degraded: slack:T0TEAM/C0PAPERS is paused (not_in_channel)" in out.replace("\n", " ")
    assert "paused since" in out


async def test_a_retry_past_midnight_finishes_the_day_that_failed(tmp_path: Path) -> None:
    async with service_for("slack", tmp_path) as (h, service):
        day = h.now.date()
        h.fake.fail_next("chat.postMessage", "internal_error")
        await fire(service, h.channel)  # 5 Aug: Slack has trouble, the digest waits for a retry
        h.now = h.now + timedelta(days=1, hours=-8)  # 6 Aug 01:00 UTC, the retry's time
        job = retry_job(service, h.channel)
        await job.func(*job.args)
        finished = h.storage.ledger.get_digest(h.channel, day)
        assert finished is not None and finished.status == "done"  # 5 Aug's, not 6 Aug's
        assert h.storage.ledger.get_digest(h.channel, day + timedelta(days=1)) is None
        await fire(service, h.channel)  # 6 Aug at its time: its own digest
        posted = h.storage.ledger.get_digest(h.channel, day + timedelta(days=1))
        assert posted is not None and posted.status == "done"


async def test_a_passing_failure_is_tried_again_later_and_later_up_to_a_cap(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async with service_for("slack", tmp_path) as (h, service):
        caplog.set_level(logging.INFO)
        for _ in range(9):  # the first try and eight retries: Slack has trouble
            h.fake.fail_next("chat.postMessage", "internal_error")
        await fire(service, h.channel)
        delays = []
        for attempt in range(9):
            job = retry_job(service, h.channel)
            assert job is not None, attempt
            delays.append(job.next_run_time - datetime.now(UTC))
            if attempt < 8:
                await job.func(*job.args)  # the retry fires (its time moved up)
        expected = [1, 2, 4, 8, 16, 32, 60, 60, 60]  # minutes
        for delay, minutes in zip(delays, expected, strict=True):
            assert timedelta(minutes=minutes) - timedelta(seconds=5) < delay
            assert delay <= timedelta(minutes=minutes)
        failed = [r for r in caplog.records if "failed (internal_error)" in r.getMessage()]
        assert len(failed) == 9 and all(r.exc_info is None for r in failed)
        assert "attempt 9; trying again in 1:00:00" in failed[-1].getMessage()
        job = retry_job(service, h.channel)
        await job.func(*job.args)  # Slack is back: the digest goes out, once
        assert retry_job(service, h.channel) is None
        texts = [text for _, text in h.channel_messages()]
        assert len(texts) == 1 + len(PAPERS) and "Trending papers" in texts[0]
        sub = h.storage.activity.get_subscription(h.channel)
        assert sub is not None and sub.paused is None


@pytest.mark.parametrize("platform", ["slack", "discord"])
async def test_subscribe_where_the_bot_cannot_post_says_so_at_once(
    platform: str, tmp_path: Path
) -> None:
    async with HARNESSES[platform](tmp_path) as h:
        refuse_posts(h, platform)
        said = await h.command("subscribe")
        assert said.strip().endswith(f"{FIX[platform]}, then try again."), said
        assert h.storage.activity.get_subscription(h.channel) is None  # no false success
        refuse_posts(h, platform, refused=False)
        said = await h.command("subscribe")
        assert "This channel now gets the daily digest." in said
        (announced,) = h.channel_messages()  # said publicly, as a digest header is posted
        assert "now gets the daily digest" in announced[1] and "09:00 (UTC)" in announced[1]
        assert h.storage.activity.get_subscription(h.channel) is not None
