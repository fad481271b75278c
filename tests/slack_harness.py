"""The Slack side of the adapter contract: the real adapter in HTTP mode, driven by signed requests.

`slack_harness(tmp_path)` runs the bot's HTTP endpoint on a local port and the Slack Web API fake
on another, and speaks to the bot exactly as Slack does: form-encoded slash commands, JSON event
callbacks and block-action payloads, each signed with the signing secret.
"""

from __future__ import annotations

import itertools
import json
import socket
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlparse

import aiohttp
from slack_sdk.signature import SignatureVerifier

from adapters.slack.app import SlackAdapter
from adapters.slack.settings import SlackSettings
from bot.config import Settings
from bot.core import PapersBot
from bot.corethread import INLINE, Home
from bot.digest import DigestOutcome
from bot.models import Channel, Paper
from bot.storage import Storage, open_storage
from tests.slack_fake import CLIENT_ID, CLIENT_SECRET, TEAM, TOKEN, SlackFake, visible_text

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
CHANNEL = "C0PAPERS"


def free_port() -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class SlackHarness:
    """One workspace, one channel, the bot behind its real HTTP endpoint."""

    platform = "slack"

    bot: PapersBot
    storage: Storage
    adapter: SlackAdapter
    settings: Settings

    def __init__(
        self, fake: SlackFake, now: datetime, team: str = TEAM, channel: str = CHANNEL
    ) -> None:
        self.fake = fake
        self.now = now
        self.team = team
        self.channel_id = channel
        self.channel = Channel("slack", team, channel)
        self.session = aiohttp.ClientSession()
        self._events = itertools.count(1)

    def workspace(self, team: str, channel: str) -> SlackHarness:
        """The same bot seen from another workspace's channel (with OAuth, many workspaces)."""
        other = SlackHarness.__new__(SlackHarness)
        other.__dict__.update(self.__dict__)
        other.team, other.channel_id = team, channel
        other.channel = Channel("slack", team, channel)
        return other

    @property
    def base_url(self) -> str:
        """Where the bot serves HTTP."""
        return f"http://127.0.0.1:{self.adapter.http_port}"

    @property
    def url(self) -> str:
        """The bot's Events API / slash command / interactivity endpoint."""
        return f"{self.base_url}/slack/events"

    def clock(self) -> datetime:
        """The bot's clock: whatever the test set `now` to."""
        return self.now

    def seed(self, papers: list[Paper]) -> None:
        """Put papers in the store as if just fetched."""
        self.storage.papers.upsert(papers, self.now)

    # -- raw Slack requests -----------------------------------------------------------------

    async def send(
        self,
        body: str,
        content_type: str,
        timestamp: int | None = None,
        secret: str = SECRET,
        headers: dict[str, str] | None = None,
    ) -> aiohttp.ClientResponse:
        """POST a body to the bot signed like Slack signs it (real time unless given)."""
        stamp = str(int(time.time()) if timestamp is None else timestamp)
        signature = SignatureVerifier(secret).generate_signature(timestamp=stamp, body=body)
        sent = {
            "Content-Type": content_type,
            "X-Slack-Request-Timestamp": stamp,
            "X-Slack-Signature": signature,
            **(headers or {}),
        }
        async with self.session.post(self.url, data=body.encode(), headers=sent) as response:
            await response.read()
            return response

    def command_body(self, text: str, user: str, response_url: str) -> str:
        """A /papers slash command as Slack form-encodes it, its &, < and > as entities."""
        text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        return urlencode(
            {
                "token": "legacy",
                "team_id": self.team,
                "team_domain": "test",
                "channel_id": self.channel_id,
                "channel_name": "papers",
                "user_id": user,
                "user_name": user.lower(),
                "command": "/papers",
                "text": text,
                "api_app_id": "A0PAPERS",
                "response_url": response_url,
                "trigger_id": "1.2.3",
            }
        )

    def reaction_body(
        self, ref: str, user: str, added: bool, emoji: str, event_id: str | None = None
    ) -> str:
        """A reaction_added / reaction_removed event callback."""
        event = {
            "type": "reaction_added" if added else "reaction_removed",
            "user": user,
            "reaction": emoji,
            "item_user": "U0BOT",
            "item": {"type": "message", "channel": self.channel_id, "ts": ref},
            "event_ts": f"{time.time():.6f}",
        }
        return self.event_body(event, event_id)

    def event_body(self, event: dict[str, Any], event_id: str | None = None) -> str:
        """An Events API callback from this workspace carrying `event`."""
        return json.dumps(
            {
                "token": "legacy",
                "team_id": self.team,
                "api_app_id": "A0PAPERS",
                "event": event,
                "type": "event_callback",
                "event_id": event_id or f"Ev{self.team}{next(self._events):08d}",
                "event_time": int(time.time()),
                "authorizations": [{"team_id": self.team, "user_id": "U0BOT", "is_bot": True}],
            }
        )

    def share_body(
        self, paper_id: str, user: str, response_url: str, action: str = "share_paper"
    ) -> str:
        """A click on "Share in channel" (or, with action "save_paper", on "Save") in an
        ephemeral search reply, as Slack posts it."""
        payload = {
            "type": "block_actions",
            "team": {"id": self.team, "domain": "test"},
            "user": {"id": user, "team_id": self.team},
            "api_app_id": "A0PAPERS",
            "container": {"type": "message", "is_ephemeral": True, "channel_id": self.channel_id},
            "channel": {"id": self.channel_id, "name": "papers"},
            "trigger_id": "1.2.3",
            "response_url": response_url,
            "actions": [
                {
                    "type": "button",
                    "action_id": action,
                    "block_id": f"{action.split('_')[0]}-0",
                    "value": paper_id,
                    "action_ts": f"{time.time():.6f}",
                }
            ],
        }
        return urlencode({"payload": json.dumps(payload)})

    # -- the contract -----------------------------------------------------------------------

    async def command(self, text: str, user: str = "U1") -> str:
        """'/papers <text>' from a user; the visible text of the bot's reply."""
        response_url = self.fake.new_response_url(self.channel_id)
        body = self.command_body(text, user, response_url)
        response = await self.send(body, "application/x-www-form-urlencoded")
        assert response.status == 200, response.status
        await self.adapter.idle()
        replies = self.fake.replies_to(response_url)
        assert replies, f"no reply to /papers {text}"
        return visible_text(replies[-1])

    async def post_digest(self) -> DigestOutcome:
        """Run the channel's digest through the adapter to the fake Slack."""
        return await self.bot.post_digest(self.adapter, self.channel)

    def channel_messages(self) -> list[tuple[str, str]]:
        """(ts, visible text) of each message in the test channel, oldest first."""
        return [
            (m.ts, visible_text(m))
            for m in self.fake.channel_messages(self.channel_id)
            if m.team == self.team
        ]

    async def react(
        self, message_ref: str, user: str, added: bool = True, emoji: str | None = None
    ) -> None:
        """Deliver a reaction event and wait until the bot has processed it."""
        await self.event(self.reaction_body(message_ref, user, added, emoji or "bookmark"))

    async def event(self, body: str, headers: dict[str, str] | None = None) -> int:
        """Deliver an event callback body; its HTTP status once the bot has processed it."""
        response = await self.send(body, "application/json", headers=headers)
        await self.adapter.idle()
        return response.status

    async def share(
        self, paper_id: str, user: str = "U1", action: str = "share_paper"
    ) -> list[dict[str, Any]]:
        """Click "Share in channel" for a paper; what the bot answered the clicking user."""
        response_url = self.fake.new_response_url(self.channel_id)
        body = self.share_body(paper_id, user, response_url, action)
        response = await self.send(body, "application/x-www-form-urlencoded")
        assert response.status == 200, response.status
        await self.adapter.idle()
        return self.fake.replies_to(response_url)

    # -- installing (with OAuth) -------------------------------------------------------------

    async def install(self, installer: str = "U0ADMIN") -> aiohttp.ClientResponse:
        """An admin of this workspace installs the app the way a browser does: /slack/install
        (a redirect to Slack with a state, and a state cookie), Allow on Slack's page, then
        Slack's redirect back to /slack/oauth_redirect with a code. The final response."""
        async with self.session.get(
            f"{self.base_url}/slack/install", allow_redirects=False
        ) as start:
            assert start.status == 302, start.status
            state = parse_qs(urlparse(start.headers["Location"]).query)["state"][0]
            cookie = start.headers["Set-Cookie"].split(";", 1)[0]
        code = self.fake.authorize(self.team, installer)
        async with self.session.get(
            f"{self.base_url}/slack/oauth_redirect",
            params={"code": code, "state": state},
            headers={"Cookie": cookie},
            allow_redirects=False,
        ) as finish:
            await finish.read()
            return finish

    async def click_save(self, paper_id: str, user: str = "U1") -> str:
        """Click "Save" under a live arXiv result; the text the bot answered."""
        replies = await self.share(paper_id, user, "save_paper")
        return "\n".join(str(reply.get("text", "")) for reply in replies)


@asynccontextmanager
async def slack_harness(
    tmp_path: Path, home: Home = INLINE, start: bool = True, **overrides: Any
) -> AsyncIterator[SlackHarness]:
    """The Slack harness: fake Web API, a real store, the adapter serving HTTP on a local port;
    the store and the core on `home` (a CoreThread: as under `papers-bot run`). `start=False`:
    not started yet, for a Service to start it. `oauth=True` runs it for many workspaces: no
    bot token, installs through /slack/install."""
    oauth = bool(overrides.pop("oauth", False))
    async with SlackFake() as fake:
        values: dict[str, Any] = {
            "slack_bot_token": None if oauth else TOKEN,
            "slack_app_token": None,
            "slack_signing_secret": SECRET,
            "slack_api_url": fake.api_url,
            "slack_http_host": "127.0.0.1",
            "slack_http_port": free_port(),
        }
        if oauth:
            values |= {"slack_client_id": CLIENT_ID, "slack_client_secret": CLIENT_SECRET}
        core: dict[str, Any] = {"confirm_bookmarks": True, "seed_bookmark_reaction": True}
        for name, value in overrides.items():
            (values if name.startswith("slack_") else core)[name] = value
        slack = SlackSettings(_env_file=None, **values)  # type: ignore[call-arg]
        settings = Settings(_env_file=None, papers_bot_db=tmp_path / "t.db", **core)  # type: ignore[call-arg]
        store = await home.call(open_storage, settings.storage_target)  # database_url: PG
        harness = SlackHarness(fake, datetime(2025, 8, 5, 9, 0, tzinfo=UTC))
        fake.clock = lambda: harness.now.timestamp()  # message ts follow the bot's clock
        harness.storage = store
        harness.settings = settings
        harness.bot = PapersBot(store, settings, clock=harness.clock, home=home)
        # No pacing: the fake does not rate-limit unless a test asks it to.
        harness.adapter = SlackAdapter(harness.bot, slack, post_interval=0)
        try:
            if start:
                await harness.adapter.start()
            yield harness
        finally:
            await harness.adapter.stop()
            await harness.session.close()
            await home.call(store.close)
