"""The Discord adapter, started for real against the fake Discord, behind the contract interface.

`discord_harness(tmp_path)` yields an object with the same interface as the Slack harness, so
the contract suite can run one set of scenarios over both platforms.
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from discord.gateway import DiscordWebSocket
from discord.http import Route

from adapters.discord.adapter import DiscordAdapter
from adapters.discord.commands import SAVE_ID, SHARE_ID
from adapters.discord.settings import DiscordSettings
from bot.commands import REGISTRY
from bot.config import Settings
from bot.core import PapersBot
from bot.corethread import INLINE, Home
from bot.digest import DigestOutcome
from bot.models import Channel, Paper
from bot.storage import Storage, open_storage
from tests.discord_fake import FakeDiscord, Interaction
from tests.discord_payloads import APP_ID, CHANNEL_ID, GUILD_ID, visible_text

# A well-formed bot token for the fake: base64 of the bot's id, a timestamp part, an HMAC part.
CHANNEL = Channel("discord", GUILD_ID, CHANNEL_ID)
TOKEN = base64.urlsafe_b64encode(APP_ID.encode()).decode().rstrip("=") + ".GfAkEs." + "x" * 38
WAIT = 10.0  # seconds: generous, only reached when something is broken


@dataclass
class DiscordHarness:
    """A running DiscordAdapter, its core and the fake Discord it talks to."""

    bot: PapersBot
    storage: Storage
    adapter: DiscordAdapter
    fake: FakeDiscord
    now: datetime
    settings: Settings
    platform: str = "discord"
    channel: Channel = CHANNEL
    _users: dict[str, str] = field(default_factory=dict)

    def user_id(self, user: str) -> str:
        """The Discord user id the core sees for a test's user name ('U1' -> a fixed snowflake);
        numeric names are ids already."""
        if user.isdigit():
            return user
        return self._users.setdefault(user, str(1_500_000_000_000_000_000 + len(self._users)))

    async def command(self, text: str, user: str = "111") -> str:
        """'/papers <text>' sent as the matching slash subcommand; the reply's visible text."""
        record = await self.interact(text, user)
        return "\n".join(visible_text(message) for message in record.messages)

    async def interact(self, text: str, user: str = "111") -> Interaction:
        """Like command(), but the fake's record of the interaction (callbacks, messages)."""
        call = REGISTRY.parse(text)  # the subcommand and options a user would pick
        return await self.send(
            self.fake.slash_command(call.name, dict(call.args), self.user_id(user))
        )

    async def send(self, payload: dict[str, Any]) -> Interaction:
        """Dispatch an INTERACTION_CREATE and wait until the adapter has answered it."""
        done = await self._waiter("papers_command_done", lambda i: str(i.id) == payload["id"])
        record = await self.fake.send_interaction(payload)
        await asyncio.wait_for(done, WAIT)
        return record

    async def share(
        self, paper_id: str, user: str = "111", prefix: str = SHARE_ID
    ) -> list[dict[str, Any]]:
        """Click "Share in channel" for a paper under a search reply; the bot's private answers."""
        button = prefix + paper_id
        results = self.fake.ephemeral_message("search results", button)
        payload = self.fake.button_click(results, button, user=self.user_id(user))
        return (await self.send(payload)).messages

    async def click_save(self, paper_id: str, user: str = "111") -> str:
        """Click "Save" under a live arXiv result; the text the bot answered."""
        messages = await self.share(paper_id, user, SAVE_ID)
        return "\n".join(visible_text(message) for message in messages)

    async def post_digest(self) -> DigestOutcome:
        """Run the channel's digest through the adapter to the fake Discord."""
        return await self.bot.post_digest(self.adapter, self.channel)

    def channel_messages(self) -> list[tuple[str, str]]:
        """(message id, visible text) of each message posted into the test channel, in order."""
        return [(m["id"], visible_text(m)) for m in self.fake.posted(CHANNEL_ID)]

    async def react(
        self, message_ref: str, user: str, added: bool = True, emoji: str | None = None
    ) -> None:
        """A reaction event through the gateway; returns once the adapter has handled it."""
        user = self.user_id(user)
        done = await self._waiter(
            "papers_reaction_done",
            lambda p, _c: str(p.message_id) == message_ref and str(p.user_id) == user,
        )
        await self.fake.reaction(message_ref, user, emoji or "🔖", added)
        await asyncio.wait_for(done, WAIT)

    def seed(self, papers: list[Paper]) -> None:
        """Put papers in the store as if just fetched."""
        self.storage.papers.upsert(papers, self.now)

    def clock(self) -> datetime:
        """The bot's clock: whatever the test set `now` to."""
        return self.now

    async def _waiter(self, event: str, check: Callable[..., bool]) -> asyncio.Future[Any]:
        client = self.adapter.client
        assert client is not None
        future = asyncio.ensure_future(client.wait_for(event, check=check, timeout=WAIT))
        await asyncio.sleep(0)  # let wait_for register its listener before the event can fire
        return future


def harness_settings(
    tmp_path: Path, fake: FakeDiscord, **overrides: Any
) -> tuple[Settings, DiscordSettings]:
    """Core and Discord settings pointing the adapter at the fake; no .env is read."""
    values: dict[str, Any] = {
        "discord_token": TOKEN,
        "discord_guild_ids": (GUILD_ID,),
        "discord_api_url": fake.api_url,
        "discord_gateway_url": fake.gateway_url,
    }
    core: dict[str, Any] = {"papers_bot_db": tmp_path / "t.db", "seed_bookmark_reaction": True}
    for name, value in overrides.items():
        (values if name.startswith("discord_") else core)[name] = value
    return (
        Settings(_env_file=None, **core),  # type: ignore[call-arg]
        DiscordSettings(_env_file=None, **values),  # type: ignore[call-arg]
    )


@asynccontextmanager
async def discord_harness(
    tmp_path: Path, home: Home = INLINE, start: bool = True, **overrides: Any
) -> AsyncIterator[DiscordHarness]:
    """A started DiscordAdapter over a real Store in tmp_path, talking to a fresh fake Discord;
    the store and the core on `home` (a CoreThread: as under `papers-bot run`). `start=False`:
    not started yet, for a Service to start it."""
    endpoints = (Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY)
    fake = FakeDiscord()
    await fake.start()
    settings, discord_settings = harness_settings(tmp_path, fake, **overrides)
    store = await home.call(open_storage, settings.papers_bot_db)
    now = datetime(2025, 8, 5, 9, 0, tzinfo=UTC)  # a Tuesday, as in the Slack harness
    bot = PapersBot(store, settings, clock=lambda: harness.now, home=home)  # harness: below
    adapter = DiscordAdapter(bot, discord_settings, connect_timeout=WAIT)
    harness = DiscordHarness(bot, store, adapter, fake, now, settings)
    fake.clock = harness.clock  # message ids (snowflakes) follow the bot's clock
    try:
        if start:
            await adapter.start()
        yield harness
    finally:
        await adapter.stop()
        await fake.close()
        await home.call(store.close)
        Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY = endpoints
