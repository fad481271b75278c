"""The Slack Web API client: retries, rate limits, and the few calls the adapter makes."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.blocks import PAPER_EVENT, Message
from adapters.slack.config import api_base_url
from adapters.slack.settings import SlackSettings
from bot.ports import PostFailed

log = logging.getLogger(__name__)

CONNECTION_RETRIES = 3
RATE_LIMIT_RETRIES = 6
HISTORY_PAGE = 200  # messages per conversations.history page (Slack recommends at most 200)


def configure_web_client(client: AsyncWebClient, settings: SlackSettings) -> AsyncWebClient:
    """The client on SLACK_API_URL, retrying connection errors and waiting out 429s."""
    client.base_url = api_base_url(settings)
    # The default retries connection errors only once and never a 429; a digest is a burst of
    # posts to one channel, which is exactly what Slack rate-limits.
    client.retry_handlers = [
        AsyncConnectionErrorRetryHandler(max_retry_count=CONNECTION_RETRIES),
        AsyncRateLimitErrorRetryHandler(max_retry_count=RATE_LIMIT_RETRIES),
    ]
    return client


# Post refusals that trying again cannot fix until someone acts, and what to tell them.
CANNOT_POST = {
    "not_in_channel": "I am not in this channel: invite me with /invite @papers-bot",
    "channel_not_found": "I cannot see this channel (private or deleted): invite me with "
    "/invite @papers-bot",
    "is_archived": "This channel is archived: unarchive it",
    "missing_scope": "The Slack app lacks the chat:write scope: reinstall it from "
    "adapters/slack/manifest.yml",
    "restricted_action": "This workspace does not let me post here: ask an admin to allow it",
    "restricted_action_read_only_channel": "Only admins may post in this channel: ask one to "
    "let me post",
}


# Failures that may pass by themselves (Slack's own trouble, limits, a revoked token the
# operator replaces): tried again later. Any other error is a bug of ours, logged in full.
PASSING = {
    "ratelimited",
    "internal_error",
    "fatal_error",
    "service_unavailable",
    "request_timeout",
    "invalid_auth",
    "not_authed",
    "account_inactive",
    "token_revoked",
    "token_expired",
}


def post_failure(exc: Exception) -> PostFailed | None:
    """A failed chat.postMessage as the core's PostFailed (permanent or not); None for an
    error that is ours to fix (a malformed message)."""
    if isinstance(exc, SlackApiError):
        code, status = slack_error(exc), exc.response.status_code
        if code in CANNOT_POST:
            return PostFailed(code, CANNOT_POST[code], permanent=True)
        if code in PASSING or status == 429 or status >= 500:
            return PostFailed(code or f"HTTP {status}")
        return None
    if isinstance(exc, aiohttp.ClientError | TimeoutError):
        return PostFailed(f"Slack unreachable: {type(exc).__name__} {exc}".strip())
    return None


def slack_error(exc: SlackApiError) -> str:
    """The `error` code of a failed Web API call, e.g. 'not_in_channel'."""
    data = getattr(exc.response, "data", None)
    return str(data.get("error", "")) if isinstance(data, dict) else ""


class ChannelPacer:
    """Spaces posts to one channel: chat.postMessage allows about one message per second each."""

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self._locks: dict[str, asyncio.Lock] = {}
        self._next: dict[str, float] = {}

    async def wait(self, channel: str) -> None:
        """Return when a message may be posted to `channel`."""
        if self.interval <= 0:
            return
        loop = asyncio.get_running_loop()
        async with self._locks.setdefault(channel, asyncio.Lock()):
            delay = self._next.get(channel, 0.0) - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            self._next[channel] = loop.time() + self.interval


async def post_message(
    client: AsyncWebClient, channel: str, message: Message, paper_id: str | None = None
) -> str:
    """Post a message to a channel, tagged with the paper it shows; returns its ts."""
    extra: dict[str, Any] = {}
    if paper_id is not None:
        extra["metadata"] = {"event_type": PAPER_EVENT, "event_payload": {"paper_id": paper_id}}
    response = await client.chat_postMessage(
        channel=channel,
        text=message.text,
        blocks=message.blocks,
        unfurl_links=False,
        unfurl_media=False,
        **extra,
    )
    return str(response["ts"])


async def add_reaction(client: AsyncWebClient, channel: str, ts: str, name: str) -> None:
    """Add a reaction to a message; a failure is logged, since the post itself went out."""
    try:
        await client.reactions_add(channel=channel, timestamp=ts, name=name)
    except SlackApiError as exc:
        if slack_error(exc) != "already_reacted":
            log.warning("could not add :%s: to %s/%s: %s", name, channel, ts, slack_error(exc))


async def find_tagged_message(
    client: AsyncWebClient, channel: str, key: str, bot_user: str | None, since: datetime
) -> str | None:
    """The ts of our message in `channel` tagged `key` (a paper id or a header key) posted
    after `since`: the history is read page by page back to `since`, however busy it was."""
    cursor: str | None = None
    while True:
        try:
            response = await client.conversations_history(
                channel=channel,
                oldest=f"{since.timestamp():.6f}",
                limit=HISTORY_PAGE,
                cursor=cursor,
                include_all_metadata=True,
            )
        except SlackApiError as exc:
            log.warning("could not read %s's history: %s", channel, slack_error(exc))
            return None
        for message in response.get("messages") or []:
            metadata = message.get("metadata") or {}
            payload = metadata.get("event_payload") or {}
            ours = bot_user is None or message.get("user") == bot_user
            if (
                ours
                and metadata.get("event_type") == PAPER_EVENT
                and payload.get("paper_id") == key
            ):
                return str(message["ts"])
        cursor = (response.get("response_metadata") or {}).get("next_cursor")
        if not response.get("has_more") or not cursor:
            return None


def _tagged(message: dict[str, Any], key: str, bot_user: str | None) -> bool:
    """True for a message of ours whose metadata carries `key`."""
    metadata = message.get("metadata") or {}
    payload = metadata.get("event_payload") or {}
    ours = bot_user is None or message.get("user") == bot_user
    return ours and metadata.get("event_type") == PAPER_EVENT and payload.get("paper_id") == key
