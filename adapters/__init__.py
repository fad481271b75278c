"""Platform adapters: Slack, Discord and the terminal. Each renders the core's replies its way."""

from __future__ import annotations

from typing import TYPE_CHECKING

from adapters.terminal import TerminalAdapter, terminal_channel

if TYPE_CHECKING:
    from bot.config import Settings
    from bot.core import PapersBot
    from bot.ports import ChatAdapter


def build_adapters(bot: PapersBot, settings: Settings) -> list[ChatAdapter]:
    """The adapters the settings configure; the terminal alone (subscribed) when none is."""
    found: list[ChatAdapter] = []
    if settings.slack_enabled:
        from adapters.slack import SlackAdapter

        found.append(SlackAdapter(bot, settings))
    if settings.discord_enabled:
        from adapters.discord import DiscordAdapter

        found.append(DiscordAdapter(bot, settings))
    if not found:
        channel = terminal_channel()
        if bot.storage.activity.get_subscription(channel) is None:
            bot.save_subscription(bot.subscription(channel))
        found.append(TerminalAdapter())
    return found
