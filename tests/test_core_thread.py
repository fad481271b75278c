"""The core on its own thread: no database call runs on the adapters' loop, so a write lock held
by another process delays answers, never acks; and nothing is lost once the lock is released."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qsl

import pytest

from bot.commands import CommandContext
from bot.config import Settings
from bot.core import PapersBot
from bot.corethread import CoreThread
from bot.digest import RecoverablePoster
from bot.models import Channel, Digest, DigestItem, Member, MessageRef
from bot.storage import Storage, open_storage
from tests.conftest import FixedClock, RecordingPoster, make_paper
from tests.discord_harness import DiscordHarness, discord_harness
from tests.slack_fake import APP_TOKEN, visible_text
from tests.slack_harness import CHANNEL, SlackHarness, slack_harness

PAPERS = [make_paper(f"2508.0000{n}", f"Paper {n}", upvotes=10 * n) for n in range(1, 4)]
ACK_DEADLINE = 2.0  # seconds; Slack and Discord give 3


@pytest.fixture
def core() -> Iterator[CoreThread]:
    with CoreThread() as running:
        yield running


@contextmanager
def write_lock(db: Path) -> Iterator[None]:
    """Another process's write transaction: the database's write lock, held until the end."""
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
    finally:
        conn.execute("COMMIT")
        conn.close()


def bookmark_count(db: Path) -> int:
    """Bookmarks committed so far, read the way another process would."""
    with sqlite3.connect(db) as conn:
        return int(conn.execute("SELECT count(*) FROM bookmarks").fetchone()[0])


@dataclass
class ThreadRecordingPoster(RecordingPoster):
    """A poster that notes the thread each post ran on."""

    threads: set[str] = field(default_factory=set)

    async def post_header(self, digest: Digest) -> MessageRef:
        self.threads.add(threading.current_thread().name)
        return await super().post_header(digest)

    async def post_paper(self, digest: Digest, item: DigestItem) -> MessageRef:
        self.threads.add(threading.current_thread().name)
        return await super().post_paper(digest, item)


@pytest.fixture
async def threaded_bot(
    settings: Settings, clock: FixedClock, core: CoreThread
) -> AsyncIterator[PapersBot]:
    store: Storage = await core.call(open_storage, settings.papers_bot_db)
    await core.call(store.papers.upsert, PAPERS, clock.now)
    yield PapersBot(store, settings, clock, home=core)
    await core.call(store.close)


async def test_the_store_refuses_the_adapters_thread_and_posts_come_back_to_it(
    threaded_bot: PapersBot, core: CoreThread
) -> None:
    channel = Channel("fake", "W1", "C1")
    with pytest.raises(sqlite3.ProgrammingError, match="thread"):
        threaded_bot.subscriptions.get(channel)  # storage touched from the adapters' loop
    poster = ThreadRecordingPoster()
    outcome = await threaded_bot.post_digest(poster, channel)
    assert outcome.status == "posted" and len(poster.papers) == 3
    assert poster.threads == {threading.current_thread().name}  # posted on the caller's loop
    reply = await threaded_bot.answer_text("saved", CommandContext(channel, "U1", poster))
    assert "saved" in getattr(reply, "heading", "").lower()


def test_a_relay_offers_exactly_the_coroutine_methods_of_what_it_stands_for(
    core: CoreThread,
) -> None:
    class Finder(RecordingPoster):
        async def find_posted(self, channel: Channel, paper_id: str) -> MessageRef | None:
            return None

    async def relays() -> tuple[object, object]:
        return core.relay(RecordingPoster()), core.relay(Finder())

    plain, finder = asyncio.run(relays())
    assert not isinstance(plain, RecoverablePoster)
    assert isinstance(finder, RecoverablePoster)
    assert finder.platform == "fake"  # type: ignore[attr-defined]


async def first_paper_message(harness: SlackHarness | DiscordHarness, core: CoreThread) -> str:
    """Seed the papers and post the digest; the first paper message's ref."""
    await core.call(harness.seed, PAPERS)
    outcome = await harness.post_digest()
    return outcome.posted[0].ref


async def test_slack_acks_while_another_process_holds_the_write_lock(
    tmp_path: Path, core: CoreThread
) -> None:
    async with slack_harness(tmp_path, home=core) as slack:
        ref = await first_paper_message(slack, core)
        help_url = slack.fake.new_response_url(CHANNEL)
        search_url = slack.fake.new_response_url(CHANNEL)
        with write_lock(tmp_path / "t.db"):
            acks = []
            form = "application/x-www-form-urlencoded"
            for body, kind in [
                (slack.reaction_body(ref, "U2", True, "bookmark"), "application/json"),
                (slack.command_body("help", "U1", help_url), form),
                (slack.command_body("paper", "U1", search_url), form),
            ]:
                started = time.perf_counter()
                response = await slack.send(body, kind)
                acks.append(time.perf_counter() - started)
                assert response.status == 200
            # Acked while the bookmark still waits for the lock: the ack did not wait for it.
            assert bookmark_count(tmp_path / "t.db") == 0
            assert not slack.fake.replies_to(help_url)
        assert max(acks) < ACK_DEADLINE, acks
        await slack.adapter.idle()
        member = Member("slack", slack.channel.workspace, "U2")
        saved = await core.call(slack.storage.activity.bookmarks, member)
        assert [mark.paper.id for mark in saved] == [PAPERS[2].id]
        confirmed = [e.text for e in slack.fake.ephemerals]
        assert confirmed == [f"Saved: {PAPERS[2].title} · /papers saved"]
        assert slack.fake.replies_to(help_url) and slack.fake.replies_to(search_url)


async def test_discord_defers_while_another_process_holds_the_write_lock(
    tmp_path: Path, core: CoreThread
) -> None:
    async with discord_harness(tmp_path, home=core) as harness:
        ref = await first_paper_message(harness, core)
        harness.adapter.quick_reply_seconds = 0.2
        user = harness.user_id("U2")
        with write_lock(tmp_path / "t.db"):
            reacted = asyncio.ensure_future(harness.react(ref, "U2"))
            await asyncio.sleep(0)
            payload = harness.fake.slash_command("saved", {}, user)
            record = await harness.fake.send_interaction(payload)
            await asyncio.wait_for(record.answered.wait(), ACK_DEADLINE)
            assert [kind for _, kind in record.callbacks] == [5]  # deferred, "thinking"
            assert bookmark_count(tmp_path / "t.db") == 0
        await reacted
        await harness.adapter.stop()  # lets the command's handler finish
        saved = await core.call(
            harness.storage.activity.bookmarks, Member("discord", harness.channel.workspace, user)
        )
        assert [mark.paper.id for mark in saved] == [PAPERS[2].id]
        assert len(record.messages) == 1 and PAPERS[2].title in str(record.messages[0])


async def test_slack_permission_checks_and_posts_run_on_the_adapters_loop(
    tmp_path: Path, core: CoreThread
) -> None:
    # users.info and chat.postMessage go through the adapter's client, bound to its loop.
    async with slack_harness(tmp_path, home=core) as slack:
        await core.call(slack.seed, PAPERS)
        refused = await slack.command("subscribe", "U2")
        assert refused.endswith(
            "Only workspace admins and owners can use /papers subscribe [topic] in this channel."
        )
        assert "now gets the daily digest" in await slack.command("subscribe", "U1")
        assert (await slack.command("digest", "U1")).startswith("Posted 3 papers")
        assert len(slack.channel_messages()) == 5  # subscribed, the header and three papers
        sub = await core.call(slack.storage.activity.get_subscription, slack.channel)
        assert sub is not None


async def test_discord_suggestions_give_up_in_time_while_the_core_waits_for_the_lock(
    tmp_path: Path, core: CoreThread
) -> None:
    async with discord_harness(tmp_path, home=core) as harness:
        ref = await first_paper_message(harness, core)
        user = harness.user_id("U2")
        with write_lock(tmp_path / "t.db"):
            reacted = asyncio.ensure_future(harness.react(ref, "U2"))
            await asyncio.sleep(0)
            typing = harness.fake.slash_command("unsave", {"paper": ""}, user, focused="paper")
            record = await harness.fake.send_interaction(typing)
            await asyncio.wait_for(record.answered.wait(), 3)  # Discord's limit for suggestions
            assert [kind for _, kind in record.callbacks] == [8] and record.choices == []
        await reacted
        typing = harness.fake.slash_command("unsave", {"paper": ""}, user, focused="paper")
        record = await harness.fake.send_interaction(typing)
        await asyncio.wait_for(record.answered.wait(), 3)
        assert [choice["value"] for choice in record.choices] == [PAPERS[2].id]


async def test_socket_mode_acks_while_another_process_holds_the_write_lock(
    tmp_path: Path, core: CoreThread
) -> None:
    async with slack_harness(tmp_path, home=core, slack_app_token=APP_TOKEN) as slack:
        ref = await first_paper_message(slack, core)
        response_url = slack.fake.new_response_url(CHANNEL)
        reaction = json.loads(slack.reaction_body(ref, "U2", True, "bookmark"))
        command = dict(parse_qsl(slack.command_body("saved", "U2", response_url)))
        with write_lock(tmp_path / "t.db"):
            for number, (kind, payload) in enumerate(
                [("events_api", reaction), ("slash_commands", command)]
            ):
                envelope = {"envelope_id": f"e{number}", "type": kind, "payload": payload}
                ack = await asyncio.wait_for(slack.fake.push(envelope), ACK_DEADLINE)
                assert ack["envelope_id"] == f"e{number}"
            assert bookmark_count(tmp_path / "t.db") == 0
        await slack.adapter.idle()
        assert bookmark_count(tmp_path / "t.db") == 1
        assert PAPERS[2].title in visible_text(slack.fake.replies_to(response_url)[0])
