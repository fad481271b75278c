"""The Slack adapter: a bolt AsyncApp over Socket Mode or HTTP, posting digests and answering users.

Slack wants every request acknowledged within 3 seconds. Each listener only acknowledges and
starts a task the adapter owns; the work (search, posting, replies through respond()) runs in
that task. Owning the tasks lets stop() wait for them and keeps them referenced (bolt's own
background futures are not), and lets tests wait until an event has been processed.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from aiohttp import web
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from adapters.kit import NETWORK_ERRORS, guarded, network_reason
from adapters.slack.admins import WorkspaceAdmins
from adapters.slack.blocks import (
    SAVE_ACTION,
    SHARE_ACTION,
    Message,
    escape,
    header_message,
    paper_message,
    unescape,
)
from adapters.slack.client import (
    ChannelPacer,
    add_reaction,
    configure_web_client,
    find_tagged_message,
    post_failure,
    post_message,
    slack_error,
)
from adapters.slack.config import api_base_url, check_settings
from adapters.slack.oauth import NotInstalled, Workspaces, oauth_flow, workspace_key
from adapters.slack.replies import render_reply
from adapters.slack.settings import SlackSettings
from bot.commands import CommandContext
from bot.config import ConfigError
from bot.core import PapersBot
from bot.listening import listen
from bot.models import Channel, Digest, DigestItem, MessageRef
from bot.ports import PlatformUnreachable
from bot.presentation import SHARED
from bot.replies import Reply, TextReply
from bot.tasks import TaskSet

log = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
INSTALL_PATH = "/slack/install"  # with OAuth; Slack sends the browser back to /slack/oauth_redirect
PLATFORM = "slack"
AUTH_ERRORS = {"invalid_auth", "not_authed", "account_inactive", "token_revoked", "token_expired"}

Respond = Callable[..., Awaitable[Any]]


class SlackAdapter:
    """papers-bot in one Slack workspace: digests, /papers, the Share button and 🔖 reactions."""

    platform = PLATFORM

    def __init__(
        self,
        bot: PapersBot,
        settings: SlackSettings,
        *,
        post_interval: float | None = None,
    ) -> None:
        self.bot = bot
        self.settings = settings
        self.mode = check_settings(self.settings)
        interval = self.settings.slack_post_interval if post_interval is None else post_interval
        self.pacer = ChannelPacer(interval)
        self.bot_user: str | None = None
        self.http_port: int | None = None
        self._tasks = TaskSet()
        self._runner: web.AppRunner | None = None
        self._socket: AsyncSocketModeHandler | None = None
        self.workspaces: Workspaces | None = None
        flow, client = None, None
        if self.mode == "oauth":
            # No token of its own: each call names its workspace's. The OAuth flow, token
            # refreshes and digests all use this client on SLACK_API_URL.
            client = configure_web_client(AsyncWebClient(), self.settings)
            flow, self.workspaces = oauth_flow(
                self.settings, bot.installations, client, on_installed=self._installed
            )
        self.app = AsyncApp(
            name="papers-bot",
            # bolt builds the client from the token (given a client too, it warns that the
            # token read from SLACK_BOT_TOKEN goes unused); the client is tuned just below.
            token=self.settings.slack_bot_token,
            client=client,
            signing_secret=self.settings.slack_signing_secret or "",
            oauth_flow=flow,
            # Listeners only ack and spawn a task, so "before response" costs nothing and
            # guarantees the task exists by the time Slack gets its 200.
            process_before_response=True,
        )
        self.client = configure_web_client(self.app.client, self.settings)
        self.managers = WorkspaceAdmins(self._client_of, bot.settings.admin_user_ids)
        self.app.command("/papers")(self._on_command)
        self.app.action(SHARE_ACTION)(self._on_share)
        self.app.action(SAVE_ACTION)(self._on_save)
        self.app.event("reaction_added")(self._on_reaction)
        self.app.event("reaction_removed")(self._on_reaction)
        if self.workspaces is not None:
            self.app.event("app_uninstalled")(self._on_uninstalled)
            self.app.event("tokens_revoked")(self._on_tokens_revoked)

    # -- lifecycle ------------------------------------------------------------------------

    @property
    def connected(self) -> bool:
        """True while the Socket Mode connection or the HTTP endpoint is up."""
        if self._socket is not None:
            client = self._socket.client
            session = client.current_session
            return not client.closed and session is not None and not session.closed
        return self._runner is not None

    async def start(self) -> None:
        """Check the token with auth.test, then listen (Socket Mode or HTTP); returns once up.
        PlatformUnreachable when Slack cannot be reached (worth retrying). With OAuth there is
        no token to check: each workspace's arrives with its install."""
        try:
            if self.workspaces is None:
                await self._check_token()
            if self.mode == "socket":
                await self._check_app_token()
                self._socket = AsyncSocketModeHandler(self.app, self.settings.slack_app_token)
                await self._socket.connect_async()
        except (*NETWORK_ERRORS, SlackApiError) as exc:
            if isinstance(exc, SlackApiError) and exc.response.status_code < 500:
                raise
            await self.stop()
            raise PlatformUnreachable(
                PLATFORM,
                f"Slack is unreachable at SLACK_API_URL {api_base_url(self.settings)} "
                f"({network_reason(exc)})",
            ) from exc
        if self.mode == "socket":
            log.info("Slack: connected over Socket Mode")
            return
        runner = web.AppRunner(self.app.web_app(path=EVENTS_PATH))
        await runner.setup()
        host, port = self.settings.slack_http_host, self.settings.slack_http_port
        await listen(runner, host, port, "SLACK_HTTP_PORT")
        self._runner = runner
        self.http_port = port
        log.info("Slack: listening on http://%s:%s%s", host, self.http_port, EVENTS_PATH)
        if self.workspaces is not None:
            log.info("Slack: workspaces install the app from %s", INSTALL_PATH)

    async def stop(self) -> None:
        """Stop taking requests, then let the handlers already running finish."""
        if self._socket is not None:
            await self._socket.close_async()
            self._socket = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        await self.idle()

    async def idle(self) -> None:
        """Wait until every handler started so far has finished."""
        await self._tasks.idle()

    async def _check_token(self) -> None:
        try:
            auth = await self.client.auth_test()
        except SlackApiError as exc:
            if slack_error(exc) in AUTH_ERRORS:
                raise ConfigError(
                    f"SLACK_BOT_TOKEN was rejected by Slack ({slack_error(exc)}); copy the Bot "
                    "User OAuth Token again from OAuth & Permissions (reinstall the app if needed)"
                ) from exc
            raise
        self.bot_user = auth.get("user_id")
        log.info("Slack: signed in as %s in %s", auth.get("user"), auth.get("team"))

    async def _check_app_token(self) -> None:
        # The Socket Mode client retries a rejected token forever; ask once so start-up can stop.
        try:
            await self.client.apps_connections_open(app_token=self.settings.slack_app_token or "")
        except SlackApiError as exc:
            if slack_error(exc) in AUTH_ERRORS:
                raise ConfigError(
                    f"SLACK_APP_TOKEN was rejected by Slack ({slack_error(exc)}); create an "
                    "App-Level Token with connections:write under Basic Information → "
                    "App-Level Tokens"
                ) from exc
            raise

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        self._tasks.spawn(work)

    # -- posting (ChatPoster, RecoverablePoster) -------------------------------------------

    async def post_header(self, digest: Digest) -> MessageRef:
        """Post a digest's header (or its 'nothing new' note); PostFailed when Slack refuses."""
        message = header_message(digest, self.bot.bookmark_emoji.name)
        with told_as_post_failure():
            return await self._post(digest.channel, message, digest.header_key)

    async def post_paper(self, digest: Digest, item: DigestItem) -> MessageRef:
        """Post one paper as its own message, tagged with its id, and seed the 🔖 reaction."""
        channel = digest.channel
        with told_as_post_failure():
            try:
                ref = await self._post(channel, paper_message(item), item.paper.id)
            except SlackApiError as exc:
                # Slack rejects the whole message when it cannot fetch the thumbnail.
                if slack_error(exc) != "invalid_blocks" or not item.paper.thumbnail:
                    raise
                log.warning("Slack refused %s with its thumbnail; posting without", item.paper.id)
                without = paper_message(item, thumbnail=False)
                ref = await self._post(channel, without, item.paper.id)
        if self.bot.settings.seed_bookmark_reaction:
            client, _ = await self.workspace(channel.workspace)
            await add_reaction(client, channel.channel, ref.ref, self.bot.bookmark_emoji.name)
        return ref

    async def find_posted(self, channel: Channel, key: str, since: datetime) -> MessageRef | None:
        """Our message in the channel since `since` showing this paper, or the digest header
        with this key (after a crash mid-digest), found by its message metadata."""
        client, bot_user = await self.workspace(channel.workspace)
        ts = await find_tagged_message(client, channel.channel, key, bot_user, since)
        return MessageRef(channel, ts) if ts else None

    async def workspace(self, team: str) -> tuple[AsyncWebClient, str | None]:
        """The Web API client for a workspace and the bot's user id there: the one token, or
        with OAuth that workspace's own (rotated when due; NotInstalled when it has none)."""
        if self.workspaces is None:
            return self.client, self.bot_user
        return await self.workspaces.client_for(team)

    async def _client_of(self, team: str) -> AsyncWebClient:
        client, _ = await self.workspace(team)
        return client

    async def _post(
        self, channel: Channel, message: Message, paper_id: str | None = None
    ) -> MessageRef:
        client, _ = await self.workspace(channel.workspace)
        await self.pacer.wait(channel.channel)
        ts = await post_message(client, channel.channel, message, paper_id)
        return MessageRef(channel, ts)

    # -- /papers --------------------------------------------------------------------------

    async def _on_command(
        self, ack: Callable[..., Awaitable[Any]], body: dict[str, Any], respond: AsyncRespond
    ) -> None:
        await ack()
        channel = Channel(PLATFORM, body.get("team_id", ""), body.get("channel_id", ""))
        text = unescape(body.get("text") or "")
        self._spawn(self._answer(text, channel, body.get("user_id", ""), respond))

    async def _answer(self, text: str, channel: Channel, user: str, respond: Respond) -> None:
        work = self.bot.answer_text(text, CommandContext(channel, user, self, self.managers))
        reply = await guarded(work, f"/papers {text!r} in {channel}")
        await self._respond(respond, render_reply(reply))

    # -- Share in channel -----------------------------------------------------------------

    async def _on_share(
        self, ack: Callable[..., Awaitable[Any]], body: dict[str, Any], respond: AsyncRespond
    ) -> None:
        await ack()
        channel, paper_id, user = _clicked(body)
        self._spawn(self._share(channel, paper_id, user, respond))

    async def _on_save(
        self, ack: Callable[..., Awaitable[Any]], body: dict[str, Any], respond: AsyncRespond
    ) -> None:
        """Save under a live arXiv result: the same as /papers save <id>."""
        await ack()
        channel, paper_id, user = _clicked(body)
        work = self.bot.save_paper(channel, paper_id, user)
        self._spawn(self._reply(work, f"saving {paper_id} in {channel}", respond))

    async def _reply(self, work: Awaitable[Reply], what: str, respond: Respond) -> None:
        reply = await guarded(work, what)
        await self._respond(respond, render_reply(reply), replace_original=False)

    async def _share(self, channel: Channel, paper_id: str, user: str, respond: Respond) -> None:
        async def share() -> TextReply:
            await self.bot.share_paper(self, channel, paper_id, user)
            return TextReply(SHARED)

        await self._reply(share(), f"sharing {paper_id} in {channel}", respond)

    # -- 🔖 reactions ----------------------------------------------------------------------

    async def _on_reaction(self, body: dict[str, Any], event: dict[str, Any]) -> None:
        self._spawn(self._react(body, event))

    async def _react(self, body: dict[str, Any], event: dict[str, Any]) -> None:
        item = event.get("item") or {}
        if item.get("type") != "message" or not item.get("ts"):
            return
        channel = Channel(PLATFORM, body.get("team_id", ""), item.get("channel", ""))
        user = event.get("user", "")
        added = event.get("type") == "reaction_added"
        try:
            change = await self.bot.handle_reaction(
                MessageRef(channel, item["ts"]),
                user,
                event.get("reaction", ""),
                added,
                body.get("event_id"),
            )
            confirm = change is not None and change.changed and self.bot.settings.confirm_bookmarks
            if change is not None and (confirm or change.trouble):
                client, _ = await self.workspace(channel.workspace)
                await client.chat_postEphemeral(
                    channel=channel.channel, user=user, text=escape(change.text)
                )
        except Exception:  # one event's boundary
            log.exception("reaction %s in %s failed", body.get("event_id"), channel)

    # -- uninstalls (OAuth) ---------------------------------------------------------------

    async def _on_uninstalled(self, body: dict[str, Any]) -> None:
        self._spawn(self._forget(body))

    async def _on_tokens_revoked(self, body: dict[str, Any], event: dict[str, Any]) -> None:
        # Only the bot's token matters: an installing user's revoked token leaves it working.
        if (event.get("tokens") or {}).get("bot"):
            self._spawn(self._forget(body))

    async def _forget(self, body: dict[str, Any]) -> None:
        """A workspace removed the app: delete its tokens and pause its channels' digests."""
        team = body.get("team_id") or ""
        enterprise, key = workspace_key(body.get("enterprise_id"), team, not team)
        try:
            paused = await self.bot.forget_workspace(PLATFORM, enterprise, key, NotInstalled(team))
        except Exception:  # one event's boundary
            log.exception("forgetting Slack workspace %s failed", team)
            return
        log.info(
            "Slack: workspace %s removed the app; tokens deleted, %d channel(s) paused",
            team,
            len(paused),
        )

    async def _installed(self, team: str) -> None:
        """A workspace installed the app: its channels paused by an earlier removal resume."""
        try:
            resumed = await self.bot.workspace_installed(PLATFORM, team, NotInstalled.REASON)
        except Exception:  # the install itself is saved; /papers subscribe resumes a channel
            log.exception("resuming the channels of Slack workspace %s failed", team)
            return
        if resumed:
            log.info(
                "Slack: workspace %s installed the app again; %d channel(s) resumed",
                team,
                len(resumed),
            )

    # -- replies --------------------------------------------------------------------------

    async def _respond(self, respond: Respond, message: Message, **extra: Any) -> None:
        try:
            await respond(**message.respond_args(), **extra)
        except Exception:  # the reply itself failed (response_url expired): nothing to tell
            log.exception("could not deliver a reply through response_url")


def _clicked(body: dict[str, Any]) -> tuple[Channel, str, str]:
    """The channel, the button's paper id and the user of a button click."""
    actions = body.get("actions") or [{}]
    team = (body.get("team") or {}).get("id") or (body.get("user") or {}).get("team_id", "")
    channel = Channel(PLATFORM, team, (body.get("channel") or {}).get("id", ""))
    return channel, str(actions[0].get("value", "")), (body.get("user") or {}).get("id", "")


@contextmanager
def told_as_post_failure() -> Iterator[None]:
    """Turn a failed post into the core's PostFailed, permanent or not."""
    try:
        yield
    except Exception as exc:
        failure = post_failure(exc)
        if failure is None:
            raise
        raise failure from exc
