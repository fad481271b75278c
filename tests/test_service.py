"""The service: jobs rebuilt from the database, moved at run time, catch-up, /healthz, stop."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot import service as service_module
from bot.commands import CommandContext
from bot.config import Settings, load_settings
from bot.core import PapersBot
from bot.models import Channel, Digest, DigestItem, MessageRef, Subscription
from bot.service import Service
from bot.storage import open_storage
from tests.conftest import FixedClock, RecordingPoster, make_paper
from tests.upstream_server import UpstreamServer

CH = Channel("fake", "W1", "C1")


class FakeAdapter(RecordingPoster):
    """A recording poster that can be started and stopped like a platform connection."""

    running = False

    @property
    def connected(self) -> bool:
        return self.running

    async def start(self) -> None:
        self.running = True

    async def stop(self) -> None:
        self.running = False


@pytest.fixture
def service_settings(tmp_path: Path) -> Settings:
    return load_settings(
        papers_bot_db=tmp_path / "service.db",
        papers_bot_sources=(),
        health_host="127.0.0.1",
        health_port=0,  # any free port
        _env_file=None,
    )


def make_service(
    settings: Settings, clock: FixedClock, subs: list[Subscription], adapter: FakeAdapter
) -> Service:
    store = open_storage(settings.papers_bot_db)
    store.papers.upsert([make_paper(f"2508.0000{i}", upvotes=i) for i in range(1, 7)], clock())
    for sub in subs:
        store.activity.save_subscription(sub, clock())
    return Service(PapersBot(store, settings, clock), store, [adapter], settings, clock)


async def healthz(service: Service) -> tuple[int, dict[str, Any]]:
    """GET /healthz: its status code and JSON body."""
    async with aiohttp.ClientSession() as http:
        url = f"http://127.0.0.1:{service.health_port}/healthz"
        async with http.get(url) as response:
            return response.status, await response.json()


async def settle(service: Service) -> None:
    """Wait for the jobs the service started (catch-up digests) to finish."""
    await asyncio.sleep(0)
    await service.idle(timeout=5)


@pytest.fixture
async def running(
    service_settings: Settings, clock: FixedClock
) -> AsyncIterator[tuple[Service, FakeAdapter]]:
    clock.now = datetime(2025, 8, 5, 7, 0, tzinfo=UTC)  # before the 15:00 Kolkata digest
    adapter = FakeAdapter()
    kolkata = Subscription(CH, timezone="Asia/Kolkata", post_time="15:00")
    service = make_service(service_settings, clock, [kolkata], adapter)
    await service.start()
    yield service, adapter
    await service.stop()


async def test_jobs_are_rebuilt_from_the_database(running: tuple[Service, FakeAdapter]) -> None:
    service, adapter = running
    job = service.scheduler.get_job("digest:fake:W1:C1")
    assert job is not None
    utc = job.next_run_time.astimezone(UTC)
    assert (utc.hour, utc.minute) == (9, 30)  # 15:00 in Kolkata
    assert service.scheduler.get_job("roundup:fake:W1:C1") is not None
    assert adapter.connected


async def test_settings_changes_move_and_remove_jobs_at_run_time(
    running: tuple[Service, FakeAdapter],
) -> None:
    service, adapter = running
    ctx = CommandContext(CH, "U1", adapter)
    await service.bot.answer_text("settings time 18:45", ctx)
    job = service.scheduler.get_job("digest:fake:W1:C1")
    assert (job.next_run_time.hour, job.next_run_time.minute) == (18, 45)
    await service.bot.answer_text("settings roundup off", ctx)
    assert service.scheduler.get_job("roundup:fake:W1:C1") is None
    await service.bot.answer_text("unsubscribe", ctx)
    assert service.scheduler.get_job("digest:fake:W1:C1") is None
    other = Channel("fake", "W1", "C2")
    await service.bot.answer_text("subscribe", CommandContext(other, "U1", adapter))
    assert service.scheduler.get_job("digest:fake:W1:C2") is not None


async def test_healthz_reports_adapters_sources_and_channels(
    running: tuple[Service, FakeAdapter],
) -> None:
    service, _ = running
    status, body = await healthz(service)
    assert (status, body["status"], body["problems"]) == (200, "ok", [])
    service.storage.activity.record_fetch(
        "hf", service.clock(), service.clock(), False, error="Hugging Face unreachable: HTTP 500"
    )
    status, body = await healthz(service)
    assert (status, body["status"]) == (503, "degraded")
    assert body["problems"] == ["the last hf fetch failed: Hugging Face unreachable: HTTP 500"]
    assert body["adapters"] == {"fake": {"connected": True}}
    assert body["sources"]["hf"]["ok"] is False
    assert "HTTP 500" in body["sources"]["hf"]["error"]
    assert body["channels"][0]["channel"] == "fake:W1/C1"
    assert body["channels"][0]["next_digest"] == "2025-08-05T15:00:00+05:30"
    assert body["papers"] == 6 and body["uptime_seconds"] == 0


async def test_healthz_is_degraded_while_an_adapter_is_disconnected(
    running: tuple[Service, FakeAdapter],
) -> None:
    service, adapter = running
    adapter.running = False  # the connection dropped
    status, body = await healthz(service)
    assert (status, body["status"], body["problems"]) == (503, "degraded", ["fake is disconnected"])
    adapter.running = True
    assert (await healthz(service))[0] == 200


async def test_catch_up_posts_a_missed_digest_within_the_grace_window(
    service_settings: Settings, clock: FixedClock
) -> None:
    clock.now = datetime(2025, 8, 5, 11, 0, tzinfo=UTC)  # two hours late
    adapter = FakeAdapter()
    service = make_service(service_settings, clock, [Subscription(CH)], adapter)
    await service.start()
    await settle(service)
    await service.stop()
    assert len(adapter.papers) == 5 and len(adapter.headers) == 1
    again = FakeAdapter()
    restarted = make_service(service_settings, clock, [], again)
    await restarted.start()
    await settle(restarted)
    await restarted.stop()
    assert again.papers == [] and again.headers == []  # a restart the same day posts nothing


async def test_catch_up_beyond_the_grace_window_skips_and_logs(
    service_settings: Settings, clock: FixedClock, caplog: pytest.LogCaptureFixture
) -> None:
    clock.now = datetime(2025, 8, 5, 20, 0, tzinfo=UTC)  # eleven hours late
    adapter = FakeAdapter()
    service = make_service(service_settings, clock, [Subscription(CH)], adapter)
    with caplog.at_level(logging.WARNING):
        await service.start()
    await settle(service)
    await service.stop()
    assert adapter.papers == []
    assert "11 h late, beyond the 4.0 h grace window: skipped" in caplog.text


class SlowAdapter(FakeAdapter):
    """Each paper takes a moment to post, so a stop can land mid-digest."""

    async def post_paper(self, digest: Digest, item: DigestItem) -> MessageRef:
        await asyncio.sleep(0.01)
        return await super().post_paper(digest, item)


async def test_stop_lets_an_in_flight_digest_finish_and_closes_the_database(
    service_settings: Settings, clock: FixedClock
) -> None:
    clock.now = datetime(2025, 8, 5, 9, 30, tzinfo=UTC)
    adapter = SlowAdapter()
    service = make_service(service_settings, clock, [Subscription(CH)], adapter)
    await service.start()
    await asyncio.sleep(0.015)  # the catch-up digest is mid-post
    await service.stop()
    assert len(adapter.papers) == 5  # finished, not cut off
    assert not adapter.connected
    with pytest.raises(sqlite3.ProgrammingError, match="closed"):
        service.storage.papers.count()


async def test_a_source_down_all_day_is_survived_and_shown_on_healthz(
    service_settings: Settings, clock: FixedClock
) -> None:
    clock.now = datetime(2025, 8, 5, 9, 30, tzinfo=UTC)
    async with UpstreamServer(today=date(2025, 8, 5)) as upstream:
        upstream.inject("500", times=1000, path="/api/daily_papers")
        settings = service_settings.model_copy(
            update={
                "papers_bot_sources": ("hf",),
                "hf_api_url": upstream.hf_api_url,
                "http_retries": 1,
            }
        )
        adapter = FakeAdapter()
        service = make_service(settings, clock, [Subscription(CH)], adapter)
        await service.start()
        await settle(service)
        for _ in range(50):  # the first fetch runs at start-up; wait for its record
            if service.storage.activity.last_fetches():
                break
            await asyncio.sleep(0.05)
        status, body = await healthz(service)
        await service.stop()
    assert (status, body["status"]) == (503, "degraded")
    assert body["sources"]["hf"]["ok"] is False
    assert "500" in body["sources"]["hf"]["error"]
    assert len(adapter.papers) == 5  # the digest used the stored papers
    assert len(upstream.paths("/api/daily_papers")) == 2  # one try and one retry


async def test_two_services_on_one_database_post_the_digest_once(
    service_settings: Settings, clock: FixedClock
) -> None:
    clock.now = datetime(2025, 8, 5, 10, 0, tzinfo=UTC)
    first, second = FakeAdapter(), FakeAdapter()
    one = make_service(service_settings, clock, [Subscription(CH)], first)
    store = open_storage(service_settings.papers_bot_db)
    two = Service(
        PapersBot(store, service_settings, clock),
        store,
        [second],
        service_settings,
        clock,
    )
    await asyncio.gather(one.start(), two.start())
    await asyncio.gather(settle(one), settle(two))
    await asyncio.gather(one.stop(), two.stop())
    assert len(first.papers) + len(second.papers) == 5
    assert len(first.headers) + len(second.headers) == 1


async def test_stop_during_a_fetch_lets_it_finish_without_an_error_in_the_log(
    service_settings: Settings, clock: FixedClock, caplog: pytest.LogCaptureFixture
) -> None:
    clock.now = datetime(2025, 8, 5, 9, 30, tzinfo=UTC)
    async with UpstreamServer(today=date(2025, 8, 5)) as upstream:
        upstream.hang_seconds = 0.3
        upstream.inject("hang", path="/api/daily_papers")
        settings = service_settings.model_copy(
            update={
                "papers_bot_sources": ("hf",),
                "hf_api_url": upstream.hf_api_url,
                "http_retries": 1,
            }
        )
        service = make_service(settings, clock, [], FakeAdapter())
        await service.start()
        for _ in range(100):  # the first fetch runs at start-up: stop while it waits
            if upstream.paths("/api/daily_papers"):
                break
            await asyncio.sleep(0.02)
        with caplog.at_level(logging.INFO):
            await service.stop()
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert any("in-flight" in r.getMessage() for r in caplog.records)
    assert len(upstream.paths("/api/daily_papers")) == 2  # the fetch went on: its retry too


async def test_a_job_still_running_after_the_stop_timeout_is_stopped_quietly(
    service_settings: Settings,
    clock: FixedClock,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(service_module, "STOP_TIMEOUT", 0.2)
    async with UpstreamServer(today=date(2025, 8, 5)) as upstream:
        upstream.hang_seconds = 30  # far past the stop timeout
        upstream.inject("hang", path="/api/daily_papers")
        settings = service_settings.model_copy(
            update={"papers_bot_sources": ("hf",), "hf_api_url": upstream.hf_api_url}
        )
        service = make_service(settings, clock, [], FakeAdapter())
        await service.start()
        for _ in range(100):
            if upstream.paths("/api/daily_papers"):
                break
            await asyncio.sleep(0.02)
        with caplog.at_level(logging.INFO):
            await asyncio.wait_for(service.stop(), 5)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert any("still running after 0.2 s" in r.getMessage() for r in caplog.records)
    assert not service._tasks
