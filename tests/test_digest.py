"""Digest delivery: header then one message per paper, at most once, resumable after a crash."""

from __future__ import annotations

import asyncio
import os
from dataclasses import replace
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

from bot.commands import CommandContext
from bot.config import Settings
from bot.core import PapersBot
from bot.digest import HEADER_PENDING, MACHINE, owner_is_dead, replica_id
from bot.models import Channel, Digest, DigestItem, DigestKind, MessageRef, Subscription
from bot.replies import TextReply
from bot.storage import Storage, open_storage
from tests.conftest import (
    STORAGE_BACKENDS,
    FixedClock,
    RecordingPoster,
    make_paper,
    storage_target,
)

DAY = date(2025, 8, 5)


def _seed(storage: Storage, n: int = 8) -> None:
    papers = [make_paper(f"2508.0000{i}", upvotes=10 * i) for i in range(1, n + 1)]
    storage.papers.upsert(papers, FixedClock()())


async def test_digest_posts_header_then_each_paper_and_records_them(
    bot: PapersBot, storage: Storage, poster: RecordingPoster, channel: Channel
) -> None:
    _seed(storage)
    outcome = await bot.post_digest(poster, channel)
    assert outcome.status == "posted"
    assert len(poster.headers) == 1
    assert poster.paper_ids == [
        "2508.00008",
        "2508.00007",
        "2508.00006",
        "2508.00005",
        "2508.00004",
    ]
    for ref, paper, why in poster.papers:
        assert storage.ledger.paper_for_message(MessageRef(channel, ref)) == paper.id
        assert "upvotes" in why
    assert storage.ledger.get_digest(channel, DAY).status == "done"  # type: ignore[union-attr]


async def test_the_same_day_never_posts_twice(
    bot: PapersBot, storage: Storage, poster: RecordingPoster, channel: Channel
) -> None:
    _seed(storage)
    await bot.post_digest(poster, channel)
    again = await bot.post_digest(poster, channel)
    assert again.status == "already"
    assert len(poster.papers) == 5 and len(poster.headers) == 1


async def test_next_day_picks_only_papers_not_yet_posted(
    bot: PapersBot, storage: Storage, poster: RecordingPoster, channel: Channel, clock: FixedClock
) -> None:
    _seed(storage)
    await bot.post_digest(poster, channel)
    clock.now += timedelta(days=1)
    await bot.post_digest(poster, channel)
    assert len(set(poster.paper_ids)) == len(poster.paper_ids) == 8


async def test_nothing_new_is_said_or_skipped_per_setting(
    bot: PapersBot, poster: RecordingPoster, channel: Channel, clock: FixedClock
) -> None:
    outcome = await bot.post_digest(poster, channel)
    assert outcome.status == "empty"
    assert poster.headers[0].empty_reason.startswith("No new papers")
    bot.subscriptions.save(replace(bot.subscriptions.effective(channel), skip_empty=True))
    clock.now += timedelta(days=1)
    assert (await bot.post_digest(poster, channel)).status == "skipped"
    assert len(poster.headers) == 1


async def test_a_crash_mid_post_resumes_without_repeats_or_gaps(
    bot: PapersBot, storage: Storage, channel: Channel
) -> None:
    _seed(storage)
    crashing = RecordingPoster(fail_after=2)
    with pytest.raises(ConnectionError):
        await bot.post_digest(crashing, channel)
    resumed = RecordingPoster()
    outcome = await bot.post_digest(resumed, channel)
    assert outcome.status == "posted"
    assert resumed.headers == []  # the header already went out
    # the paper whose post raised was claimed but never confirmed: it is posted once now
    assert crashing.paper_ids + resumed.paper_ids == [
        "2508.00008",
        "2508.00007",
        "2508.00006",
        "2508.00005",
        "2508.00004",
    ]


class RememberingPoster(RecordingPoster):
    """A poster whose platform can say what it already shows (like Slack message metadata)."""

    async def find_posted(self, channel: Channel, key: str, since: datetime) -> MessageRef | None:
        for ref, paper, _ in self.papers:
            if paper.id == key:
                return MessageRef(channel, ref)
        for number, header in enumerate(self.headers):
            if header.header_key == key:
                return MessageRef(channel, f"seen-header-{number}")
        return None


async def test_recovery_asks_the_platform_about_an_unconfirmed_post(
    bot: PapersBot, storage: Storage, channel: Channel
) -> None:
    _seed(storage)
    poster = RememberingPoster()
    store = storage
    # a process posted the first paper, then died before recording the message ref
    picks = [("2508.00008", "80 upvotes"), ("2508.00007", "70 upvotes")]
    claim = store.ledger.claim_digest(channel, DAY, "daily", picks, bot.clock())
    store.ledger.set_digest_header(channel, DAY, "daily", "h0")
    store.ledger.claim_post(channel, "2508.00008", DAY, bot.clock())
    paper = store.papers.get("2508.00008")
    assert paper is not None and claim.fresh
    poster.papers.append(("m-before-crash", paper, ""))
    outcome = await bot.post_digest(poster, channel)
    assert poster.paper_ids == ["2508.00008", "2508.00007"]
    assert store.ledger.paper_for_message(MessageRef(channel, "m-before-crash")) == "2508.00008"
    assert len(outcome.posted) == 1


@pytest.mark.parametrize("backend", STORAGE_BACKENDS)
async def test_two_processes_sharing_the_database_post_once(
    tmp_path: Path,
    settings: Settings,
    clock: FixedClock,
    channel: Channel,
    backend: str,
    request: pytest.FixtureRequest,
) -> None:
    shared = storage_target(backend, request, tmp_path)  # two connections to one database
    with open_storage(shared) as one, open_storage(shared) as two:
        first, second = PapersBot(one, settings, clock), PapersBot(two, settings, clock)
        _seed(one)
        posters = RecordingPoster(), RecordingPoster()
        await asyncio.gather(
            first.post_digest(posters[0], channel), second.post_digest(posters[1], channel)
        )
        assert len(posters[0].papers) + len(posters[1].papers) == 5
        assert len(posters[0].headers) + len(posters[1].headers) == 1


async def test_digest_now_posts_an_extra_batch_of_new_papers_only(
    bot: PapersBot, storage: Storage, poster: RecordingPoster, channel: Channel
) -> None:
    _seed(storage, 12)
    await bot.post_digest(poster, channel)
    extra = await bot.answer_text("digest", CommandContext(channel, "U1", poster))
    assert extra == TextReply(f"Posted 5 papers to {channel}.")
    assert len(poster.papers) == 10 and len(set(poster.paper_ids)) == 10


async def test_topics_restrict_the_digest(
    bot: PapersBot, storage: Storage, poster: RecordingPoster, channel: Channel
) -> None:
    storage.papers.upsert(
        [
            make_paper("2508.10001", "Meta-reinforcement learning for robots", upvotes=1),
            make_paper("2508.10002", "A survey of sparse attention", upvotes=90),
        ],
        bot.clock(),
    )
    bot.subscriptions.save(Subscription(channel, topics=("meta-rl",)))
    await bot.post_digest(poster, channel)
    assert poster.paper_ids == ["2508.10001"]
    assert "matches meta-rl" in poster.papers[0][2]


def test_lease_owner_liveness() -> None:
    me = replica_id()
    machine, pid, _ = me.rsplit(":", 2)
    assert machine == MACHINE and pid == str(os.getpid()) and me == replica_id()
    assert not owner_is_dead(me)
    assert owner_is_dead(f"{MACHINE}:999999999:00ff00ff")  # no such process here
    assert owner_is_dead(f"{MACHINE}:{pid}:00000000")  # an earlier process with this pid
    assert not owner_is_dead(f"{MACHINE}:1:00ff00ff")  # alive (init)
    assert not owner_is_dead("another-host:1:00ff00ff")  # elsewhere: its lease expires instead
    assert not owner_is_dead(None)


async def test_weekly_roundup_ranks_by_team_saves_and_skips_quiet_weeks(
    bot: PapersBot, storage: Storage, poster: RecordingPoster, channel: Channel, clock: FixedClock
) -> None:
    _seed(storage)
    await bot.post_digest(poster, channel)
    refs = {paper.id: MessageRef(channel, ref) for ref, paper, _ in poster.papers}
    for user in ("U1", "U2", "U3"):
        await bot.handle_reaction(refs["2508.00005"], user, "bookmark", True)
    await bot.handle_reaction(refs["2508.00008"], "U1", "bookmark", True)
    roundup = RecordingPoster()
    outcome = await bot.post_roundup(roundup, channel)
    assert outcome.status == "posted"
    assert roundup.headers[0].title.startswith("Weekly roundup")
    assert [(p.id, why) for _, p, why in roundup.papers] == [
        ("2508.00005", "saved by 3 teammates"),
        ("2508.00008", "saved by 1 teammate"),
    ]
    assert (await bot.post_roundup(roundup, channel)).status == "already"
    clock.now += timedelta(days=8)
    quiet = RecordingPoster()
    assert (await bot.post_roundup(quiet, channel)).status == "skipped"
    assert quiet.headers == []


async def test_a_header_sent_just_before_a_crash_is_found_not_repeated(
    bot: PapersBot, storage: Storage, channel: Channel
) -> None:
    _seed(storage)
    poster = RememberingPoster()
    store = storage
    picks = [("2508.00008", "80 upvotes")]
    store.ledger.claim_digest(channel, DAY, "daily", picks, bot.clock())
    # a process marked the header pending, sent it, and died before recording its ref
    store.ledger.set_digest_header(channel, DAY, "daily", HEADER_PENDING)
    poster.headers.append(Digest(channel, DAY, (), "Trending papers", kind=DigestKind.DAILY))
    await bot.post_digest(poster, channel)
    assert len(poster.headers) == 1
    assert store.ledger.get_digest(channel, DAY).header_ref == "seen-header-0"  # type: ignore[union-attr]
    assert poster.paper_ids == ["2508.00008"]


async def test_a_pending_header_the_platform_never_got_is_posted(
    bot: PapersBot, storage: Storage, channel: Channel
) -> None:
    _seed(storage)
    poster = RememberingPoster()
    storage.ledger.claim_digest(channel, DAY, "daily", [("2508.00008", "")], bot.clock())
    storage.ledger.set_digest_header(channel, DAY, "daily", HEADER_PENDING)
    await bot.post_digest(poster, channel)
    assert len(poster.headers) == 1 and poster.paper_ids == ["2508.00008"]


class SlowPoster(RecordingPoster):
    """Each post yields to the loop, so two runs in one process can interleave."""

    async def post_paper(self, digest: Digest, item: DigestItem) -> MessageRef:
        await asyncio.sleep(0)
        return await super().post_paper(digest, item)


async def test_one_process_never_runs_a_digest_twice_at_once(
    bot: PapersBot, storage: Storage, channel: Channel
) -> None:
    # A start-up resume and a /papers digest of the same interrupted digest, in one process:
    # the lease names the process, so the runner itself must turn the second one away.
    _seed(storage)
    picks = [("2508.00008", "80 upvotes"), ("2508.00007", "70 upvotes")]
    claim = storage.ledger.claim_digest(channel, DAY, "daily", picks, bot.clock())
    poster = SlowPoster()
    resumed, typed = await asyncio.gather(
        bot.finish_digest(poster, claim),
        bot.answer_text("digest", CommandContext(channel, "U1", poster)),
    )
    assert resumed.status == "posted"
    assert typed == TextReply(f"Another process is posting {channel}'s digest.")
    assert poster.paper_ids == ["2508.00008", "2508.00007"] and len(poster.headers) == 1
