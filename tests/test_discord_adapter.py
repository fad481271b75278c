"""The Discord adapter end to end: the real discord.py client against the fake Discord."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from discord.gateway import DiscordWebSocket
from discord.http import Route

from adapters.discord.adapter import DiscordAdapter
from bot.config import ConfigError
from bot.core import PapersBot
from bot.models import Digest, DigestItem, Member, MessageRef, Paper
from bot.presentation import FAILED
from bot.storage import open_storage
from tests.discord_fake import FakeDiscord
from tests.discord_harness import DiscordHarness, discord_harness, harness_settings
from tests.discord_payloads import APP_ID, CHANNEL_ID, GUILD_ID, visible_text

MESSAGES = rf"/channels/{CHANNEL_ID}/messages"
NO_PINGS: dict[str, list[str]] = {"parse": []}


def paper(pid: str, title: str, **fields: Any) -> Paper:
    values: dict[str, Any] = {
        "abstract": f"We study {title.lower()}.",
        "authors": ("Ada Lovelace", "Alan Turing", "Grace Hopper", "Edsger Dijkstra"),
        "added": date(2025, 8, 5),
        "upvotes": 10,
        "comments": 2,
        "sources": ("hf",),
    }
    values.update(fields)
    return Paper(id=pid, title=title, **values)


PAPERS = [
    paper(
        "2508.00001",
        "Meta-RL with Learned Context",
        upvotes=50,
        github_repo="https://github.com/example/metarl",
        thumbnail="https://cdn.example/1.png",
    ),
    paper("2508.00002", "Diffusion Models for Proteins", upvotes=30),
    paper(
        "2508.00003", "Scaling Laws Revisited", upvotes=20, project_page="https://scaling.example"
    ),
]


@pytest.fixture
async def harness(tmp_path: Path) -> AsyncIterator[DiscordHarness]:
    async with discord_harness(tmp_path) as running:
        running.seed(PAPERS)
        yield running


def bodies(fake: FakeDiscord, pattern: str = MESSAGES) -> list[dict[str, Any]]:
    return [r.body for r in fake.find("POST", pattern) if r.status == 200]


async def test_identify_asks_for_guilds_and_guild_reactions_only(harness: DiscordHarness) -> None:
    assert harness.fake.identify is not None
    assert harness.fake.identify["intents"] == 1025
    assert harness.adapter.connected


async def test_papers_is_synced_to_the_configured_guild_only(harness: DiscordHarness) -> None:
    assert set(harness.fake.commands) == {GUILD_ID}
    (command,) = harness.fake.commands[GUILD_ID]
    assert command["name"] == "papers"
    names = {option["name"] for option in command["options"]}
    assert {
        "search",
        "help",
        "today",
        "saved",
        "unsave",
        "export",
        "subscribe",
        "unsubscribe",
        "settings",
        "digest",
    } <= names


async def test_commands_sync_globally_without_guild_ids(tmp_path: Path) -> None:
    async with discord_harness(tmp_path, discord_guild_ids=()) as running:
        assert set(running.fake.commands) == {"global"}


async def test_a_digest_posts_a_header_and_one_embed_per_paper_into_the_ledger(
    harness: DiscordHarness,
) -> None:
    outcome = await harness.post_digest()
    assert outcome.status == "posted" and len(outcome.posted) == 3
    messages = harness.fake.posted()
    assert len(messages) == 4
    (header,) = messages[0]["embeds"]  # an embed: its footer lets a restart find it
    assert "Trending papers" in header["title"] and header["footer"]["text"].startswith("header:")
    embeds = [m["embeds"][0] for m in messages[1:]]
    assert [e["title"] for e in embeds] == [p.title for p in PAPERS]
    assert embeds[0]["url"] == "https://huggingface.co/papers/2508.00001"
    assert embeds[0]["thumbnail"]["url"] == "https://cdn.example/1.png"
    assert "Ada Lovelace, Alan Turing, Grace Hopper +1 more" in visible_text(messages[1])
    for ref, message, expected in zip(outcome.posted, messages[1:], PAPERS, strict=True):
        assert ref.ref == message["id"]
        assert harness.storage.ledger.paper_for_message(ref) == expected.id
    # The seeded 🔖 on each paper message, and the bot's own echoed reaction changes nothing.
    assert [r[1] for r in harness.fake.reactions] == [m["id"] for m in messages[1:]]
    assert harness.storage.activity.bookmarks(Member("discord", GUILD_ID, APP_ID)) == []
    assert [ref for ref, _ in harness.channel_messages()] == [m["id"] for m in messages]


async def test_papers_meta_rl_answers_within_three_seconds(harness: DiscordHarness) -> None:
    record = await harness.interact("meta-rl")
    assert record.first_response_after is not None and record.first_response_after < 3
    (reply,) = record.messages
    assert reply["flags"] & 64, "search results are ephemeral"
    assert "Meta-RL with Learned Context" in visible_text(reply)
    buttons = [c for row in reply["components"] for c in row["components"]]
    assert [b["label"] for b in buttons] == ["Share in channel"]


async def test_a_slow_command_is_deferred_then_answered(harness: DiscordHarness) -> None:
    # /papers digest waits out a rate limit: longer than the adapter gives a direct answer.
    harness.adapter.quick_reply_seconds = 0.05
    harness.fake.rate_limit_once("POST", MESSAGES, retry_after=0.2)
    record = await harness.interact("digest")
    assert [kind for _, kind in record.callbacks] == [5]  # deferred, "thinking"
    assert record.first_response_after is not None and record.first_response_after < 3
    (reply,) = record.messages
    assert visible_text(reply).startswith("Posted 3 papers")
    assert reply["flags"] & 64 and not reply["flags"] & 128


async def test_a_bookmark_reaction_saves_and_its_removal_unsaves(harness: DiscordHarness) -> None:
    outcome = await harness.post_digest()
    first = outcome.posted[0].ref
    await harness.react(first, "222")
    saved = harness.storage.activity.bookmarks(Member("discord", GUILD_ID, "222"))
    assert [mark.paper.id for mark in saved] == ["2508.00001"]
    assert "Meta-RL with Learned Context" in await harness.command("saved", user="222")
    await harness.react(first, "222", added=False)
    assert harness.storage.activity.bookmarks(Member("discord", GUILD_ID, "222")) == []


async def test_other_reactions_are_ignored(harness: DiscordHarness) -> None:
    outcome = await harness.post_digest()
    header = harness.fake.posted()[0]["id"]
    await harness.react(outcome.posted[0].ref, APP_ID)  # the bot's own reaction
    await harness.react(outcome.posted[0].ref, "222", emoji="👍")  # not a bookmark emoji
    await harness.react(header, "222")  # not a paper message
    assert harness.storage.activity.bookmarks(Member("discord", GUILD_ID, APP_ID)) == []
    assert harness.storage.activity.bookmarks(Member("discord", GUILD_ID, "222")) == []


async def test_mentions_in_titles_never_ping(harness: DiscordHarness) -> None:
    harness.seed([paper("2508.00009", "@everyone look <@123> at <@&456>", upvotes=999)])
    await harness.post_digest()
    await harness.command("everyone")
    sent = bodies(harness.fake) + [
        r.body["data"] for r in harness.fake.find("POST", r"/interactions/.+/callback")
    ]
    assert sent and all(body["allowed_mentions"] == NO_PINGS for body in sent)
    title = harness.fake.posted()[1]["embeds"][0]["title"]
    assert title == r"@everyone look \<@123\> at \<@&456\>"


async def test_a_429_is_waited_out_and_the_post_lands_once(harness: DiscordHarness) -> None:
    harness.fake.rate_limit_once("POST", MESSAGES, retry_after=0.05)
    outcome = await harness.post_digest()
    assert outcome.status == "posted"
    statuses = [r.status for r in harness.fake.find("POST", MESSAGES)]
    assert statuses == [429, 200, 200, 200, 200]
    assert len(harness.fake.posted()) == 4
    titles = [m["embeds"][0]["title"] for m in harness.fake.posted()[1:]]
    assert titles == [p.title for p in PAPERS]


async def test_export_attaches_the_saved_papers_as_bibtex(harness: DiscordHarness) -> None:
    await harness.command("save 2508.00002")
    record = await harness.interact("export")
    (reply,) = record.messages
    assert [a["filename"] for a in reply["attachments"]] == ["papers.bib"]
    (request,) = harness.fake.find("POST", r"/interactions/.+/callback")[-1:]
    ((name, data),) = request.files
    assert name == "papers.bib"
    assert b"@" in data and b"Diffusion Models for Proteins" in data


async def test_share_button_posts_the_paper_in_the_channel(harness: DiscordHarness) -> None:
    record = await harness.interact("diffusion", user="333")
    (reply,) = record.messages
    (button,) = [c for row in reply["components"] for c in row["components"]]
    click = await harness.send(harness.fake.button_click(reply, button["custom_id"], user="333"))
    assert "Shared in this channel" in visible_text(click.messages[0])
    (shared,) = harness.fake.posted()
    assert shared["embeds"][0]["title"] == "Diffusion Models for Proteins"
    ref = MessageRef(harness.channel, shared["id"])
    assert harness.storage.ledger.paper_for_message(ref) == "2508.00002"


async def test_a_share_of_an_unknown_paper_gets_a_short_private_answer(
    harness: DiscordHarness,
) -> None:
    button = "papers:share:2999.99999"  # e.g. a paper deleted since the search
    results = harness.fake.ephemeral_message("results", button)
    click = await harness.send(harness.fake.button_click(results, button))
    (answer,) = click.messages
    assert "have not seen a paper with id 2999.99999" in visible_text(answer)
    assert answer["flags"] & 64 and harness.fake.posted() == []


async def test_commands_map_onto_the_core_grammar(harness: DiscordHarness) -> None:
    assert "Now following “diffusion”" in await harness.command("subscribe diffusion")
    text = await harness.command("settings time 08:30")
    assert "Updated time" in text and "08:30 (UTC)" in text
    assert "is not a time" in await harness.command("settings time 25:99")
    record = await harness.interact("unsubscribe")
    (reply,) = record.messages
    assert not reply["flags"] & 64, "stopping the digest is said in the channel"
    assert "no longer get the daily digest" in visible_text(reply)


async def test_options_autocomplete_setting_names_and_saved_papers(
    harness: DiscordHarness,
) -> None:
    async def suggest(subcommand: str, options: dict[str, str], focused: str) -> list[str]:
        payload = harness.fake.slash_command(subcommand, options, user="444", focused=focused)
        record = await harness.fake.send_interaction(payload)
        await asyncio.wait_for(record.answered.wait(), 10)
        assert [kind for _, kind in record.callbacks] == [8]
        return [choice["value"] for choice in record.choices]

    assert await suggest("settings", {"name": "ti"}, "name") == ["time", "timezone"]
    await harness.command("save 2508.00003", user="444")
    await harness.command("save 2508.00001", user="444")
    assert sorted(await suggest("unsave", {"paper": ""}, "paper")) == ["2508.00001", "2508.00003"]
    assert await suggest("unsave", {"paper": "scaling"}, "paper") == ["2508.00003"]


async def test_the_digest_command_posts_and_answers_privately(harness: DiscordHarness) -> None:
    text = await harness.command("digest")
    assert text == f"Posted 3 papers to discord:{GUILD_ID}/{CHANNEL_ID}."
    assert len(harness.fake.posted()) == 4


async def test_a_failure_is_a_short_private_message_and_a_logged_traceback(
    harness: DiscordHarness, caplog: pytest.LogCaptureFixture
) -> None:
    harness.fake.fail_once("POST", MESSAGES, 400, {"message": "Invalid Form Body", "code": 50035})
    with caplog.at_level(logging.ERROR):
        record = await harness.interact("digest")
    (reply,) = record.messages
    assert reply["flags"] & 64
    assert visible_text(reply).endswith(FAILED)
    logged = [r.getMessage() for r in caplog.records if r.exc_info]
    assert any("/papers digest in" in m and m.endswith("failed") for m in logged)


async def test_missing_permissions_are_explained(harness: DiscordHarness) -> None:
    harness.fake.fail_once("POST", MESSAGES, 403, {"message": "Missing Permissions", "code": 50013})
    text = await harness.command("digest")
    assert "View Channel, Send Messages and Embed Links" in text


async def test_find_posted_recognises_a_paper_message_after_a_crash(
    harness: DiscordHarness,
) -> None:
    since = harness.now - timedelta(seconds=1)
    outcome = await harness.post_digest()
    found = await harness.adapter.find_posted(harness.channel, "2508.00002", since)
    assert found == outcome.posted[1]
    assert await harness.adapter.find_posted(harness.channel, "2508.09999", since) is None
    later = since + timedelta(minutes=2)  # only messages after the digest started count
    assert await harness.adapter.find_posted(harness.channel, "2508.00002", later) is None


async def test_a_retried_post_returns_the_message_already_sent(harness: DiscordHarness) -> None:
    digest = Digest(harness.channel, date(2025, 8, 5), (), "Trending papers")
    item = DigestItem(PAPERS[0], "50 upvotes")
    first = await harness.adapter.post_paper(digest, item)
    again = await harness.adapter.post_paper(digest, item)
    assert first == again and len(harness.fake.posted()) == 1
    other_day = await harness.adapter.post_paper(replace(digest, day=date(2025, 8, 6)), item)
    assert other_day != first


async def test_a_rejected_token_stops_start_up_naming_the_variable(tmp_path: Path) -> None:
    endpoints = (Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY)
    fake = FakeDiscord()
    await fake.start()
    fake.fail_once("GET", "/users/@me", 401, {"message": "401: Unauthorized", "code": 0})
    settings, discord_settings = harness_settings(tmp_path, fake)
    try:
        with open_storage(tmp_path / "t.db") as store:
            adapter = DiscordAdapter(PapersBot(store, settings), discord_settings)
            with pytest.raises(ConfigError, match="DISCORD_TOKEN was rejected"):
                await adapter.start()
            assert not adapter.connected
            assert endpoints == (Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY)
    finally:
        await fake.close()
        Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY = endpoints


async def test_stop_restores_discords_endpoints(tmp_path: Path) -> None:
    before = (Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY)
    async with discord_harness(tmp_path) as running:
        assert running.fake.api_url == Route.BASE
        adapter = running.adapter
    assert before == (Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY)
    assert not adapter.connected


async def test_a_fatal_gateway_close_is_logged_and_shows_as_disconnected(
    harness: DiscordHarness, caplog: pytest.LogCaptureFixture
) -> None:
    task = harness.adapter._task
    assert task is not None and harness.adapter.connected
    with caplog.at_level(logging.ERROR):
        await harness.fake.close_gateway(4004)  # Discord: authentication failed, do not retry
        await asyncio.wait_for(asyncio.gather(task, return_exceptions=True), 10)
    assert not harness.adapter.connected
    assert any("gateway connection ended" in r.getMessage() for r in caplog.records)


async def test_a_member_without_manage_channels_is_refused_privately(
    harness: DiscordHarness,
) -> None:
    record = await harness.interact("subscribe", "222")
    (reply,) = record.messages
    assert reply["flags"] & 64
    assert visible_text(reply).endswith(
        "Only members with the Manage Channels permission can use /papers subscribe [topic] "
        "in this channel."
    )
    assert harness.storage.activity.get_subscription(harness.channel) is None
    assert "now gets the daily digest" in await harness.command("subscribe", "111")


async def test_admin_user_ids_count_as_channel_managers_on_discord(tmp_path: Path) -> None:
    async with discord_harness(tmp_path, admin_user_ids=("222",)) as harness:
        assert "now gets the daily digest" in await harness.command("subscribe", "222")
        assert "Only members with" in await harness.command("unsubscribe", "333")
