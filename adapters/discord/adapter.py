"""The Discord adapter: a discord.py client that posts digests and turns events into core calls."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
from collections.abc import Awaitable
from datetime import datetime
from typing import Any

import aiohttp
import discord
import yarl
from discord import app_commands
from discord.gateway import DiscordWebSocket
from discord.http import Route

from adapters.discord.commands import (
    AUTOCOMPLETE_MAX,
    SaveButton,
    ShareButton,
    buttons_view,
    papers_group,
)
from adapters.discord.credentials import check_settings, invite_url, shards
from adapters.discord.render import (
    Rendered,
    digest_item,
    header_message,
    render_reply,
    tagged,
)
from adapters.discord.settings import DiscordSettings
from adapters.kit import NETWORK_ERRORS, guarded, network_reason
from bot.bookmarks import BookmarkChange
from bot.commands import CommandContext, Invocation
from bot.config import ConfigError
from bot.core import PapersBot
from bot.models import Channel, Digest, DigestItem, MessageRef, shorten
from bot.ports import PlatformUnreachable, PostFailed
from bot.presentation import FAILED, SHARED
from bot.replies import Reply, TextReply
from bot.tasks import TaskSet

log = logging.getLogger(__name__)

NO_MENTIONS = discord.AllowedMentions.none()
QUICK_REPLY_SECONDS = 1.5  # answer directly when the core is this fast, else defer (3 s limit)
SUGGEST_SECONDS = 2.0  # suggestions later than this are dropped: Discord waits 3 s for them
IDENTIFY_INTERVAL = 5.0  # seconds between two shards' IDENTIFY (Discord's max_concurrency 1)
CANNOT_POST = "I cannot post in this channel: give me View Channel, Send Messages and Embed Links"
CHANNEL_GONE = "I cannot find this channel: it was deleted, or give me View Channel here"


def intents() -> discord.Intents:
    """Guilds (channels, slash commands) and guild reactions (🔖): no privileged intents."""
    chosen = discord.Intents.none()
    chosen.guilds = True
    chosen.guild_reactions = True
    return chosen


def channel_of(interaction: discord.Interaction) -> Channel:
    """The core's Channel for the place an interaction came from."""
    return Channel("discord", str(interaction.guild_id or "dm"), str(interaction.channel_id))


def message_nonce(digest: Digest, key: str) -> str:
    """A stable nonce per digest message: Discord returns the first message, not a second one,
    when a post is retried with the same nonce within a few minutes (enforce_nonce)."""
    raw = f"{digest.channel}|{digest.day}|{digest.title}|{key}"
    return hashlib.sha256(raw.encode()).hexdigest()[:25]


def api_base(url: str) -> str:
    """DISCORD_API_URL as discord.py's REST base: 'http://host:port' -> 'http://host:port/api/v10'."""
    base = url.rstrip("/")
    if re.search(r"/v\d+$", base):
        return base
    return base + ("/v10" if base.endswith("/api") else "/api/v10")


def emoji_name(emoji: discord.PartialEmoji) -> str:
    """The unicode character for a standard emoji, the name for a custom one."""
    return (emoji.name or "") if emoji.is_custom_emoji() else str(emoji)


class ManageChannels:
    """The ChannelManagers port for one interaction: Discord's resolved permissions of the
    member in that channel (slash-command default_permissions cannot cover part of a group),
    or an id in ADMIN_USER_IDS."""

    who = "members with the Manage Channels permission"

    def __init__(self, interaction: discord.Interaction, allowlist: tuple[str, ...]) -> None:
        self.permissions = interaction.permissions
        self.allowlist = allowlist

    async def is_manager(self, channel: Channel, user: str) -> bool:
        """True for a member who may manage this channel (administrators may), or a listed id."""
        allowed = self.permissions.manage_channels or self.permissions.administrator
        return allowed or user in self.allowlist


class PapersClient(discord.Client):
    """The discord.py client: a command tree, and reactions handed to the adapter."""

    def __init__(self, adapter: DiscordAdapter, **options: Any) -> None:
        # papers-bot never joins a voice channel: the voice libraries (PyNaCl, davey) are not
        # installed on purpose, so discord.py has nothing to warn about.
        discord.VoiceClient.warn_nacl = discord.VoiceClient.warn_dave = False
        super().__init__(intents=intents(), allowed_mentions=NO_MENTIONS, **options)
        self.adapter = adapter
        self.tree = app_commands.CommandTree(self)
        self.tree.on_error = adapter.on_tree_error  # type: ignore[method-assign]

    async def setup_hook(self) -> None:
        """Register /papers and the Share button, then sync the commands to Discord."""
        self.tree.add_command(papers_group(self.adapter.bot.commands, self.adapter))
        self.add_dynamic_items(ShareButton, SaveButton)
        await self.adapter.sync_commands(self.tree)

    async def on_connect(self) -> None:
        self.adapter.up = True

    async def on_resumed(self) -> None:
        self.adapter.up = True

    async def on_disconnect(self) -> None:
        self.adapter.up = False

    async def on_shard_connect(self, shard_id: int) -> None:
        self.adapter.shard_up(shard_id, True)

    async def on_shard_resumed(self, shard_id: int) -> None:
        self.adapter.shard_up(shard_id, True)

    async def on_shard_disconnect(self, shard_id: int) -> None:
        self.adapter.shard_up(shard_id, False)

    async def before_identify_hook(self, shard_id: int | None, *, initial: bool = False) -> None:
        """Space the shards' IDENTIFYs as Discord requires (the first goes at once)."""
        if not initial:
            await asyncio.sleep(self.adapter.identify_interval)

    async def on_raw_reaction_add(self, payload: discord.RawReactionActionEvent) -> None:
        await self.adapter.on_reaction(payload, added=True)

    async def on_raw_reaction_remove(self, payload: discord.RawReactionActionEvent) -> None:
        await self.adapter.on_reaction(payload, added=False)


class ShardedPapersClient(PapersClient, discord.AutoShardedClient):
    """The same client over several gateway shards (DISCORD_SHARD_COUNT): Discord sends each
    server's events on shard (server id >> 22) % count, so a process running some of the shards
    gets the events of their servers only. Posting is REST and needs no shard."""


class DiscordAdapter:
    """Runs papers-bot on Discord: digests, /papers, 🔖 bookmarks (a ChatAdapter)."""

    platform = "discord"

    def __init__(
        self, bot: PapersBot, settings: DiscordSettings, *, connect_timeout: float = 60.0
    ) -> None:
        self.bot = bot
        self.settings = settings
        self.connect_timeout = connect_timeout
        self.quick_reply_seconds = QUICK_REPLY_SECONDS
        self.client: PapersClient | None = None
        self.up = False
        self.identify_interval = IDENTIFY_INTERVAL
        self.shards = shards(settings)  # (count, the ids this process runs), or None
        self._shards_up: set[int] = set()
        self._all_shards_up = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._inflight = TaskSet()
        self._endpoints = (Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY)

    # -- lifecycle ------------------------------------------------------------------------

    @property
    def connected(self) -> bool:
        """True while the gateway connection (every shard this process runs) is up."""
        up = self.up and self.client is not None and not self.client.is_closed()
        return up and (self.shards is None or self._all_shards_up.is_set())

    def shard_up(self, shard_id: int, up: bool) -> None:
        """A shard connected (or resumed), or lost its connection."""
        (self._shards_up.add if up else self._shards_up.discard)(shard_id)
        if self.shards is not None and set(self.shards[1]) <= self._shards_up:
            self._all_shards_up.set()
        else:
            self._all_shards_up.clear()

    def _make_client(self) -> PapersClient:
        if self.shards is None:
            return PapersClient(self)
        count, ids = self.shards
        return ShardedPapersClient(self, shard_count=count, shard_ids=ids)

    async def start(self) -> None:
        """Log in, sync /papers, connect to the gateway; returns once READY arrived."""
        token = check_settings(self.settings)
        self._point_at_endpoints()
        client = self.client = self._make_client()
        try:
            await client.login(token)
        except discord.LoginFailure as exc:
            await self.stop()
            raise ConfigError(
                "DISCORD_TOKEN was rejected by Discord; reset it in the Developer Portal "
                "(your application → Bot → Reset Token) and update .env"
            ) from exc
        except (*NETWORK_ERRORS, discord.DiscordServerError) as exc:
            await self.stop()
            raise self._unreachable(exc) from exc
        except BaseException:
            await self.stop()
            raise
        ready: asyncio.Future[Any]
        if self.shards is None:
            ready = asyncio.ensure_future(client.wait_for("connect"))
        else:
            ready = asyncio.ensure_future(self._all_shards_up.wait())
        self._task = asyncio.create_task(client.connect(reconnect=True), name="discord-gateway")
        self._task.add_done_callback(self._gateway_ended)
        done, _ = await asyncio.wait(
            {ready, self._task}, timeout=self.connect_timeout, return_when=asyncio.FIRST_COMPLETED
        )
        if ready not in done:
            ready.cancel()
            failed = self._task if self._task in done else None
            await self.stop()
            error = failed.exception() if failed is not None else None
            if error is not None and not isinstance(error, NETWORK_ERRORS):
                raise error
            raise self._unreachable(
                error or TimeoutError(f"no READY within {self.connect_timeout:.0f} s")
            )
        where = f" on shards {self.shards[1]} of {self.shards[0]}" if self.shards else ""
        log.info("discord: connected as %s%s; invite: %s", client.user, where, self.invite_url())

    def _unreachable(self, exc: BaseException) -> PlatformUnreachable:
        where = (
            f"DISCORD_API_URL {self.settings.discord_api_url}"
            if self.settings.discord_api_url
            else "discord.com"
        )
        return PlatformUnreachable(
            self.platform, f"Discord is unreachable at {where} ({network_reason(exc)})"
        )

    async def stop(self) -> None:
        """Let running command handlers finish, then close the connection."""
        await self._inflight.idle(timeout=10)
        if self.client is not None:
            await self.client.close()
        if self._task is not None:
            await asyncio.gather(self._task, return_exceptions=True)
        self.up = False
        self._shards_up.clear()
        self._all_shards_up.clear()
        self.client, self._task = None, None
        Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY = self._endpoints

    def _gateway_ended(self, task: asyncio.Task[None]) -> None:
        # discord.py reconnects by itself; the task only ends on stop() or a fatal close
        # (bad token, intents not allowed), which must not go unnoticed.
        self.up = False
        if not task.cancelled() and task.exception() is not None:
            log.error("discord: gateway connection ended", exc_info=task.exception())

    def invite_url(self) -> str:
        """This bot's invite URL (once logged in)."""
        app_id = self.client.application_id if self.client else None
        return invite_url(app_id) if app_id else ""

    def _point_at_endpoints(self) -> None:
        # discord.py reads both from class attributes; one client per process, restored in stop().
        self._endpoints = (Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY)
        if self.settings.discord_api_url:
            Route.BASE = api_base(self.settings.discord_api_url)
        if self.settings.discord_gateway_url:
            DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(self.settings.discord_gateway_url)

    async def sync_commands(self, tree: app_commands.CommandTree[Any]) -> None:
        """Sync /papers to DISCORD_GUILD_IDS (instant) when set, else globally (slow to show)."""
        guild_ids = [int(guild) for guild in self.settings.discord_guild_ids]
        targets: list[discord.Object | None] = [discord.Object(g) for g in guild_ids] or [None]
        for guild in targets:
            if guild is not None:
                tree.copy_global_to(guild=guild)
            try:
                await tree.sync(guild=guild)
            except discord.Forbidden:
                log.error(
                    "discord: cannot register /papers in server %s: invite the bot there with "
                    "the applications.commands scope (papers-bot discord-invite)",
                    guild and guild.id,
                )
            else:
                where = f"to server {guild.id}" if guild else "globally"
                log.info("discord: /papers synced %s", where)

    # -- posting (ChatPoster, RecoverablePoster) --------------------------------------------

    async def post_header(self, digest: Digest) -> MessageRef:
        """Post the digest's header line."""
        ids = ",".join(item.paper.id for item in digest.items)
        header = header_message(digest, self.bot.bookmark_emoji.char)
        message = await self._send(digest.channel, header, message_nonce(digest, "header:" + ids))
        return MessageRef(digest.channel, str(message.id))

    async def post_paper(self, digest: Digest, item: DigestItem) -> MessageRef:
        """Post one paper as its own embed message, then seed the 🔖 reaction."""
        # Also for shares: a double-click on Share within minutes shows the paper once.
        nonce = message_nonce(digest, "paper:" + item.paper.id)
        message = await self._send(digest.channel, digest_item(item), nonce)
        if self.bot.settings.seed_bookmark_reaction:
            emoji = self.bot.bookmark_emoji.char
            try:
                await message.add_reaction(emoji)
            except discord.HTTPException as exc:
                log.warning("discord: could not add %s (grant Add Reactions): %s", emoji, exc)
        return MessageRef(digest.channel, str(message.id))

    async def find_posted(self, channel: Channel, key: str, since: datetime) -> MessageRef | None:
        """The bot's message in the channel since `since` tagged `key`: a paper (its embed
        footer ends with the id) or a digest header (its footer is the key). The history is
        read oldest first from `since`, page by page, however many others wrote meanwhile."""
        target = self._messageable(channel)
        me = self._client().user
        try:
            async for message in target.history(limit=None, after=since, oldest_first=True):
                ours = me is not None and message.author.id == me.id
                if ours and any(tagged(embed, key) for embed in message.embeds):
                    return MessageRef(channel, str(message.id))
        except discord.HTTPException as exc:
            log.warning("discord: cannot read %s history (Read Message History?): %s", channel, exc)
        return None

    async def _send(self, channel: Channel, rendered: Rendered, nonce: str) -> discord.Message:
        """Send a message; PostFailed when Discord refuses it or cannot be reached."""
        try:
            return await self._messageable(channel).send(
                rendered.content or None,
                embeds=list(rendered.embeds),
                allowed_mentions=NO_MENTIONS,
                nonce=nonce,
            )
        except discord.Forbidden as exc:
            raise PostFailed(f"403 {exc.text}", CANNOT_POST, permanent=True) from exc
        except discord.NotFound as exc:
            raise PostFailed(f"404 {exc.text}", CHANNEL_GONE, permanent=True) from exc
        except discord.HTTPException as exc:
            if exc.status != 429 and exc.status < 500:
                raise  # a malformed message: ours to fix, logged with its traceback
            raise PostFailed(f"{exc.status} {exc.text}".strip()) from exc
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise PostFailed(f"Discord unreachable: {type(exc).__name__} {exc}".strip()) from exc

    def _messageable(self, channel: Channel) -> discord.PartialMessageable:
        guild_id = int(channel.workspace) if channel.workspace.isdigit() else None
        return self._client().get_partial_messageable(int(channel.channel), guild_id=guild_id)

    def _client(self) -> PapersClient:
        if self.client is None or self.client.is_closed():
            raise RuntimeError("the Discord adapter is not running: call start() first")
        return self.client

    # -- users: commands, Share, reactions ----------------------------------------------------

    async def run_command(self, interaction: discord.Interaction, invocation: Invocation) -> None:
        """Answer a /papers subcommand through the core: directly when quick, else defer first."""
        self._inflight.own_current()
        managers = ManageChannels(interaction, self.bot.settings.admin_user_ids)
        ctx = CommandContext(channel_of(interaction), str(interaction.user.id), self, managers)
        what = f"discord: /papers {invocation.name} in {ctx.channel}"
        try:
            work = asyncio.ensure_future(guarded(self.bot.answer(invocation, ctx), what, _explain))
            done, _ = await asyncio.wait({work}, timeout=self.quick_reply_seconds)
            if not done:
                await interaction.response.defer(ephemeral=True, thinking=True)
            await self._answer(interaction, render_reply(await work))
        except discord.HTTPException:
            log.exception("%s: the reply could not be sent", what)
        finally:
            self._dispatch("papers_command_done", interaction)

    async def complete(
        self, interaction: discord.Interaction, command: str, option: str, current: str
    ) -> list[app_commands.Choice[str]]:
        """Suggestions for an option being typed (the user's saved papers, setting names)."""
        ctx = CommandContext(channel_of(interaction), str(interaction.user.id))
        try:
            work = self.bot.complete(command, option, ctx, current)
            choices = await asyncio.wait_for(work, SUGGEST_SECONDS)
        except TimeoutError:  # the core is busy (a locked database): no suggestions this time
            log.info(
                "discord: no suggestions for %s %s within %s s", command, option, SUGGEST_SECONDS
            )
            return []
        return [
            app_commands.Choice(name=shorten(label, 100), value=value)
            for label, value in choices[:AUTOCOMPLETE_MAX]
        ]

    async def share(self, interaction: discord.Interaction, paper_id: str) -> None:
        """The Share button: post the paper in the channel, confirm privately."""
        self._inflight.own_current()
        channel, user = channel_of(interaction), str(interaction.user.id)

        async def share() -> TextReply:
            await interaction.response.defer(ephemeral=True, thinking=True)
            await self.bot.share_paper(self, channel, paper_id, user)
            return TextReply(SHARED)

        await self._click(interaction, share(), f"sharing {paper_id} in {channel}")

    async def save(self, interaction: discord.Interaction, paper_id: str) -> None:
        """The Save button under live arXiv results: /papers save <id>, answered privately."""
        self._inflight.own_current()
        channel, user = channel_of(interaction), str(interaction.user.id)

        async def save() -> Reply:
            await interaction.response.defer(ephemeral=True, thinking=True)
            return await self.bot.save_paper(channel, paper_id, user)

        await self._click(interaction, save(), f"saving {paper_id} in {channel}")

    async def _click(
        self, interaction: discord.Interaction, work: Awaitable[Reply], what: str
    ) -> None:
        try:
            reply = await guarded(work, f"discord: {what}", _explain)
            await self._answer(interaction, render_reply(reply))
        except discord.HTTPException:
            log.exception("discord: could not answer a button click (%s)", what)
        finally:
            self._dispatch("papers_command_done", interaction)

    async def on_reaction(
        self, payload: discord.RawReactionActionEvent, added: bool
    ) -> BookmarkChange | None:
        """A 🔖 on one of the bot's paper messages saves (or unsaves) it for that user."""
        self._inflight.own_current()
        change = None
        try:
            me = self._client().user
            if payload.guild_id is not None and (me is None or payload.user_id != me.id):
                channel = Channel("discord", str(payload.guild_id), str(payload.channel_id))
                change = await self.bot.handle_reaction(
                    MessageRef(channel, str(payload.message_id)),
                    str(payload.user_id),
                    emoji_name(payload.emoji),
                    added,
                )
        except Exception:
            log.exception("discord: reaction on message %s failed", payload.message_id)
        finally:
            self._dispatch("papers_reaction_done", payload, change)
        return change

    async def on_tree_error(
        self, interaction: discord.Interaction, error: app_commands.AppCommandError
    ) -> None:
        """Errors raised outside our handlers (option conversion, unknown command)."""
        log.error("discord: interaction failed", exc_info=error)
        await self._fail(interaction, FAILED)

    async def _answer(self, interaction: discord.Interaction, rendered: Rendered) -> None:
        kwargs: dict[str, Any] = {
            "embeds": list(rendered.embeds),
            "ephemeral": rendered.ephemeral,
            "allowed_mentions": NO_MENTIONS,
        }
        view = buttons_view(rendered.share_ids, rendered.save_ids)
        if view is not None:
            kwargs["view"] = view
        file = rendered.discord_file()
        if file is not None:
            kwargs["file"] = file
        content = rendered.content or (None if rendered.embeds or file else "Done.")
        if interaction.response.is_done():
            await interaction.followup.send(content or discord.utils.MISSING, **kwargs)
        else:
            await interaction.response.send_message(content, **kwargs)

    async def _fail(self, interaction: discord.Interaction, text: str) -> None:
        """A short private message about a failure; never raises."""
        try:
            if interaction.response.is_done():
                await interaction.followup.send(text, ephemeral=True, allowed_mentions=NO_MENTIONS)
            else:
                await interaction.response.send_message(
                    text, ephemeral=True, allowed_mentions=NO_MENTIONS
                )
        except discord.HTTPException:
            log.exception("discord: could not tell the user about a failure")

    def _dispatch(self, event: str, *args: object) -> None:
        # A custom discord.py event marks a handler as finished, for whoever waits on it.
        if self.client is not None:
            self.client.dispatch(event, *args)


def _explain(exc: Exception) -> str | None:
    """The line for a Discord error the user can act on: missing permissions here."""
    return CANNOT_POST + "." if isinstance(exc, discord.Forbidden) else None
