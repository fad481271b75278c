"""Many Discord servers: gateway shards across processes, against the fake gateway speaking
IDENTIFY with shard info and routing each server's events to the shard that owns it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from discord.gateway import DiscordWebSocket
from discord.http import Route

from adapters.discord.adapter import DiscordAdapter
from adapters.discord.credentials import check_settings, shard_of
from adapters.discord.settings import DiscordSettings
from bot.config import ConfigError
from bot.core import PapersBot
from bot.models import Channel, Member
from bot.storage import open_storage
from tests.conftest import make_paper
from tests.discord_fake import FakeDiscord
from tests.discord_harness import TOKEN, WAIT, harness_settings
from tests.discord_payloads import CHANNEL_ID, GUILD_ID

PAPERS = [make_paper(f"2508.0000{n}", upvotes=50 - n) for n in range(1, 3)]
OTHER_GUILD = str(int(GUILD_ID) + (1 << 22))  # the next shard over, with two shards
OTHER_CHANNEL = str(int(CHANNEL_ID) + 7)
HERE = Channel("discord", GUILD_ID, CHANNEL_ID)
THERE = Channel("discord", OTHER_GUILD, OTHER_CHANNEL)


def test_a_servers_shard_is_its_id_shifted_by_22_modulo_the_count() -> None:
    assert shard_of(int(GUILD_ID), 2) != shard_of(int(OTHER_GUILD), 2)
    assert shard_of(81384788765712384, 4) == (81384788765712384 >> 22) % 4


@asynccontextmanager
async def replicas(tmp_path: Path, *shard_ids: str) -> AsyncIterator[tuple[FakeDiscord, list[Any]]]:
    """One fake Discord and a papers-bot process per entry of `shard_ids` ("" for all shards),
    every one on the same database with DISCORD_SHARD_COUNT=2."""
    endpoints = (Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY)
    fake = FakeDiscord()
    await fake.start()
    started: list[Any] = []
    try:
        async with AsyncExitStack() as stack:
            for ids in shard_ids:
                settings, discord = harness_settings(
                    tmp_path, fake, discord_shard_count=2, discord_shard_ids=ids
                )
                store = stack.enter_context(open_storage(settings.papers_bot_db))
                bot = PapersBot(store, settings)
                adapter = DiscordAdapter(bot, discord, connect_timeout=WAIT)
                adapter.identify_interval = 0  # the fake has no IDENTIFY rate limit
                await adapter.start()
                stack.push_async_callback(adapter.stop)
                started.append((adapter, store))
            started[0][1].papers.upsert(PAPERS, datetime.now(UTC))  # fetched just now
            yield fake, started
    finally:
        await fake.close()
        Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY = endpoints


async def reacted(adapter: DiscordAdapter, fake: FakeDiscord, message: str, guild: str) -> Any:
    """Send a 🔖 on `message` in `guild`; the change the adapter that received it made."""
    client = adapter.client
    assert client is not None
    done = asyncio.ensure_future(
        client.wait_for("papers_reaction_done", check=lambda p, _c: str(p.message_id) == message)
    )
    await asyncio.sleep(0)
    channel = CHANNEL_ID if guild == GUILD_ID else OTHER_CHANNEL
    await fake.reaction(message, "222", channel=channel, guild=guild)
    _, change = await asyncio.wait_for(done, WAIT)
    return change


async def test_two_processes_split_the_shards_and_either_posts_anywhere(tmp_path: Path) -> None:
    async with replicas(tmp_path, "0", "1") as (fake, started):
        (first, store), (second, _) = started
        assert sorted(tuple(i["shard"]) for i in fake.identifies) == [(0, 2), (1, 2)]
        assert first.connected and second.connected
        owner = {0: first, 1: second}  # DISCORD_SHARD_IDS=0 and DISCORD_SHARD_IDS=1

        # Posting is REST: the first process posts to a server whose events go to the second.
        outcome_here = await first.bot.post_digest(first, HERE)
        outcome_there = await first.bot.post_digest(first, THERE)
        assert (outcome_here.status, outcome_there.status) == ("posted", "posted")
        assert len(fake.posted(OTHER_CHANNEL)) == 1 + len(PAPERS)

        # Gateway events reach the process that runs the server's shard, and only it.
        for guild, outcome in ((GUILD_ID, outcome_here), (OTHER_GUILD, outcome_there)):
            adapter = owner[shard_of(int(guild), 2)]
            change = await reacted(adapter, fake, outcome.posted[0].ref, guild)
            assert change is not None and change.changed
            saved = store.activity.bookmarks(Member("discord", guild, "222"))
            assert [b.paper.id for b in saved] == [PAPERS[0].id]
        assert fake.undelivered == []

        # With the process of shard 1 gone, its servers' events reach no one (Discord holds
        # them for that shard); the servers of shard 0 carry on.
        await second.stop()
        gone, kept = (HERE, THERE) if shard_of(int(GUILD_ID), 2) == 1 else (THERE, HERE)
        outcomes = {HERE: outcome_here, THERE: outcome_there}
        await fake.reaction(
            outcomes[gone].posted[1].ref, "222", channel=gone.channel, guild=gone.workspace
        )
        assert [event for event, _ in fake.undelivered] == ["MESSAGE_REACTION_ADD"]
        change = await reacted(first, fake, outcomes[kept].posted[1].ref, kept.workspace)
        assert change is not None and change.changed


async def test_one_process_can_run_every_shard(tmp_path: Path) -> None:
    async with replicas(tmp_path, "") as (fake, started):
        ((adapter, _store),) = started
        assert sorted(tuple(i["shard"]) for i in fake.identifies) == [(0, 2), (1, 2)]
        assert adapter.connected and adapter.shards == (2, [0, 1])
        for guild, channel in ((GUILD_ID, HERE), (OTHER_GUILD, THERE)):
            outcome = await adapter.bot.post_digest(adapter, channel)
            change = await reacted(adapter, fake, outcome.posted[0].ref, guild)
            assert change is not None and change.changed
        assert fake.undelivered == []


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ({"discord_shard_ids": ("1",)}, "DISCORD_SHARD_IDS is set but DISCORD_SHARD_COUNT is not"),
        ({"discord_shard_count": 2, "discord_shard_ids": ("2",)}, "'2' is not a shard of"),
        ({"discord_shard_count": 2, "discord_shard_ids": ("a",)}, "'a' is not a shard of"),
    ],
)
def test_shard_settings_that_do_not_fit_name_the_variable(
    values: dict[str, Any], expected: str
) -> None:
    settings = DiscordSettings(_env_file=None, discord_token=TOKEN, **values)  # type: ignore[call-arg]
    with pytest.raises(ConfigError, match=expected):
        check_settings(settings)
