"""Several `papers-bot run` replicas on one PostgreSQL: each digest posted once whoever fires
it, a silent replica's digest finished by a live one once its lease expires, and an event that
reaches two replicas recorded once. Real processes against the real server and the Slack fake."""

from __future__ import annotations

import asyncio
import json
import random
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from benchmarks.crash_rounds import (
    bot_messages,
    post_signed,
    replica_round,
    replica_rounds,
    start_replica,
    subscribe,
)
from bot.config import Settings
from bot.core import PapersBot
from bot.digest import MACHINE
from bot.ingest import ingest_files
from bot.models import Channel, ClaimStatus, Member, MessageRef
from bot.sources import sample_files
from bot.storage import open_storage
from tests.postgres_server import PostgresServer
from tests.slack_fake import TEAM, SlackFake

pytestmark = pytest.mark.slow  # real processes and real timers: make test-quick skips them

LEASE = 3.0  # DIGEST_LEASE_SECONDS of the replicas: short, so a takeover comes within seconds
# A silent holder's lease runs out at most a lease after its SIGKILL, the next sweep (every
# half lease) takes the digest over: 1.5 leases, plus slack for a machine busy with other tests.
TAKEOVER_BOUND = 1.5 * LEASE + 4.0
HANDSHAKE = '{"token": "legacy", "challenge": "up", "type": "url_verification"}'


@pytest.fixture
def database(postgres_server: PostgresServer) -> str:
    url = postgres_server.new_database()
    with open_storage(url) as store:
        ingest_files(store, sample_files(), datetime.now(UTC))
    return url


async def test_replicas_killed_mid_digest_post_each_paper_once(database: str) -> None:
    # Two replicas fire the same digest; each round a random one is SIGKILLed twice at random
    # points and restarted at once: the daily digest due now, /papers digest at one replica,
    # and the daily digest with 250 messages from people after each kill. (How soon a digest
    # is taken over here depends on how fast a restarted replica starts: the next test times
    # a takeover by a replica that was running all along.)
    results = await replica_rounds(rounds=3, replicas=2, url=database, count=3, seed=5, lease=LEASE)
    for result, picked in results:
        assert result.finished and result.picked == 3
        assert result.missing(picked) == [] and result.duplicates == 0
        assert set(result.delivered) == set(picked)
        assert result.headers == 1


async def test_a_killed_lease_holder_s_digest_is_finished_by_the_other_replica(
    database: str,
) -> None:
    async with SlackFake(clock=time.time) as fake:
        result, picked = await replica_round(
            database, fake, 1, 2, random.Random(3), count=4, kills=1, lease=LEASE, holders_only=True
        )
    assert result.holder_kills == 1 and len(result.takeovers) == 1
    assert result.takeovers[0] <= TAKEOVER_BOUND
    assert result.finished and result.duplicates == 0 and result.missing(picked) == []
    assert result.headers == 1


async def test_a_lease_left_expired_is_taken_over_by_a_live_replica_within_the_bound(
    database: str, tmp_path: Path
) -> None:
    # A replica on another machine claimed the digest, posted the header and one paper, and
    # went silent: its lease runs out a second from now. The live replica takes the digest
    # over on its own (no restart) and posts only what is missing.
    channel = Channel("slack", TEAM, "C0SILENT")
    subscribe(database, channel, 3, due=False)  # not due today: only the takeover posts
    async with SlackFake(clock=time.time) as fake:
        replica = await start_replica(database, fake, LEASE, [], tmp_path / "replica.log")
        try:
            await post_signed(replica.port, HANDSHAKE, "application/json")  # it is up
            now = datetime.now(UTC)
            with open_storage(database) as store:
                picks = PapersBot(store, Settings()).preview(channel).items
                reasons = [(item.paper.id, item.why) for item in picks]
                ledger = store.ledger
                ledger.claim_digest(channel, now.date(), "daily", reasons, now)
                expiry = now + timedelta(seconds=1)
                assert ledger.lease_digest(
                    channel, now.date(), "daily", "elsewhere:7:0badf00d", expiry, now
                )
                ledger.set_digest_header(channel, now.date(), "daily", "1.000001")
                first = reasons[0][0]
                ledger.claim_post(channel, first, now.date(), now)
                ledger.record_post(MessageRef(channel, "1.000002"), first, now.date(), now)
                claim = ledger.get_digest(channel, now.date())
                while claim and claim.status == ClaimStatus.CLAIMED:
                    assert datetime.now(UTC) < expiry + timedelta(seconds=30), "not taken over"
                    assert bot_messages(fake, channel) == [] or datetime.now(UTC) >= expiry
                    await asyncio.sleep(0.05)
                    claim = ledger.get_digest(channel, now.date())
                took = (datetime.now(UTC) - expiry).total_seconds()  # after the lease ran out
        finally:
            await replica.stop()
    assert claim is not None and claim.status == ClaimStatus.DONE
    assert claim.owner is not None and claim.owner.startswith(f"{MACHINE}:")
    assert 0 <= took <= TAKEOVER_BOUND
    assert bot_messages(fake, channel) == [pid for pid, _ in reasons[1:]]  # no header again


async def test_the_same_slack_event_at_two_replicas_is_recorded_once(
    database: str, tmp_path: Path
) -> None:
    channel = Channel("slack", TEAM, "C0EVENTS")
    subscribe(database, channel, 3, due=False)
    now = datetime.now(UTC)
    with open_storage(database) as store:
        paper = store.papers.recent(now - timedelta(days=30), (now - timedelta(days=30)).date())[0]
        store.ledger.record_post(
            MessageRef(channel, "1700000000.000100"), paper.id, now.date(), now
        )
    event = {
        "token": "legacy",
        "team_id": TEAM,
        "api_app_id": "A0PAPERS",
        "type": "event_callback",
        "event_id": "Ev0SAMEEVENT",
        "event_time": int(time.time()),
        "event": {
            "type": "reaction_added",
            "user": "U7",
            "reaction": "bookmark",
            "item_user": "U0BOT",
            "item": {"type": "message", "channel": channel.channel, "ts": "1700000000.000100"},
            "event_ts": f"{time.time():.6f}",
        },
    }
    async with SlackFake(clock=time.time) as fake:
        log = tmp_path / "replicas.log"
        replicas = [await start_replica(database, fake, LEASE, [], log) for _ in range(2)]
        try:
            for replica in replicas:
                await post_signed(replica.port, HANDSHAKE, "application/json")
            body = json.dumps(event)  # Slack's retry to another replica carries the same id
            await asyncio.gather(*(post_signed(r.port, body, "application/json") for r in replicas))
            deadline = time.monotonic() + 20
            while not fake.ephemerals and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            await asyncio.sleep(1.0)  # time for a second confirmation, were there one
        finally:
            await asyncio.gather(*(replica.stop() for replica in replicas))
    with open_storage(database) as store:
        saved = store.activity.bookmarks(Member("slack", TEAM, "U7"))
    assert [bookmark.paper.id for bookmark in saved] == [paper.id]
    assert [message.ephemeral_to for message in fake.ephemerals] == ["U7"]
