"""Platform adapters: Slack, Discord and the terminal. Each renders the core's replies its way.

To add a platform: write `adapters/<name>/` (an adapter satisfying `bot.ports.ChatAdapter`, its
settings class, and a `PLATFORM` in its `__init__`; see `adapters/platform.py`), then add its
PLATFORM to PLATFORMS below. `adapters/kit.py` has what every adapter needs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from adapters.discord import PLATFORM as DISCORD
from adapters.platform import Platform
from adapters.slack import PLATFORM as SLACK
from adapters.terminal import TerminalAdapter, terminal_channel

if TYPE_CHECKING:
    from bot.core import PapersBot
    from bot.ports import ChatAdapter

PLATFORMS: tuple[Platform, ...] = (SLACK, DISCORD)


def configured_platforms() -> list[tuple[Platform, Any]]:
    """The platforms whose settings ask them to start, each with its loaded settings."""
    found = []
    for platform in PLATFORMS:
        settings = platform.load()
        if settings.enabled:
            found.append((platform, settings))
    return found


def build_adapters(bot: PapersBot, configured: list[tuple[Platform, Any]]) -> list[ChatAdapter]:
    """An adapter per configured platform; the terminal alone when none is."""
    found = [platform.build(bot, settings) for platform, settings in configured]
    return found or [TerminalAdapter()]


def subscribe_terminal(bot: PapersBot) -> None:
    """Subscribe the terminal's channel (when the terminal runs alone), unless it is already."""
    channel = terminal_channel()
    if bot.subscriptions.get(channel) is None:
        bot.subscriptions.save(bot.subscriptions.effective(channel))
