"""One contract, every platform: the same conversations over Slack, Discord and the terminal.

Each harness runs the real adapter against a local server that speaks the platform's protocol
(the terminal one renders with rich); the scenarios only use the shared harness interface.
Slack and Discord run twice: with the core on the test's loop, and with the core and the store
on their own thread as under `papers-bot run` (the adapter's calls and posts then cross loops).
"""

from __future__ import annotations

import io
import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from adapters.terminal import TerminalAdapter, render, terminal_channel
from bot.commands import REGISTRY, CommandContext
from bot.config import load_settings
from bot.core import PapersBot
from bot.corethread import CoreThread
from bot.ingest import ingest_files
from bot.models import MessageRef
from bot.sources import sample_files
from bot.storage import open_storage
from tests.conftest import OnCoreThread, make_paper
from tests.discord_harness import discord_harness
from tests.slack_harness import slack_harness
from tests.upstream_server import UpstreamServer

META_RL = "2508.01287"  # "Exploitation Is All You Need... for Exploration" (meta-RL)
ARXIV_RESULT = "2202.12139"  # the first result of the recorded arXiv search
SAMPLE_DAY = "2025-08-05"


class TerminalHarness:
    """The terminal adapter behind the same interface (no reactions in a terminal)."""

    platform = "terminal"

    def __init__(self, tmp_path: Path, **overrides: Any) -> None:
        self.now = datetime(2025, 8, 5, 9, 0, tzinfo=UTC)
        settings = load_settings(papers_bot_db=tmp_path / "t.db", _env_file=None, **overrides)
        self.storage = open_storage(settings.papers_bot_db)
        self.bot = PapersBot(self.storage, settings, lambda: self.now)
        self.channel = terminal_channel()
        self.adapter = TerminalAdapter(Console(file=io.StringIO(), width=100, record=True))

    async def command(self, text: str, user: str = "111") -> str:
        """'/papers <text>' typed in `papers-bot chat`; the text it prints."""
        ctx = CommandContext(self.channel, user, self.adapter)
        reply = await self.bot.answer_text(text, ctx)
        self.adapter.console.print(render(reply))
        return self.adapter.console.export_text(clear=True)


@asynccontextmanager
async def terminal_harness(tmp_path: Path, **overrides: Any) -> AsyncIterator[TerminalHarness]:
    harness = TerminalHarness(tmp_path, **overrides)
    try:
        yield harness
    finally:
        harness.storage.close()


HARNESSES = {"slack": slack_harness, "discord": discord_harness, "terminal": terminal_harness}
THREADED = " on the core thread"  # as under `papers-bot run`: the core off the adapter's loop
CHAT = ["slack", "discord", "slack" + THREADED, "discord" + THREADED]  # channels and reactions
EVERY = [*CHAT, "terminal"]


@asynccontextmanager
async def harness_for(name: str, tmp_path: Path, **overrides: Any) -> AsyncIterator[Any]:
    platform = name.removesuffix(THREADED)
    async with AsyncExitStack() as stack:
        if platform == name:
            harness = await stack.enter_async_context(HARNESSES[name](tmp_path, **overrides))
        else:
            core = stack.enter_context(CoreThread())
            harness = await stack.enter_async_context(
                HARNESSES[platform](tmp_path, home=core, **overrides)
            )
            harness.storage = OnCoreThread(harness.storage, core)
        sample = next(p for p in sample_files() if SAMPLE_DAY in p.name)
        ingest_files(harness.storage, [sample], harness.now)
        yield harness


def store_user(harness: Any, user: str) -> str:
    """The user id the core sees for a test user name on this platform."""
    return str(harness.user_id(user)) if hasattr(harness, "user_id") else user


@pytest.mark.parametrize("platform", CHAT)
async def test_digest_posts_a_header_then_one_recorded_message_per_paper(
    platform: str, tmp_path: Path
) -> None:
    async with harness_for(platform, tmp_path) as h:
        outcome = await h.post_digest()
        messages = h.channel_messages()
        assert outcome.status == "posted" and len(outcome.posted) == 5
        assert len(messages) == 6  # the header, then one message per paper
        assert "Trending papers" in messages[0][1]
        store = h.storage
        shown = [
            store.ledger.paper_for_message(MessageRef(h.channel, ref)) for ref, _ in messages[1:]
        ]
        assert shown == [item.paper.id for item in outcome.digest.items]
        for (_, text), item in zip(messages[1:], outcome.digest.items, strict=True):
            assert item.paper.title[:40] in text
        again = await h.post_digest()
        assert again.status == "already" and len(h.channel_messages()) == 6


@pytest.mark.parametrize("platform", EVERY)
async def test_search_meta_rl_answers_within_three_seconds(platform: str, tmp_path: Path) -> None:
    async with harness_for(platform, tmp_path) as h:
        started = time.monotonic()
        text = await h.command("meta-rl")
        assert time.monotonic() - started < 3.0
        assert "Exploitation Is All You Need" in text


@pytest.mark.parametrize("platform", CHAT)
async def test_a_bookmark_reaction_saves_and_its_removal_unsaves(
    platform: str, tmp_path: Path
) -> None:
    async with harness_for(platform, tmp_path) as h:
        outcome = await h.post_digest()
        ref = outcome.posted[0].ref
        title = outcome.digest.items[0].paper.title
        await h.react(ref, "111")
        await h.react(h.channel_messages()[0][0], "111")  # the header: not a paper, ignored
        user = store_user(h, "111")
        saved = h.storage.activity.bookmarks(h.channel.member(user))
        assert [b.paper.title for b in saved] == [title]
        assert title[:40] in await h.command("saved", "111")
        await h.react(ref, "111", added=False)
        assert h.storage.activity.bookmarks(h.channel.member(user)) == []


@pytest.mark.parametrize("platform", CHAT)
async def test_a_hostile_title_never_pings_anyone(platform: str, tmp_path: Path) -> None:
    async with harness_for(platform, tmp_path) as h:
        title = "Attention <!channel> @everyone <@U123> <@&42> & <b>C++</b> *bold* is all"
        h.seed([make_paper("2508.99999", title, upvotes=10_000, added=datetime(2025, 8, 5).date())])
        await h.post_digest()
        text = h.channel_messages()[1][1]
        assert "everyone" in text and "C++" in text
        if h.platform == "slack":
            assert h.fake.pings() == []
        else:
            bodies = [r.body for r in h.fake.find("POST", r"/channels/\d+/messages")]
            assert bodies and all(b["allowed_mentions"] == {"parse": []} for b in bodies)


@pytest.mark.parametrize("platform", EVERY)
async def test_help_lists_every_subcommand(platform: str, tmp_path: Path) -> None:
    async with harness_for(platform, tmp_path) as h:
        text = await h.command("help")
        for command in REGISTRY:
            if not command.default:
                assert command.name in text, command.name


@pytest.mark.parametrize("platform", EVERY)
@pytest.mark.parametrize("query", ['"', "C++", "NOT", "meta-rl -", "🔖" * 20, "x" * 3000])
async def test_hostile_searches_get_a_clear_reply(
    platform: str, query: str, tmp_path: Path
) -> None:
    async with harness_for(platform, tmp_path) as h:
        text = await h.command(query)
        assert text.strip()
        assert "Traceback" not in text and "error" not in text.lower()


@pytest.mark.parametrize("platform", EVERY)
async def test_save_list_export_unsave(platform: str, tmp_path: Path) -> None:
    async with harness_for(platform, tmp_path) as h:
        assert "Saved" in await h.command(f"save {META_RL}")
        assert "Exploitation Is All You Need" in await h.command("saved")
        exported = exported_file(h, await h.command("export"), "papers.bib")
        assert "@misc{" in exported and META_RL in exported
        assert "Removed" in await h.command(f"unsave {META_RL}")
        assert "not saved any paper" in await h.command("saved")


def exported_file(harness: Any, text: str, filename: str) -> str:
    """The exported file as the user gets it: attached on Discord, shown in the reply elsewhere."""
    if harness.platform != "discord":
        return text
    files = dict(f for request in harness.fake.requests for f in request.files)
    return files[filename].decode()


@pytest.mark.parametrize("platform", EVERY)
async def test_export_ris(platform: str, tmp_path: Path) -> None:
    async with harness_for(platform, tmp_path) as h:
        await h.command(f"save {META_RL}")
        text = await h.command("export ris")
        assert "as RIS" in text
        exported = exported_file(h, text, "papers.ris")
        assert "TY  - UNPB" in exported and f"AN  - arXiv:{META_RL}" in exported
        assert f"DO  - 10.48550/arXiv.{META_RL}" in exported
        assert "bibtex or ris" in await h.command("export endnote")


@pytest.mark.parametrize("platform", EVERY)
async def test_subscribe_topics_and_settings(platform: str, tmp_path: Path) -> None:
    async with harness_for(platform, tmp_path) as h:
        assert "diffusion" in await h.command("subscribe diffusion")
        assert "08:30" in await h.command("settings time 08:30")
        assert "IANA" in await h.command("settings timezone Mars/Base")
        sub = h.storage.activity.get_subscription(h.channel)
        assert sub is not None and sub.topics == ("diffusion",) and sub.post_time == "08:30"
        stopped = await h.command("unsubscribe")
        assert "no longer get" in stopped and "removed" in stopped
        assert "08:30" in stopped and "diffusion" in stopped


@pytest.mark.parametrize("platform", CHAT)
async def test_share_in_channel_posts_the_paper_once_per_click(
    platform: str, tmp_path: Path
) -> None:
    async with harness_for(platform, tmp_path) as h:
        await h.share(META_RL, "111")
        messages = h.channel_messages()
        assert len(messages) == 1 and "Exploitation Is All You Need" in messages[0][1]
        assert h.storage.ledger.paper_for_message(MessageRef(h.channel, messages[0][0])) == META_RL


@pytest.mark.parametrize("platform", CHAT)
async def test_only_channel_managers_change_the_channel(platform: str, tmp_path: Path) -> None:
    async with harness_for(platform, tmp_path) as h:
        assert "now gets the daily digest" in await h.command("subscribe")  # a channel manager
        before = h.storage.activity.get_subscription(h.channel)
        announced = h.channel_messages()  # the subscription, said in the channel
        for text in ("unsubscribe", "subscribe diffusion", "settings time 08:30", "digest"):
            said = await h.command(text, "U2")  # a plain member
            assert "Only " in said and " can use /papers " in said, (text, said)
            assert "\n" not in said.strip()
        assert h.storage.activity.get_subscription(h.channel) == before
        assert h.channel_messages() == announced  # nothing else went out
        assert "09:00" in await h.command("settings", "U2")  # reading stays open
        assert "Updated time" in await h.command("settings time 08:30")


@pytest.mark.parametrize("platform", EVERY)
async def test_settings_on_an_unsubscribed_channel_says_so(platform: str, tmp_path: Path) -> None:
    async with harness_for(platform, tmp_path) as h:
        said = await h.command("settings time 08:30")
        assert "not subscribed" in said and "/papers subscribe" in said
        assert h.storage.activity.get_subscription(h.channel) is None


def on_arxiv(upstream: UpstreamServer, retries: int = 0) -> dict[str, Any]:
    """Settings overrides pointing the bot's arXiv lookups at the local upstream server."""
    return {"arxiv_api_url": upstream.arxiv_api_url, "http_retries": retries, "http_timeout": 2.0}


@pytest.mark.parametrize("platform", EVERY)
async def test_arxiv_search_lists_live_results_and_saves_one(
    platform: str, tmp_path: Path, upstream: UpstreamServer
) -> None:
    async with harness_for(platform, tmp_path, **on_arxiv(upstream)) as h:
        text = await h.command("arxiv testing deep learning")
        assert "on arXiv" in text and "Testing Deep Learning Models" in text
        [request] = upstream.requests
        assert request.query["search_query"] == "all:testing AND all:deep AND all:learning"
        assert request.query["max_results"] == "5"
        assert h.storage.papers.get(ARXIV_RESULT) is None  # a result is stored once saved
        if platform == "terminal":
            assert f"/papers save {ARXIV_RESULT}" in text
            said = await h.command(f"save {ARXIV_RESULT}")
        else:
            said = await h.click_save(ARXIV_RESULT, "111")
        assert "Saved: Testing Deep Learning Models" in said
        assert len(upstream.requests) == 1  # the result was remembered: no second request
        user = store_user(h, "111")
        saved = h.storage.activity.bookmarks(h.channel.member(user))
        assert [b.paper.id for b in saved] == [ARXIV_RESULT]
        assert saved[0].paper.sources == ("arxiv",)


@pytest.mark.parametrize("platform", EVERY)
async def test_saving_an_unseen_id_fetches_it_from_arxiv(
    platform: str, tmp_path: Path, upstream: UpstreamServer
) -> None:
    async with harness_for(platform, tmp_path, **on_arxiv(upstream)) as h:
        said = await h.command("save https://arxiv.org/abs/1605.08386v1")
        assert "Saved: Heat-bath random walks with Markov bases" in said
        assert [r.query["id_list"] for r in upstream.requests] == ["1605.08386"]
        paper = h.storage.papers.get("1605.08386")
        assert paper is not None and paper.authors == ("Caprice Stanley", "Tobias Windisch")
        assert "Heat-bath random walks" in await h.command("saved")
        assert "Already saved" in await h.command("save 1605.08386")
        assert len(upstream.requests) == 1  # stored now: no second request


@pytest.mark.parametrize("platform", EVERY)
async def test_an_id_arxiv_does_not_have_says_so(
    platform: str, tmp_path: Path, upstream: UpstreamServer
) -> None:
    async with harness_for(platform, tmp_path, **on_arxiv(upstream)) as h:
        said = await h.command("save 2401.99999")
        assert "arXiv has no paper 2401.99999" in said
        assert h.storage.papers.get("2401.99999") is None
        assert "not an arXiv id" in await h.command("save not-a-paper")
        assert len(upstream.requests) == 1  # a malformed id is never sent


@pytest.mark.parametrize("platform", EVERY)
async def test_a_pasted_id_or_link_shows_that_paper(
    platform: str, tmp_path: Path, upstream: UpstreamServer
) -> None:
    async with harness_for(platform, tmp_path, **on_arxiv(upstream)) as h:
        text = await h.command(f"https://huggingface.co/papers/{META_RL}")
        assert f"Paper {META_RL}" in text and "Exploitation Is All You Need" in text
        assert upstream.requests == []  # a stored paper: no lookup
        # An unseen one is fetched from arXiv and stored; one arXiv lacks is said beside it.
        text = await h.command(f"arXiv:1605.08386v1, https://arxiv.org/abs/2401.99999 {META_RL}")
        assert "Heat-bath random walks" in text and "Exploitation Is All You Need" in text
        assert "arXiv has no paper 2401.99999" in text
        assert h.storage.papers.get("1605.08386") is not None
        assert [r.query["id_list"] for r in upstream.requests] == ["1605.08386", "2401.99999"]
        assert "arXiv has no paper 2401.99999" in await h.command("2401.99999")
        # Words beside an id are a search of the words, as typed.
        assert f"Paper {META_RL}" not in await h.command(f"{META_RL} exploration")


@pytest.mark.slow  # waits out the arXiv client's real retries
@pytest.mark.parametrize("platform", EVERY)
async def test_arxiv_unreachable_gets_a_clear_reply_and_changes_nothing(
    platform: str, tmp_path: Path, upstream: UpstreamServer
) -> None:
    async with harness_for(platform, tmp_path, **on_arxiv(upstream)) as h:
        upstream.inject("500", times=2)
        said = await h.command("save 1605.08386")
        assert "arXiv could not be reached" in said and "nothing was saved" in said
        assert h.storage.papers.get("1605.08386") is None
        assert "arXiv could not be reached" in await h.command("arxiv testing")
        upstream.requests.clear()
        assert "Saved" in await h.command("save 1605.08386")  # arXiv back: the same command works


@pytest.mark.parametrize("platform", EVERY)
async def test_a_search_with_no_stored_match_offers_arxiv(platform: str, tmp_path: Path) -> None:
    async with harness_for(platform, tmp_path) as h:
        text = await h.command("zyxwvutsrq")
        assert "/papers arxiv zyxwvutsrq" in text
        nothing = await h.command("-")  # nothing to search for: no arXiv search of it either
        assert "Type some words" in nothing and "/papers arxiv" not in nothing
